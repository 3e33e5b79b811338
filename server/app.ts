/**
 * The Engram server factory: one http.Server carrying the HTTP API, socket.io and (unless `next: false`) Next's
 * request handler, over a run manager and its SQLite storage. Tests start the real thing with `next: false` on
 * port 0; `server/main.ts` wraps it for `npm run dev` / `npm start`.
 */
import http from 'node:http';
import { rmSync } from 'node:fs';
import { availableParallelism, homedir, totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { Server } from 'socket.io';
import { defaultMaxTraining, defaultMemoryBudgetBytes } from './admission';
import { createAccessControl, isLoopback, type AccessRequest } from './auth';
import { ConnectionTracker } from './connections';
import { allowedDevOrigins } from './dev-origins';
import { ApiError, StartupError } from './errors';
import { createApiHandler, sendError, sendJson, type ApiHandler } from './http-api';
import { loadNextApp, type NextApp } from './next-app';
import { PROTOCOL_VERSION } from './protocol';
import { MAX_PAYLOAD_BYTES, socketParser } from './protocol/transport';
import type { EngineTraining } from './engine-source';
import { RunManager, type RunListener, type RunManagerOptions } from './run-manager';
import { attachSocketApi, type EngramIo } from './socket-api';
import { contentSecurityPolicy, setSecurityHeaders } from './security-headers';
import { Storage } from './storage';
import type { FrameBudget } from './storage-frames';
import { externalRunsOf } from './visdom/manager-runs';
import { startVisdomService, VISDOM_PREFIX } from './visdom/service';
import { shortText } from './validate';

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
  /** How engine runs resolve their configs and start their workers (default: the engine's own). */
  training?: EngineTraining;
  /** More routes, under their own `/api/…` prefix, over the server's insides (the test server's test routes). */
  extraRoutes?: (context: ExtraRouteContext) => ExtraRoutes;
  /** A command a run's worker has not answered in this long is answered `timeout`. Default 5 s. */
  commandTimeoutMs?: number;
  /** Stop terminates a run's worker that has not stopped in this long. Default 3 s. */
  stopGraceMs?: number;
  /** How often running workers checkpoint (they also do at pause, stop and finish). Default 3 minutes. */
  checkpointIntervalMs?: number;
  frameBudget?: Partial<FrameBudget>;
  /** The global storage budget over every run; past it stored frames are thinned, oldest run first. */
  storageBudgetBytes?: number;
  workerMaxOldGenerationMb?: number;
  /** Metric batching interval. Default 100 ms. */
  flushIntervalMs?: number;
  /** An external run's client silent this long becomes disconnected and its run interrupted. Default 15 s. */
  clientTimeoutMs?: number;
  /** Also serve the Visdom protocol at the root of this port (`npm run dev`: 8097). Default: only under `/visdom`. */
  visdomPort?: number | null;
  /** Environment variables set for training workers on top of the server's own (tests pick the cpu backend). */
  workerEnv?: Readonly<Record<string, string>>;
  /** Memory budget of the engine runs holding a worker (estimates, admission.ts). Default: half the machine's. */
  memoryBudgetMb?: number;
  /** Engine runs training at once; more wait `queued`. Default: one per core but one (at least 1). */
  maxTraining?: number;
}

/** What extra routes may reach: socket.io, its transports' TCP connections, and a fresh run manager. */
export interface ExtraRouteContext {
  io: EngramIo;
  /** socket.io's transports. */
  connections: ConnectionTracker;
  /** Close the run manager (checkpointing and stopping every worker, as a shutdown does) and open a new one over
   *  the same storage, as a restart does. */
  restartManager(): Promise<void>;
}

/** Routes under `prefix` (which starts with `/api/`): `handle` answers with the data of an ok reply, or throws. */
export interface ExtraRoutes {
  prefix: string;
  handle(method: string, url: string): Promise<unknown>;
}

export interface EngramServer {
  /** Where to open the dashboard / reach the API, e.g. `http://127.0.0.1:3000`. */
  url: string;
  port: number;
  /** The port serving the Visdom protocol at its root, or null (off, or taken by another process). */
  visdomPort: number | null;
  /** The admission limits in effect: engine runs training at once, and their memory budget in MB. */
  admission: { maxTraining: number; memoryBudgetMb: number };
  close(): Promise<void>;
}

export const DEFAULT_FRAME_BUDGET: FrameBudget = {
  maxFrames: 200,
  maxBytes: 256 * 1024 * 1024,
  maxFrameBytes: 32 * 1024 * 1024,
};

/** Default global storage budget: room for a few long runs' metrics, checkpoints and their frame budgets. */
export const DEFAULT_STORAGE_BUDGET_BYTES = 2048 * 1024 * 1024;

export { isLoopback };

/** How long close() waits for Next to shut down before going on without it. */
const NEXT_CLOSE_TIMEOUT_MS = 5000;

export async function createEngramServer(options: EngramServerOptions = {}): Promise<EngramServer> {
  const host = options.host ?? '127.0.0.1';
  const access = createAccessControl(options.token);
  if (!isLoopback(host) && access.token === null) {
    throw new StartupError(`refusing to listen on ${host} without a token: set ENGRAM_TOKEN (or listen on 127.0.0.1)`);
  }
  const dataDir = resolve(options.dataDir ?? 'data');
  if (options.fresh === true) wipe(dataDir);

  const storage = new Storage(
    dataDir,
    { ...DEFAULT_FRAME_BUDGET, ...options.frameBudget },
    options.storageBudgetBytes ?? DEFAULT_STORAGE_BUDGET_BYTES,
  );
  const server = http.createServer();
  const io: EngramIo = new Server(server, {
    maxHttpBufferSize: MAX_PAYLOAD_BYTES,
    // Other upgrades (Next's HMR socket) must not be torn down by engine.io.
    destroyUpgrade: false,
    serveClient: false,
    parser: socketParser,
  });
  io.use((socket, next) => {
    const { url, headers, auth } = socket.handshake;
    try {
      access.check({ url, method: 'GET', headers, auth }, 'socket');
      checkProtocolVersion(auth);
      next();
    } catch (error) {
      next(error instanceof ApiError ? new Error(`${error.code}: ${error.message}`) : new Error('internal'));
    }
  });

  // The manager is created after socket.io so its listener exists; handlers only run after both exist.
  let manager: RunManager | null = null;
  const getManager = (): RunManager => {
    if (manager === null) throw new ApiError('internal', 'server is starting');
    return manager;
  };
  const listener: RunListener = attachSocketApi(io, getManager);
  const managerOptions: RunManagerOptions = {
    checkpointIntervalMs: options.checkpointIntervalMs ?? 180_000,
    flushIntervalMs: options.flushIntervalMs ?? 100,
    workerMaxOldGenerationMb: options.workerMaxOldGenerationMb ?? 4096,
    clientTimeoutMs: options.clientTimeoutMs ?? 15_000,
    workerEnv: options.workerEnv ?? {},
    memoryBudgetBytes:
      options.memoryBudgetMb === undefined
        ? defaultMemoryBudgetBytes(totalmem())
        : options.memoryBudgetMb * 1024 * 1024,
    maxTraining: options.maxTraining ?? defaultMaxTraining(availableParallelism()),
    commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    stopGraceMs: options.stopGraceMs ?? 3000,
    ...(options.training === undefined ? {} : { training: options.training }),
  };
  manager = new RunManager(storage, listener, managerOptions);
  // Replaced (with the manager) only by restartManager, for extra routes that simulate a restart.
  let api: ApiHandler = createApiHandler(manager);
  let dashboardUrl = '';
  const visdom = await startVisdomService({
    io,
    runs: externalRunsOf(getManager),
    dataDir,
    token: access.token,
    host,
    port: options.visdomPort ?? null,
    dashboardUrl: () => dashboardUrl,
  });

  const ioConnections = new ConnectionTracker();
  const upgraded = new ConnectionTracker();
  const extraRoutes =
    options.extraRoutes?.({
      io,
      connections: ioConnections,
      async restartManager() {
        const old = getManager();
        manager = null;
        await old.close();
        manager = new RunManager(storage, listener, managerOptions);
        api = createApiHandler(manager);
      },
    }) ?? null;

  const dev = options.dev ?? process.env.NODE_ENV !== 'production';
  const nextApp: NextApp | null =
    options.next === false
      ? null
      : await loadNextApp({
          dev,
          host,
          port: options.port ?? 3000,
          allowedDevOrigins: allowedDevOrigins(access.token !== null),
        });

  const csp = contentSecurityPolicy(nextApp !== null && dev);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '/';
    // socket.io's own requests are handled (and answered) by its listener on this server; its handshake checks access.
    if (url.startsWith('/socket.io/')) {
      if (extraRoutes !== null) ioConnections.track(req.socket);
      return;
    }
    setSecurityHeaders(res, csp);
    // The Visdom client's routes: raw JSON in, plain text out, its own token and Origin checks.
    if (url === VISDOM_PREFIX || url.startsWith(`${VISDOM_PREFIX}/`) || url.startsWith(`${VISDOM_PREFIX}?`)) {
      visdom.handler.request(req, res, url.slice(VISDOM_PREFIX.length) || '/');
      return;
    }
    try {
      const request = accessRequest(req);
      if (url.startsWith('/api/') || url === '/api') {
        access.check(request, 'api');
        if (extraRoutes !== null && url.startsWith(extraRoutes.prefix)) {
          extraRoutes.handle(request.method, url).then(
            (data) => sendJson(res, 200, { ok: true, data }),
            (error: unknown) => sendError(res, error, url.split('?')[0]),
          );
          return;
        }
        api(req, res);
        return;
      }
      const grant = access.check(request, 'page');
      if (grant.setCookie !== null) res.setHeader('set-cookie', grant.setCookie);
      if (nextApp === null)
        throw new ApiError('not_found', `no route ${shortText(request.method)} ${shortText(url.split('?')[0], 120)}`);
      nextApp.handle(req, res).catch((error: unknown) => sendError(res, error, 'next'));
    } catch (error) {
      sendError(res, error, 'request');
    }
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '').startsWith('/socket.io/')) {
      if (extraRoutes !== null) ioConnections.track(socket);
      return;
    }
    if ((req.url ?? '').startsWith(`${VISDOM_PREFIX}/`)) {
      visdom.handler.upgrade(req, socket, head, (req.url ?? '').slice(VISDOM_PREFIX.length));
      return;
    }
    try {
      if (nextApp === null) throw new ApiError('not_found', 'no upgrade here');
      access.check(accessRequest(req), 'socket');
    } catch {
      socket.destroy();
      return;
    }
    upgraded.track(socket);
    nextApp.upgrade(req, socket, head).catch(() => socket.destroy());
  });
  // A request the HTTP parser cannot read gets Node's plain 400 and the connection closes.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    const onError = (error: NodeJS.ErrnoException) =>
      rejectListen(
        error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL'
          ? new StartupError(`cannot listen on ${host}:${options.port ?? 3000}: ${error.code}`)
          : error,
      );
    server.once('error', onError);
    server.listen(options.port ?? 3000, host, () => {
      server.off('error', onError);
      resolveListen();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 3000);

  dashboardUrl = `http://${shownHost(host)}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    url: dashboardUrl,
    port,
    visdomPort: visdom.port,
    admission: {
      maxTraining: managerOptions.maxTraining,
      memoryBudgetMb: Math.round(managerOptions.memoryBudgetBytes / 1024 / 1024),
    },
    close() {
      closing ??= (async () => {
        // Visdom first: it hands its last pending frames to the run manager.
        await visdom.close();
        await getManager().close();
        await new Promise<void>((done) => {
          io.close(() => done());
          server.closeAllConnections();
          upgraded.destroyAll();
        });
        // The data is safe by now, so do not wait forever for Next.
        if (nextApp !== null) await nextApp.close(NEXT_CLOSE_TIMEOUT_MS);
        storage.close();
      })();
      return closing;
    },
  };
}

function accessRequest(req: http.IncomingMessage): AccessRequest {
  return { url: req.url ?? '/', method: req.method ?? 'GET', headers: req.headers };
}

/** A client that says which protocol it speaks must speak this one; scripts that say nothing are let in. */
function checkProtocolVersion(auth: unknown): void {
  if (typeof auth !== 'object' || auth === null || !('protocolVersion' in auth)) return;
  if (auth.protocolVersion !== PROTOCOL_VERSION)
    throw new ApiError(
      'protocol_mismatch',
      `this server speaks protocol ${PROTOCOL_VERSION}, the client ${String(auth.protocolVersion).slice(0, 20)}; ` +
        'reload the page',
    );
}

/** Where a browser reaches a server listening on `host`: 0.0.0.0 is reachable as 127.0.0.1; IPv6 needs brackets. */
function shownHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function wipe(dataDir: string): void {
  const forbidden = [resolve('/'), resolve(process.cwd()), resolve(homedir())];
  if (forbidden.includes(dataDir)) throw new Error(`--fresh refuses to wipe ${dataDir}`);
  rmSync(dataDir, { recursive: true, force: true });
}
