/**
 * Next's request and upgrade handlers for the pages, loaded only when the server serves the dashboard (not in API-only
 * tests and benchmarks).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { DEV_ORIGINS_ENV } from './dev-origins';

export interface NextApp {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** Next's dev server can take long to release its watchers: resolves after `timeoutMs` at the latest. */
  close(timeoutMs: number): Promise<void>;
}

export async function loadNextApp(options: {
  dev: boolean;
  host: string;
  port: number;
  /** Host patterns whose pages may use Next's dev resources (see `dev-origins.ts`). */
  allowedDevOrigins: readonly string[];
}): Promise<NextApp> {
  // next.config.js is loaded by Next itself; this is how the server's list reaches it.
  process.env[DEV_ORIGINS_ENV] = options.allowedDevOrigins.join(',');
  const { default: next } = await import('next');
  const app = next({ dev: options.dev, dir: process.cwd(), hostname: options.host, port: options.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const upgrade = app.getUpgradeHandler();
  return {
    handle: (req, res) => handle(req, res),
    upgrade: (req, socket, head) => upgrade(req, socket, head),
    close: (timeoutMs) =>
      Promise.race([
        app.close().catch(() => undefined),
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]),
  };
}
