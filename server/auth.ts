/**
 * Who may talk to this server: the one access check behind the HTTP API, page loads, Next's upgrade socket and
 * socket.io's handshake. A request proves the token (when one is set) one way, `presentedToken`; it must name a
 * loopback Host when no token is set (a DNS-rebinding page names its own); and a command or socket from a browser
 * must come from a page of this same host (Origin).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './errors';
import { TOKEN_HEADER, TOKEN_QUERY } from './protocol/transport';
import { describe } from './validate';

export const TOKEN_COOKIE = 'engram_token';

/** What every kind of request shows the access check. */
export interface AccessRequest {
  /** The raw request target, path and query (`/api/runs?token=…`). */
  url: string;
  method: string;
  headers: IncomingHttpHeaders;
  /** socket.io's handshake `auth` object, when the request is a socket handshake. */
  auth?: unknown;
}

/**
 * - `api`: `/api/…`; reads are open to any origin that holds the token, writes must come from this host's pages.
 * - `page`: a page or asset for the browser; Next's static assets need no token (they carry no data).
 * - `socket`: socket.io's handshake and other upgrades (Next's HMR socket): always same-origin.
 */
export type AccessKind = 'api' | 'page' | 'socket';

export interface AccessGrant {
  /** A page opened with `?token=` gets the token as an HttpOnly cookie, so reloads and in-app links keep working. */
  setCookie: string | null;
}

export interface AccessControl {
  /** Throws `ApiError` (`unauthorized`, `forbidden_host`, `forbidden_origin`) when the request may not proceed. */
  check(request: AccessRequest, kind: AccessKind): AccessGrant;
  readonly token: string | null;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host name of a Host header, without its port: `localhost:3000` → `localhost`, `[::1]:80` → `[::1]`. */
export function hostName(hostHeader: string): string {
  const bracketed = hostHeader.match(/^(\[[^\]]*\])(?::\d*)?$/);
  if (bracketed !== null) return bracketed[1];
  const colon = hostHeader.lastIndexOf(':');
  return (colon === -1 ? hostHeader : hostHeader.slice(0, colon)).toLowerCase();
}

export function createAccessControl(tokenOption: string | undefined): AccessControl {
  const token = tokenOption === undefined || tokenOption === '' ? null : tokenOption;
  return {
    token,
    check(request, kind) {
      const host = request.headers.host;
      checkHost(host, token);
      const presented = presentedToken(request);
      if (token !== null && !tokenMatches(presented.token, token)) {
        if (kind !== 'page' || !isStaticAsset(request.url))
          throw new ApiError('unauthorized', 'missing or wrong token');
      }
      const needsSameOrigin =
        kind === 'socket' || (kind === 'api' && request.method !== 'GET' && request.method !== 'HEAD');
      if (needsSameOrigin && !originAllowed(request.headers.origin, host))
        throw new ApiError('forbidden_origin', `origin ${describe(request.headers.origin)} is not this server's`);
      const setCookie =
        token !== null && kind === 'page' && presented.from === 'query'
          ? `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`
          : null;
      return { setCookie };
    },
  };
}

/**
 * The DNS-rebinding guard, shared by every listener (the main port, the Visdom routes and Visdom's own port).
 * Without a token, loopback is the only protection: a page on attacker.example resolved to 127.0.0.1 still says
 * `Host: attacker.example`. A request without Host (HTTP/1.0) cannot come from a browser. Throws `forbidden_host`.
 */
export function checkHost(host: string | undefined, token: string | null): void {
  if (token === null && host !== undefined && !isLoopback(hostName(host)))
    throw new ApiError(
      'forbidden_host',
      `host ${describe(host)} is not a loopback name; set ENGRAM_TOKEN to serve other host names`,
    );
}

/** The token a request carries, read one way for every kind: socket auth, header, `?token=`, then the cookie. */
export function presentedToken(request: AccessRequest): { token: string | undefined; from: string } {
  const auth = request.auth;
  if (typeof auth === 'object' && auth !== null && 'token' in auth && typeof auth.token === 'string')
    return { token: auth.token, from: 'auth' };
  const header = request.headers[TOKEN_HEADER];
  if (typeof header === 'string') return { token: header, from: 'header' };
  const query = new URL(request.url, 'http://localhost').searchParams.get(TOKEN_QUERY);
  if (query !== null) return { token: query, from: 'query' };
  return { token: cookieToken(request.headers.cookie), from: 'cookie' };
}

/**
 * Next's build assets, served without the token. Decided on the path as resolved (`/_next/../runs/x` is
 * `/runs/x`, a page), and nothing with a dot-dot segment in any spelling counts.
 */
function isStaticAsset(url: string): boolean {
  const raw = url.split('?')[0];
  if (/(^|\/)(\.|%2e){2}(\/|%2f|$)/i.test(raw)) return false;
  return new URL(raw, 'http://localhost').pathname.startsWith('/_next/');
}

function cookieToken(cookie: string | undefined): string | undefined {
  if (cookie === undefined) return undefined;
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === TOKEN_COOKIE) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Scripts send no Origin; a browser's must be a page served by this same host. */
function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
