/**
 * The Engram server factory: one http.Server carrying the HTTP API, socket.io and (unless `next: false`) Next's
 * request handler, over a run manager and its SQLite storage. Tests start the real thing with `next: false` on
 * port 0; `server/main.ts` wraps it for `npm run dev` / `npm start`.
 */
import http from 'node:http';
import { rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Server } from 'socket.io';
import { ApiError } from './errors';
import { createApiHandler, sendError, sendJson, type ApiHandler } from './http-api';
import { MAX_PAYLOAD_BYTES, socketParser, TOKEN_HEADER, TOKEN_QUERY } from './protocol';
import { RunManager, type RunListener } from './run-manager';
import { attachSocketApi, type EngramIo } from './socket-api';
import { Storage, type FrameBudget } from './storage';
import { externalRunsOf } from './visdom/manager-runs';
import { startVisdomService, VISDOM_PREFIX } from './visdom/service';

export interface EngramServerOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  /** Required when `host` is not a loopback address; then every request and socket must carry it. */
  token?: string;
  /** `false`: serve only the API and socket.io (tests, benchmarks). Default: Next's handler as well. */
  next?: false;
  /** Next in development mode (default: NODE_ENV !== 'production'). */
  dev?: boolean;
  /** Wipe the data dir first. */
  fresh?: boolean;
  /** Accept `_`-prefixed test/benchmark hooks in run configs. */
  testHooks?: boolean;
  /** How often running workers checkpoint (they also do at pause, stop and finish). Default 3 minutes. */
  checkpointIntervalMs?: number;
  frameBudget?: Partial<FrameBudget>;
  workerMaxOldGenerationMb?: number;
  /** Metric batching interval. Default 100 ms. */
  flushIntervalMs?: number;
  /** An external run's client silent this long becomes disconnected and its run interrupted. Default 15 s. */
  clientTimeoutMs?: number;
  /** Also serve the Visdom protocol at the root of this port (`npm run dev`: 8097). Default: only under `/visdom`. */
  visdomPort?: number | null;
}

export interface EngramServer {
  /** Where to open the dashboard / reach the API, e.g. `http://127.0.0.1:3000`. */
  url: string;
  port: number;
  /** The port serving the Visdom protocol at its root, or null (off, or taken by another process). */
  visdomPort: number | null;
  close(): Promise<void>;
}

export const DEFAULT_FRAME_BUDGET: FrameBudget = { maxFrames: 200, maxBytes: 256 * 1024 * 1024 };

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function createEngramServer(options: EngramServerOptions = {}): Promise<EngramServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token === undefined || options.token === '' ? null : options.token;
  if (!isLoopback(host) && token === null) {
    throw new Error(`refusing to listen on ${host} without a token: set ENGRAM_TOKEN (or listen on 127.0.0.1)`);
  }
  const dataDir = resolve(options.dataDir ?? 'data');
  if (options.fresh === true) wipe(dataDir);

  const storage = new Storage(dataDir, { ...DEFAULT_FRAME_BUDGET, ...options.frameBudget });
  let nextHandler: ((req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>) | null = null;
  let nextUpgrade: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>) | null = null;
  let closeNext: (() => Promise<void>) | null = null;

  const server = http.createServer();
  const io: EngramIo = new Server(server, {
    maxHttpBufferSize: MAX_PAYLOAD_BYTES,
    // Other upgrades (Next's HMR socket) must not be torn down by engine.io.
    destroyUpgrade: false,
    serveClient: false,
    parser: socketParser,
  });

  // The manager is created after socket.io so its listener exists; handlers only run after both exist.
  let manager: RunManager | null = null;
  const getManager = (): RunManager => {
    if (manager === null) throw new ApiError('internal', 'server is starting');
    return manager;
  };
  const listener: RunListener = attachSocketApi(io, getManager);
  const managerOptions = {
    checkpointIntervalMs: options.checkpointIntervalMs ?? 180_000,
    flushIntervalMs: options.flushIntervalMs ?? 100,
    workerMaxOldGenerationMb: options.workerMaxOldGenerationMb ?? 4096,
    testHooks: options.testHooks === true,
    clientTimeoutMs: options.clientTimeoutMs ?? 15_000,
  };
  manager = new RunManager(storage, listener, managerOptions);
  // Replaced (with the manager) only by the test hook that simulates a restart.
  let api: ApiHandler = createApiHandler(manager);
  let dashboardUrl = '';
  const visdom = await startVisdomService({
    io,
    runs: externalRunsOf(getManager),
    dataDir,
    token,
    host,
    port: options.visdomPort ?? null,
    dashboardUrl: () => dashboardUrl,
  });

  io.use((socket, next) => {
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    const given =
      typeof auth?.token === 'string'
        ? auth.token
        : (firstQuery(socket.handshake.query[TOKEN_QUERY]) ?? cookieToken(socket.handshake.headers.cookie));
    if (token !== null && !tokenMatches(given, token)) {
      next(new Error('unauthorized: missing or wrong token'));
      return;
    }
    if (!originAllowed(socket.handshake.headers.origin, socket.handshake.headers.host)) {
      next(new Error('forbidden_origin: cross-origin connection refused'));
      return;
    }
    next();
  });

  // The TCP connections socket.io's requests and upgrades came over, so a test hook can cut them like a restart would.
  const ioConnections = new Set<Duplex>();
  const trackIoConnection = (socket: Duplex) => {
    if (!options.testHooks || ioConnections.has(socket)) return;
    ioConnections.add(socket);
    socket.once('close', () => ioConnections.delete(socket));
  };

  /**
   * Test-only routes under /api/_test/ (ENGRAM_TEST_HOOKS=1; otherwise they are unknown routes): `drop-connections`
   * disconnects every socket server-side, `sever-connections` destroys their TCP connections (what a restart looks
   * like to a browser), `restart` also does what a restart does to runs: checkpoint and stop every worker, running
   * runs come back interrupted, under a new run manager over the same storage.
   */
  const testHook = async (method: string, name: string): Promise<{ sockets: number }> => {
    if (method !== 'POST') throw new ApiError('not_found', `no route ${method} ${TEST_HOOK_PREFIX}${name}`);
    const sockets = io.of('/').sockets.size;
    if (name === 'drop-connections') {
      io.disconnectSockets(true);
    } else if (name === 'sever-connections' || name === 'restart') {
      if (name === 'restart') {
        const old = getManager();
        manager = null;
        await old.close();
        const restarted = new RunManager(storage, listener, managerOptions);
        manager = restarted;
        api = createApiHandler(restarted);
      }
      for (const socket of ioConnections) socket.destroy();
    } else {
      throw new ApiError('not_found', `no route ${method} ${TEST_HOOK_PREFIX}${name}`);
    }
    return { sockets };
  };

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '/';
    // socket.io's own requests are handled by its listener on this server.
    if (url.startsWith('/socket.io/')) {
      trackIoConnection(req.socket);
      return;
    }
    // The Visdom client's routes: raw JSON in, plain text out, its own token and Origin checks.
    if (url === VISDOM_PREFIX || url.startsWith(`${VISDOM_PREFIX}/`) || url.startsWith(`${VISDOM_PREFIX}?`)) {
      visdom.handler.request(req, res, url.slice(VISDOM_PREFIX.length) || '/');
      return;
    }
    try {
      if (url.startsWith('/api/') || url === '/api') {
        if (token !== null) {
          const query = new URL(url, 'http://localhost').searchParams.get(TOKEN_QUERY) ?? undefined;
          const header = req.headers[TOKEN_HEADER];
          const given = typeof header === 'string' ? header : (query ?? cookieToken(req.headers.cookie));
          if (!tokenMatches(given, token)) throw new ApiError('unauthorized', `missing or wrong ${TOKEN_HEADER}`);
        }
        if (req.method !== 'GET' && req.method !== 'HEAD' && !originAllowed(req.headers.origin, req.headers.host)) {
          throw new ApiError(
            'forbidden_origin',
            `origin ${req.headers.origin ?? ''} may not send commands to this server`,
          );
        }
        if (options.testHooks === true && url.startsWith(TEST_HOOK_PREFIX)) {
          testHook(req.method ?? 'GET', url.split('?')[0].slice(TEST_HOOK_PREFIX.length)).then(
            (data) => sendJson(res, 200, { ok: true, data }),
            (error: unknown) => sendError(res, error, `test hook ${url}`),
          );
          return;
        }
        api(req, res);
        return;
      }
      if (token !== null) {
        const page = pageToken(req, token);
        if (page === 'refused') throw new ApiError('unauthorized', 'missing or wrong token');
        // A page opened with ?token= remembers it, so links inside the app and reloads keep working.
        if (page === 'query')
          res.setHeader(
            'set-cookie',
            `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
          );
      }
      if (nextHandler === null) throw new ApiError('not_found', `no route ${req.method ?? 'GET'} ${url.split('?')[0]}`);
      nextHandler(req, res).catch((error: unknown) => sendError(res, error, 'next'));
    } catch (error) {
      sendError(res, error, 'request');
    }
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '').startsWith('/socket.io/')) {
      trackIoConnection(socket);
      return;
    }
    if ((req.url ?? '').startsWith(`${VISDOM_PREFIX}/`)) {
      visdom.handler.upgrade(req, socket, head, (req.url ?? '').slice(VISDOM_PREFIX.length));
      return;
    }
    if (nextUpgrade === null) {
      socket.destroy();
      return;
    }
    // Upgraded sockets (Next's HMR) leave the server's connection tracking; keep them so close() can end them.
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    nextUpgrade(req, socket, head).catch(() => socket.destroy());
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  if (options.next !== false) {
    const { default: next } = await import('next');
    const app = next({
      dev: options.dev ?? process.env.NODE_ENV !== 'production',
      dir: process.cwd(),
      hostname: host,
      port: options.port ?? 3000,
    });
    await app.prepare();
    nextHandler = app.getRequestHandler();
    nextUpgrade = app.getUpgradeHandler();
    closeNext = () => app.close();
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 3000, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 3000);
  const shownHost =
    host === '0.0.0.0' || host === '::'
      ? '127.0.0.1'
      : host.includes(':') && !host.startsWith('[')
        ? `[${host}]`
        : host;

  dashboardUrl = `http://${shownHost}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    url: dashboardUrl,
    port,
    visdomPort: visdom.port,
    close() {
      closing ??= (async () => {
        // Visdom first: it hands its last pending frames to the run manager.
        await visdom.close();
        await getManager().close();
        await new Promise<void>((done) => {
          io.close(() => done());
          server.closeAllConnections();
          for (const socket of upgraded) socket.destroy();
        });
        // Next's dev server can take long to release its watchers; the data is safe by now, so do not wait forever.
        if (closeNext !== null) await Promise.race([closeNext().catch(() => undefined), delay(NEXT_CLOSE_TIMEOUT_MS)]);
        storage.close();
      })();
      return closing;
    },
  };
}

const TOKEN_COOKIE = 'engram_token';
const TEST_HOOK_PREFIX = '/api/_test/';
/** How long close() waits for Next to shut down before going on without it. */
const NEXT_CLOSE_TIMEOUT_MS = 5000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** How a page request (not the API) proves the token: `?token=`, the header, the cookie set earlier, or not at all.
 *  Next's static assets (`/_next/`) carry no secrets and are served without it. */
function pageToken(req: http.IncomingMessage, token: string): 'query' | 'other' | 'refused' {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get(TOKEN_QUERY) ?? undefined;
  if (tokenMatches(query, token)) return 'query';
  const header = req.headers[TOKEN_HEADER];
  if (tokenMatches(typeof header === 'string' ? header : undefined, token)) return 'other';
  if (tokenMatches(cookieToken(req.headers.cookie), token)) return 'other';
  return (req.url ?? '').startsWith('/_next/') ? 'other' : 'refused';
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

function firstQuery(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Commands may come from scripts (no Origin) or from a page served by this same host. */
function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function wipe(dataDir: string): void {
  const forbidden = [resolve('/'), resolve(process.cwd()), resolve(homedir())];
  if (forbidden.includes(dataDir)) throw new Error(`--fresh refuses to wipe ${dataDir}`);
  rmSync(dataDir, { recursive: true, force: true });
}
