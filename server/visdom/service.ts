/**
 * The Visdom service of an Engram server: state, sink and routes wired together, the `visdom:*` socket events, and
 * the optional listener on Visdom's own port (8097 by default) that serves the same routes at its root. The main
 * server mounts the same handler under `/visdom`.
 */
import http from 'node:http';
import type { EngramIo } from '../socket-api';
import { command, room } from '../socket-api';
import { runIdOf } from '../validate';
import { createVisdomHandler, type VisdomHandler } from './handler';
import { PanelStore } from './panel-store';
import { type ExternalRuns, RunVisdomSink } from './run-sink';
import { VisdomState } from './state';

/** Where the main server mounts the Visdom routes: `Visdom(port=<main port>, base_url='/visdom')`. */
export const VISDOM_PREFIX = '/visdom';

export interface VisdomServiceOptions {
  io: EngramIo;
  runs: ExternalRuns;
  dataDir: string;
  token: string | null;
  host: string;
  /** Visdom's own port to listen on as well (null: only the prefix on the main port). */
  port: number | null;
  /** The dashboard's address, for browsers that open the Visdom address. */
  dashboardUrl: () => string;
}

export interface VisdomService {
  handler: VisdomHandler;
  /** The port actually listened on (null: off, or it was taken). */
  port: number | null;
  close(): Promise<void>;
}

export async function startVisdomService(options: VisdomServiceOptions): Promise<VisdomService> {
  const { io } = options;
  const store = new PanelStore(options.dataDir);
  const sink = new RunVisdomSink(options.runs, store, {
    panel: (runId, panel) => io.to(room(runId)).emit('visdom:panel', { runId, panel }),
    append: (runId, win, version, appends) =>
      io.to(room(runId)).emit('visdom:append', { runId, win, version, appends: [...appends] }),
    closed: (runId, win) => io.to(room(runId)).emit('visdom:closed', { runId, win }),
  });
  const state = new VisdomState(sink);
  const handler = createVisdomHandler({
    state,
    token: options.token,
    pageFor: (eid) => {
      const runId = eid === null ? null : sink.runOf(eid);
      return runId === null ? `${options.dashboardUrl()}/` : `${options.dashboardUrl()}/runs/${runId}`;
    },
  });
  io.on('connection', (socket) => {
    socket.on(
      'visdom:panels',
      command('visdom:panels', ['runId'], (p) => sink.panelsOfRun(runIdOf(p), (eid) => state.panels(eid))),
    );
  });

  let server: http.Server | null = null;
  let port: number | null = null;
  if (options.port !== null) {
    const listening = http.createServer((req, res) => handler.request(req, res, req.url ?? '/'));
    listening.on('upgrade', (req, socket, head) => handler.upgrade(req, socket, head, req.url ?? '/'));
    listening.on('clientError', (_error, socket) => socket.destroy());
    port = await new Promise<number | null>((resolve) => {
      listening.once('error', (error: NodeJS.ErrnoException) => {
        // Say it once and go on: the prefix on the main port still works.
        const why = error.code === 'EADDRINUSE' ? 'taken (is Visdom running?)' : `unavailable (${error.code})`;
        console.warn(
          `[engram] Visdom port ${options.port} is ${why}; ` +
            `the Visdom protocol is still served at ${options.dashboardUrl()}${VISDOM_PREFIX}`,
        );
        resolve(null);
      });
      listening.listen(options.port ?? 0, options.host, () => {
        const address = listening.address();
        resolve(typeof address === 'object' && address !== null ? address.port : null);
      });
    });
    if (port !== null) server = listening;
  }

  return {
    handler,
    port,
    async close() {
      handler.close();
      if (server !== null) {
        const closing = server;
        await new Promise<void>((done) => {
          closing.close(() => done());
          closing.closeAllConnections();
        });
      }
      sink.close();
    },
  };
}
