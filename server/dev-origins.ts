/**
 * Next's dev server refuses its dev resources (HMR socket, chunks) to pages from hosts it does not know, so a
 * dashboard opened at any other name than the one Next was started with stays "connecting…". These are the host
 * patterns (Next's `allowedDevOrigins`) for every host this server itself accepts: loopback names without a token;
 * with a token any name (the token, checked first by `auth.ts`, is the protection).
 */
import { hostname, networkInterfaces } from 'node:os';

/** Environment variable through which the server hands the list to `next.config.js` before Next loads it. */
export const DEV_ORIGINS_ENV = 'ENGRAM_ALLOWED_DEV_ORIGINS';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function allowedDevOrigins(tokenSet: boolean): string[] {
  if (!tokenSet) return LOOPBACK_NAMES;
  const addresses = Object.values(networkInterfaces())
    .flat()
    .flatMap((net) => (net === undefined ? [] : [net.family === 'IPv6' ? `[${net.address}]` : net.address]));
  // Next's patterns: `**.*` is every name of two labels or more (IPv4 addresses included); one-label names (this
  // machine's name) and IPv6 addresses must be listed as they are.
  return [...new Set([...LOOPBACK_NAMES, '**.*', hostname().toLowerCase(), ...addresses])];
}
