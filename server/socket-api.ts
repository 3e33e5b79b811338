/**
 * socket.io side of the API: every command is answered through its ack, metric batches go to the run's room
 * reliably and in order, and frames are flow-controlled per client — a client gets its next frame only after it
 * acknowledged the last, and in between only the newest frame is kept for it (nothing queues without bound).
 */
import type { Server, Socket } from 'socket.io';
import { failure } from './errors';
import {
  MAX_STEP_ITERATIONS,
  type Ack,
  type ClientToServerEvents,
  type MetricPoint,
  type RunSummary,
  type ServerToClientEvents,
  type WireFrame,
} from './protocol';
import type { RunListener, RunManager } from './run-manager';
import { asObject, integerField, optionalString, positiveNumberField, runIdOf, type Fields } from './validate';
import { toWireFrame } from './frame-codec';

export type EngramIo = Server<ClientToServerEvents, ServerToClientEvents>;
type EngramSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** One client's frame flow for one run: at most one frame in flight and one waiting. */
interface FrameFlow {
  socket: EngramSocket;
  inFlight: boolean;
  waiting: WireFrame | null;
}

const room = (runId: string) => `run:${runId}`;

export function attachSocketApi(io: EngramIo, manager: () => RunManager): RunListener {
  /** runId → socket id → flow. */
  const flows = new Map<string, Map<string, FrameFlow>>();

  function offer(flow: FrameFlow, frame: WireFrame): void {
    if (flow.inFlight) {
      flow.waiting = frame; // newest wins: an older waiting frame is simply dropped
      return;
    }
    flow.inFlight = true;
    flow.socket.emit('memory:frame', frame);
  }

  function unsubscribe(socket: EngramSocket, runId: string): void {
    void socket.leave(room(runId));
    const byRun = flows.get(runId);
    byRun?.delete(socket.id);
    if (byRun !== undefined && byRun.size === 0) flows.delete(runId);
  }

  io.on('connection', (socket) => {
    const subscribed = new Set<string>();

    socket.on(
      'run:list',
      command('run:list', () => manager().list()),
    );
    socket.on(
      'run:create',
      command('run:create', (p) => manager().create(asObject(p.config, 'config'), optionalString(p, 'name', 200))),
    );
    socket.on(
      'run:subscribe',
      command('run:subscribe', (p, done) => {
        const runId = runIdOf(p);
        const since = integerField(p, 'since', -1, Number.MAX_SAFE_INTEGER, false) ?? 0;
        const run = manager().get(runId);
        const metrics: MetricPoint[] = manager().metrics(runId, since);
        const frameIterations = manager().frameIterations(runId);
        void socket.join(room(runId));
        subscribed.add(runId);
        let byRun = flows.get(runId);
        if (byRun === undefined) {
          byRun = new Map();
          flows.set(runId, byRun);
        }
        const flow: FrameFlow = { socket, inFlight: false, waiting: null };
        byRun.set(socket.id, flow);
        done(() => {
          // After the ack: a late joiner gets the newest frame at once.
          const latest = manager().latestFrame(runId);
          if (latest !== null) offer(flow, latest);
        });
        return { run, metrics, frameIterations };
      }),
    );
    socket.on(
      'run:unsubscribe',
      command('run:unsubscribe', (p) => {
        const runId = runIdOf(p);
        unsubscribe(socket, runId);
        subscribed.delete(runId);
        return null;
      }),
    );
    socket.on(
      'training:pause',
      command('training:pause', (p) => manager().pause(runIdOf(p))),
    );
    socket.on(
      'training:resume',
      command('training:resume', (p) => manager().resume(runIdOf(p))),
    );
    socket.on(
      'training:step',
      command('training:step', (p) => manager().step(runIdOf(p), integerField(p, 'n', 1, MAX_STEP_ITERATIONS, true))),
    );
    socket.on(
      'training:stop',
      command('training:stop', (p) => manager().stop(runIdOf(p))),
    );
    socket.on(
      'training:configure',
      command('training:configure', (p) =>
        manager().configure(
          runIdOf(p),
          positiveNumberField(p, 'lr'),
          integerField(p, 'summarize_freq', 1, 1_000_000_000, false),
        ),
      ),
    );
    socket.on(
      'frame:capture',
      command('frame:capture', async (p) => {
        await manager().capture(runIdOf(p));
        return null;
      }),
    );
    socket.on(
      'frame:get',
      command('frame:get', (p) => {
        const runId = runIdOf(p);
        return toWireFrame(
          runId,
          manager().storedFrame(runId, integerField(p, 'iteration', 0, Number.MAX_SAFE_INTEGER, true)),
        );
      }),
    );
    socket.on(
      'metrics:get',
      command('metrics:get', (p) =>
        manager().metrics(runIdOf(p), integerField(p, 'since', -1, Number.MAX_SAFE_INTEGER, false) ?? 0),
      ),
    );
    socket.on('frame:ack', (payload: unknown) => {
      try {
        const p = asObject(payload);
        const flow = flows.get(runIdOf(p))?.get(socket.id);
        if (flow === undefined) return;
        flow.inFlight = false;
        const waiting = flow.waiting;
        flow.waiting = null;
        if (waiting !== null) offer(flow, waiting);
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
    framesStored(runId: string, frameIterations: number[]) {
      io.to(room(runId)).emit('frames:stored', { runId, frameIterations });
    },
  };
}

/**
 * Wrap a command handler: validate that the payload is an object, run the handler, and answer through the ack
 * with `{ok, data}` or a typed error. Without an ack function there is no one to answer, so nothing runs.
 * `after` lets a handler push something right after its ack went out.
 */
function command<T>(
  event: string,
  handler: (payload: Fields, after: (fn: () => void) => void) => T | Promise<T>,
): (payload: unknown, ack: (res: Ack<T>) => void) => void {
  return (payloadOrAck: unknown, maybeAck?: (res: Ack<T>) => void) => {
    // A client that sends no payload puts its ack function first.
    const [payload, ack] =
      typeof payloadOrAck === 'function' && maybeAck === undefined
        ? [undefined, payloadOrAck as (res: Ack<T>) => void]
        : [payloadOrAck, maybeAck];
    if (typeof ack !== 'function') return;
    let afterAck: (() => void) | null = null;
    const respond = (res: Ack<T>) => {
      try {
        ack(res);
        afterAck?.();
      } catch (error) {
        console.error(`[engram] ${event}: sending the answer failed:`, error);
      }
    };
    Promise.resolve()
      .then(() => handler(asObject(payload, 'payload', true), (fn) => (afterAck = fn)))
      .then(
        (data) => respond({ ok: true, data }),
        (error: unknown) => respond(failure<T>(error, event)),
      );
  };
}
