/**
 * The Visdom client's HTTP routes and its `/vis_socket`, over a `VisdomState`. Mounted under a path prefix of the
 * main server (`/visdom`) and at the root of Visdom's own port (8097), so `Visdom()` and
 * `Visdom(port=3000, base_url='/visdom')` both reach Engram unchanged.
 *
 * Bodies are raw JSON whatever the Content-Type (the client sends `data=json.dumps(msg)`); answers are plain text:
 * the window id, `true`/`false`, or JSON text, exactly what the client reads. A bad body is answered 4xx with a
 * message and changes nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkHost } from '../auth';
import { ApiError } from '../errors';
import { asBody, eidOf, VisdomRequestError } from './body';
import { DenseJsonError, parseDenseJson } from './dense-json';
import { MAX_HEATMAP_CELLS } from './body';
import type { VisdomState } from './state';

/** Largest accepted body: a 2048 × 2048 heatmap of short numbers; Python's full-precision floats take ~20 bytes. */
export const VISDOM_MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface VisdomHandlerOptions {
  state: VisdomState;
  /** When set, every request must prove it (see `authorized`). */
  token: string | null;
  /** Where a browser that opens the Visdom address (`GET /`, `GET /env/<eid>`) is sent; null: a short text page. */
  pageFor?: (eid: string | null) => string | null;
}

export interface VisdomHandler {
  /** Handle a request whose path, below the mount point, is `path` (starting with `/`). */
  request(req: IncomingMessage, res: ServerResponse, path: string): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void;
  close(): void;
}

/** The Visdom cookie the client's login sets and then sends with every request and its socket. */
const LOGIN_COOKIE = 'user_password';
/** A token in the path: `base_url='/visdom/token/<TOKEN>'`. */
const PATH_TOKEN = /^\/token\/([^/]+)(\/.*)?$/;

export function createVisdomHandler(options: VisdomHandlerOptions): VisdomHandler {
  const { state, token } = options;
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  sockets.on('connection', (socket: WebSocket) => {
    socket.on('error', () => socket.terminate());
    // The client waits (up to ~6 s, then logs a warning) for this before it goes on.
    socket.send(JSON.stringify({ command: 'alive', data: 'vis_alive' }));
  });

  const login = token === null ? null : sha256(sha256(token));

  /** Header `x-engram-token`, the login cookie, or `/token/<T>` in the path. */
  function authorized(req: IncomingMessage, pathToken: string | null): boolean {
    if (token === null) return true;
    const header = req.headers['x-engram-token'];
    if (typeof header === 'string' && same(header, token)) return true;
    if (pathToken !== null && same(pathToken, token)) return true;
    const cookie = cookieValue(req.headers.cookie, LOGIN_COOKIE);
    return cookie !== undefined && login !== null && same(cookie, login);
  }

  function split(path: string): { route: string; pathToken: string | null } {
    const match = PATH_TOKEN.exec(path);
    if (match === null) return { route: path, pathToken: null };
    let given: string;
    try {
      given = decodeURIComponent(match[1]);
    } catch {
      given = '';
    }
    return { route: match[2] ?? '/', pathToken: given };
  }

  return {
    request(req, res, path) {
      const { route, pathToken } = split(path.split('?')[0]);
      const method = req.method ?? 'GET';
      const badHost = hostRefusal(req, token);
      if (badHost !== null) {
        reply(res, 403, `forbidden: ${badHost}`);
        req.resume();
        return;
      }
      if (!originAllowed(req)) {
        reply(res, 403, 'forbidden: cross-origin requests may not write to Engram');
        req.resume();
        return;
      }
      if (method === 'POST' && (route === '/' || route === '') && token !== null) {
        readBody(req).then(
          (body) => {
            loginAnswer(res, body.bytes, token, login ?? '');
            body.release();
          },
          (error: unknown) => fail(res, error),
        );
        return;
      }
      if (!authorized(req, pathToken)) {
        reply(res, 401, 'unauthorized: send the Engram token (see docs/visdom.md)');
        req.resume();
        return;
      }
      if (method === 'GET') {
        const envMatch = /^\/env\/([^/]+)$/.exec(route);
        if (route === '/' || route === '' || envMatch !== null) {
          const eid = envMatch === null ? null : safeDecode(envMatch[1]);
          const target = options.pageFor?.(eid) ?? null;
          if (target !== null) {
            res.writeHead(302, { location: target });
            res.end();
          } else {
            reply(res, 200, 'Engram serves the Visdom protocol here; open the Engram dashboard to see the envs.');
          }
          return;
        }
        reply(res, 404, `no Visdom route GET ${route}`);
        return;
      }
      if (method !== 'POST') {
        reply(res, 405, `no Visdom route ${method} ${route}`);
        req.resume();
        return;
      }
      readBody(req).then(
        (body) => {
          try {
            reply(res, 200, dispatch(state, route, body.bytes));
          } catch (error) {
            fail(res, error);
          } finally {
            body.release();
          }
        },
        (error: unknown) => fail(res, error),
      );
    },
    upgrade(req, socket, head, path) {
      const { route, pathToken } = split(path.split('?')[0]);
      const badHost = hostRefusal(req, token);
      if (badHost !== null) {
        socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nforbidden: ${badHost}`);
        return;
      }
      if (route !== '/vis_socket' || !originAllowed(req) || !authorized(req, pathToken)) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req));
    },
    close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
    },
  };
}

/** Answer one POST route (below the mount point) with its body; throws VisdomRequestError for a bad one. */
export function dispatch(state: VisdomState, route: string, bytes: Buffer): string {
  const envMatch = /^\/env\/([^/]+)$/.exec(route);
  const known = envMatch !== null || ROUTES.has(route);
  if (!known) throw new VisdomRequestError(`no Visdom route POST ${route}`, 404);
  let parsed: unknown;
  try {
    parsed = bytes.length === 0 ? {} : parseDenseJson(bytes, { maxValues: MAX_HEATMAP_CELLS });
  } catch (error) {
    if (error instanceof DenseJsonError)
      throw new VisdomRequestError(error.message, /more than/.test(error.message) ? 413 : 400);
    throw error;
  }
  const body = asBody(parsed);
  if (envMatch !== null) {
    // The constructor's connection check: `POST /env/<eid>` with `{eid}` (a browser sends `{sid}` instead).
    state.ensureEnv(body.eid === undefined ? safeDecode(envMatch[1]).replace(/\//g, '_') : eidOf(body));
    return '';
  }
  switch (route) {
    case '/events':
      return state.events(body);
    case '/update':
      return state.update(body);
    case '/close':
      return state.close(body);
    case '/win_exists':
      return state.winExists(body);
    case '/win_data':
      return state.winData(body);
    case '/env_state':
      return JSON.stringify(state.envIds());
    case '/save':
      return state.save(body);
    case '/delete_env':
      return state.deleteEnv(body);
    case '/fork_env':
      return state.forkEnv(body);
    default:
      throw new VisdomRequestError(`no Visdom route POST ${route}`, 404);
  }
}

const ROUTES = new Set([
  '/events',
  '/update',
  '/close',
  '/win_exists',
  '/win_data',
  '/env_state',
  '/save',
  '/delete_env',
  '/fork_env',
]);

/** Visdom's login: `{username, password: sha256hex(password)}`; here the password is the Engram token. */
function loginAnswer(res: ServerResponse, bytes: Buffer, token: string, login: string): void {
  let password: unknown;
  try {
    password = (JSON.parse(bytes.toString('utf8')) as { password?: unknown }).password;
  } catch {
    reply(res, 400, 'the login body must be JSON {username, password}');
    return;
  }
  if (typeof password !== 'string' || !same(password, sha256(token))) {
    reply(res, 400, 'login failed: the password must be the Engram token');
    return;
  }
  res.setHeader('set-cookie', `${LOGIN_COOKIE}=${login}; HttpOnly; SameSite=Strict; Path=/`);
  reply(res, 200, '');
}

function fail(res: ServerResponse, error: unknown): void {
  if (error instanceof VisdomRequestError) {
    if (error.status === 413) res.setHeader('connection', 'close');
    reply(res, error.status, `error: ${error.message}`);
    return;
  }
  console.error('[engram] visdom: internal error:', error);
  reply(res, 500, 'error: internal server error');
}

function reply(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Body buffers kept for reuse: a 1.3 MB heatmap body per call would otherwise be a fresh allocation each time. */
const freeBodies: Buffer[] = [];
const KEPT_BODIES = 4;
const KEPT_BODY_BYTES = 16 * 1024 * 1024;

interface ReceivedBody {
  bytes: Buffer;
  /** Hand the buffer back once nothing reads it any more (the answer is computed synchronously from it). */
  release(): void;
}

function takeBuffer(size: number): Buffer {
  const index = freeBodies.findIndex((b) => b.length >= size);
  if (index >= 0) return freeBodies.splice(index, 1)[0];
  return Buffer.allocUnsafe(Math.max(size, 1 << 21));
}

function giveBack(buffer: Buffer): void {
  if (buffer.length > KEPT_BODY_BYTES) return;
  freeBodies.push(buffer);
  if (freeBodies.length > KEPT_BODIES) freeBodies.sort((a, b) => b.length - a.length).pop();
}

function readBody(req: IncomingMessage): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > VISDOM_MAX_BODY_BYTES) {
      req.resume();
      reject(new VisdomRequestError(`body of ${declared} bytes exceeds ${VISDOM_MAX_BODY_BYTES}`, 413));
      return;
    }
    // With a Content-Length (the Python client always sends one) the body goes straight into a reused buffer.
    let pooled: Buffer | null = Number.isInteger(declared) && declared > 0 ? takeBuffer(declared) : null;
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      chunks.length = 0;
      if (pooled !== null) giveBack(pooled);
      pooled = null;
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      if (size + chunk.length > VISDOM_MAX_BODY_BYTES) {
        fail(new VisdomRequestError(`body exceeds ${VISDOM_MAX_BODY_BYTES} bytes`, 413));
        return;
      }
      if (pooled !== null && chunks.length === 0 && size + chunk.length <= pooled.length) chunk.copy(pooled, size);
      else chunks.push(chunk);
      size += chunk.length;
    });
    req.on('error', fail);
    req.on('end', () => {
      if (failed) return;
      if (pooled !== null && chunks.length === 0) {
        const buffer = pooled;
        resolve({ bytes: buffer.subarray(0, size), release: () => giveBack(buffer) });
        return;
      }
      // No length given, or more arrived than it said: assemble the pieces.
      const parts =
        pooled === null ? chunks : [pooled.subarray(0, size - chunks.reduce((a, c) => a + c.length, 0)), ...chunks];
      const bytes = Buffer.concat(parts, size);
      if (pooled !== null) giveBack(pooled);
      resolve({ bytes, release: () => undefined });
    });
  });
}

/**
 * The main server's DNS-rebinding guard (`checkHost`): without a token only loopback Host names are served, so a
 * page on attacker.example that resolves to 127.0.0.1 can neither post into an env nor open `/vis_socket`. Its
 * Origin would name its own host, which the Origin check alone accepts. Returns why, or null when allowed.
 */
function hostRefusal(req: IncomingMessage, token: string | null): string | null {
  try {
    checkHost(req.headers.host, token);
    return null;
  } catch (error) {
    if (error instanceof ApiError) return error.message;
    throw error;
  }
}

/** Scripts send no Origin; a browser page may write only from this same host (Visdom accepted any page's POST). */
function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function cookieValue(cookie: string | undefined, name: string): string | undefined {
  for (const part of (cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function same(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
