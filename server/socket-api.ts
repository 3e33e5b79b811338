/**
 * socket.io side of the API: every command is answered through its ack, metric batches go to the run's room
 * reliably and in order, and frames are flow-controlled per client — a client gets its next frame only after it
 * acknowledged the last, and in between only the newest frame is kept for it (nothing queues without bound).
 */
import type { Server, Socket } from 'socket.io';
import { ApiError, failure } from './errors';
import {
  MAX_STEP_ITERATIONS,
  type Ack,
  type ClientToServerEvents,
  type MetricPoint,
  type RunSummary,
  type ServerToClientEvents,
} from './protocol';
import type { WireFrame } from './protocol/frames';
import type { RunListener, RunManager } from './run-manager';
import {
  asObject,
  integerField,
  onlyFields,
  optionalString,
  positiveNumberField,
  runIdOf,
  type Fields,
} from './validate';
import { toWireFrame } from './frame-codec';
import { isExternalCreate, parseExternalCreate } from './ingest-decode';
import { registerIngestEvents } from './ingest-socket';
import { METRICS_QUERY_FIELDS, metricsSnapshot, parseMetricsQuery, readMetrics } from './metric-query';

export type EngramIo = Server<ClientToServerEvents, ServerToClientEvents>;
type EngramSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** One client's frame flow for one run: at most one frame in flight and one waiting. */
interface FrameFlow {
  socket: EngramSocket;
  inFlight: boolean;
  waiting: WireFrame | null;
  /** When the last frame went out (performance.now()), for the live frame rate cap. */
  sentAt: number;
  /** Sends `waiting` once the interval since `sentAt` has passed; null when none is due. */
  timer: NodeJS.Timeout | null;
}

/**
 * Live frames go to one page at most every 33 ms (30 per second): faster than the eye follows a heatmap, and a
 * trainer posting hundreds of frames a second would otherwise spend the machine's CPU on redraws nobody sees
 * (#9's ingest benchmark with a page attached). The newest frame always arrives, at most this much later.
 */
export const LIVE_FRAME_INTERVAL_MS = 33;

export const room = (runId: string) => `run:${runId}`;

export function attachSocketApi(io: EngramIo, manager: () => RunManager): RunListener {
  /** runId → socket id → flow. */
  const flows = new Map<string, Map<string, FrameFlow>>();

  function offer(flow: FrameFlow, frame: WireFrame): void {
    const early = LIVE_FRAME_INTERVAL_MS - (performance.now() - flow.sentAt);
    if (flow.inFlight || flow.timer !== null || early > 0) {
      flow.waiting = frame; // newest wins: an older waiting frame is simply dropped
      if (!flow.inFlight && flow.timer === null) {
        flow.timer = setTimeout(() => {
          flow.timer = null;
          sendWaiting(flow);
        }, early);
        flow.timer.unref();
      }
      return;
    }
    flow.inFlight = true;
    flow.sentAt = performance.now();
    flow.socket.emit('memory:frame', frame);
  }

  function sendWaiting(flow: FrameFlow): void {
    const waiting = flow.waiting;
    flow.waiting = null;
    if (waiting !== null) offer(flow, waiting);
  }

  function unsubscribe(socket: EngramSocket, runId: string): void {
    void socket.leave(room(runId));
    const byRun = flows.get(runId);
    const flow = byRun?.get(socket.id);
    if (flow?.timer) clearTimeout(flow.timer);
    byRun?.delete(socket.id);
    if (byRun !== undefined && byRun.size === 0) flows.delete(runId);
  }

  io.on('connection', (socket) => {
    const subscribed = new Set<string>();
    registerIngestEvents(socket, manager);

    socket.on(
      'run:list',
      command('run:list', [], () => manager().list()),
    );
    socket.on(
      'run:create',
      command('run:create', ['config', 'name', 'external', 'controls'], (p) =>
        isExternalCreate(p)
          ? manager().createExternal(parseExternalCreate(p))
          : manager().create(asObject(p.config, 'config'), optionalString(p, 'name', 200)),
      ),
    );
    socket.on(
      'run:subscribe',
      command('run:subscribe', ['runId', 'since'], (p, done) => {
        const runId = runIdOf(p);
        const since = integerField(p, 'since', -1, Number.MAX_SAFE_INTEGER, false) ?? -1;
        const run = manager().get(runId);
        const { metrics, metricCount } = metricsSnapshot(manager().metricStore(runId), runId, since);
        const frameIterations = manager().frameIterations(runId);
        void socket.join(room(runId));
        subscribed.add(runId);
        let byRun = flows.get(runId);
        if (byRun === undefined) {
          byRun = new Map();
          flows.set(runId, byRun);
        }
        const flow: FrameFlow = { socket, inFlight: false, waiting: null, sentAt: -Infinity, timer: null };
        byRun.set(socket.id, flow);
        done(() => {
          // After the ack: a late joiner gets the newest frame at once.
          const latest = manager().latestFrame(runId);
          if (latest !== null) offer(flow, latest);
        });
        return { run, metrics, metricCount, frameIterations };
      }),
    );
    socket.on(
      'run:unsubscribe',
      command('run:unsubscribe', ['runId'], (p) => {
        const runId = runIdOf(p);
        unsubscribe(socket, runId);
        subscribed.delete(runId);
        return null;
      }),
    );
    socket.on(
      'run:delete',
      command('run:delete', ['runId'], (p) => manager().delete(runIdOf(p))),
    );
    socket.on(
      'training:pause',
      command('training:pause', ['runId'], (p) => manager().pause(runIdOf(p))),
    );
    socket.on(
      'training:resume',
      command('training:resume', ['runId'], (p) => manager().resume(runIdOf(p))),
    );
    socket.on(
      'training:step',
      command('training:step', ['runId', 'n'], (p) =>
        manager().step(runIdOf(p), integerField(p, 'n', 1, MAX_STEP_ITERATIONS, true)),
      ),
    );
    socket.on(
      'training:stop',
      command('training:stop', ['runId'], (p) => manager().stop(runIdOf(p))),
    );
    socket.on(
      'training:configure',
      command('training:configure', ['runId', 'lr', 'summarize_freq'], (p) =>
        manager().configure(
          runIdOf(p),
          positiveNumberField(p, 'lr'),
          integerField(p, 'summarize_freq', 1, 1_000_000_000, false),
        ),
      ),
    );
    socket.on(
      'frame:capture',
      command('frame:capture', ['runId'], async (p) => {
        await manager().capture(runIdOf(p));
        return null;
      }),
    );
    socket.on(
      'frame:get',
      command('frame:get', ['runId', 'iteration'], (p) => {
        const runId = runIdOf(p);
        return toWireFrame(
          runId,
          manager().storedFrame(runId, integerField(p, 'iteration', 0, Number.MAX_SAFE_INTEGER, true)),
        );
      }),
    );
    socket.on(
      'metrics:get',
      command('metrics:get', ['runId', ...METRICS_QUERY_FIELDS], (p) => {
        const runId = runIdOf(p);
        const query = parseMetricsQuery(p);
        return readMetrics(manager().metricStore(runId), runId, query);
      }),
    );
    socket.on('frame:ack', (payload: unknown) => {
      try {
        const p = asObject(payload);
        const flow = flows.get(runIdOf(p))?.get(socket.id);
        if (flow === undefined) return;
        flow.inFlight = false;
        if (flow.timer === null) sendWaiting(flow);
      } catch {
        // A malformed ack has no ack callback to answer through; ignoring it is the only safe reply.
      }
    });
    socket.on('disconnect', () => {
      for (const runId of subscribed) unsubscribe(socket, runId);
      subscribed.clear();
    });
  });

  return {
    runUpdated(run: RunSummary) {
      io.emit('run:updated', run);
    },
    metrics(runId: string, points: MetricPoint[]) {
      io.to(room(runId)).emit('metrics:batch', { runId, points });
    },
    frame(runId: string, frame: WireFrame) {
      const byRun = flows.get(runId);
      if (byRun === undefined) return;
      for (const flow of byRun.values()) offer(flow, frame);
    },
    runDeleted(runId: string) {
      flows.delete(runId);
      io.in(room(runId)).socketsLeave(room(runId));
      io.emit('run:deleted', { runId });
    },
    framesStored(runId: string, frameIterations: number[]) {
      io.to(room(runId)).emit('frames:stored', { runId, frameIterations });
    },
  };
}

/**
 * Wrap a command handler: the ack is the last argument (without one there is no one to answer, so nothing runs); the
 * one payload before it must be an object with only the command's fields (none at all counts as `{}`). The handler's
 * result or a typed error goes back through the ack. `after` lets a handler push something right after its ack.
 */
export function command<T>(
  event: string,
  known: readonly string[],
  handler: (payload: Fields, after: (fn: () => void) => void) => T | Promise<T>,
): (...args: unknown[]) => void {
  return (...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack !== 'function') return;
    const payloads = args.slice(0, -1);
    let afterAck: (() => void) | null = null;
    const respond = (res: Ack<T>) => {
      try {
        (ack as (res: Ack<T>) => void)(res);
        afterAck?.();
      } catch (error) {
        console.error(`[engram] ${event}: sending the answer failed:`, error);
      }
    };
    Promise.resolve()
      .then(() => {
        if (payloads.length > 1)
          throw new ApiError(
            'bad_request',
            `${event} takes one payload object and an ack; got ${payloads.length} arguments before the ack`,
          );
        const payload = onlyFields(asObject(payloads[0], 'payload', true), known, 'payload');
        return handler(payload, (fn) => (afterAck = fn));
      })
      .then(
        (data) => respond({ ok: true, data }),
        (error: unknown) => respond(failure<T>(error, event)),
      );
  };
}
