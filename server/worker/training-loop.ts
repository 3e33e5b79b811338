/**
 * The loop of one run's training worker (server/worker/run-worker.ts starts it with the engine's trainer). It steps
 * the trainer while the run is active and yields with `setImmediate` between iterations so commands are read;
 * commands are applied only at the safe point between two iterations and answered there, after every iteration
 * message they follow. The worker never waits for the main thread or for clients: it posts metrics and transfers
 * frame buffers, and goes on.
 */
import { parentPort } from 'node:worker_threads';
import type { IterationResult, Trainer } from '../../engine';
import { packFrame } from '../frame-codec';
import type { EngineInfo, RunConfig } from '../protocol';
import type { FromWorker, PackedFrame, ToWorker, WorkerCommand } from './messages';
import { NonFiniteError, releaseEngine } from './trainer-source';

/** Build (or restore from a checkpoint) the run's trainer, and say which backend it computes on. */
export type OpenTrainer = (
  config: RunConfig,
  checkpoint: Uint8Array | null,
) => Promise<{ trainer: Trainer; engine: EngineInfo }>;

type QueuedCommand = { id: number } & WorkerCommand;

/** Frames posted but not yet stored by the main thread. Past MAX_FRAMES_IN_FLIGHT, periodic frames are dropped
 *  (never step or capture frames) so a main thread that falls behind cannot make messages pile up without bound;
 *  the worker itself never waits. */
const MAX_FRAMES_IN_FLIGHT = 8;

/** Run this worker thread's training loop over the trainer `openTrainer` builds; call once, from a worker. */
export function runTrainingWorker(openTrainer: OpenTrainer): void {
  if (parentPort === null) throw new Error('runTrainingWorker must run in a worker thread');
  const port = parentPort;
  const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

  const queue: QueuedCommand[] = [];
  let wake: (() => void) | null = null;
  let initMessage: Extract<ToWorker, { type: 'init' }> | null = null;
  let framesInFlight = 0;

  port.on('message', (message: ToWorker) => {
    if (message.type === 'init') {
      initMessage = message;
    } else if (message.type === 'frame-consumed') {
      framesInFlight = Math.max(0, framesInFlight - 1);
      return;
    } else {
      const { type: _type, ...command } = message;
      queue.push(command);
    }
    wake?.();
  });

  const nextMessage = (): Promise<void> =>
    new Promise((resolve) => {
      wake = () => {
        wake = null;
        resolve();
      };
    });

  const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

  async function main(): Promise<void> {
    while (initMessage === null) await nextMessage();
    const init: Extract<ToWorker, { type: 'init' }> = initMessage;
    const { trainer, engine } = await openTrainer(init.config, init.checkpoint);
    const iterations = init.config.iterations;

    let mode: 'running' | 'paused' = init.startPaused ? 'paused' : 'running';
    let stepsLeft = 0;
    let captureNext = false;
    let lastCheckpointAt = Date.now();
    let checkpointedIteration = init.checkpoint === null ? -1 : trainer.iteration;
    let lastEnd = performance.now();
    let itPerSec = 0;

    async function checkpoint(force: boolean): Promise<void> {
      if (!force && checkpointedIteration === trainer.iteration) return;
      const bytes = await trainer.checkpoint();
      checkpointedIteration = trainer.iteration;
      lastCheckpointAt = Date.now();
      const copy =
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
          ? bytes
          : bytes.slice();
      post({ type: 'checkpoint', iteration: trainer.iteration, bytes: copy }, [copy.buffer as ArrayBuffer]);
    }

    const state = (s: 'running' | 'paused' | 'finished' | 'stopped') =>
      post({ type: 'state', state: s, iteration: trainer.iteration });
    const reply = (id: number) => post({ type: 'reply', id, ok: true, iteration: trainer.iteration });

    post({ type: 'ready', iteration: trainer.iteration, engine });
    if (init.checkpoint === null) await checkpoint(true); // so even a run killed early resumes from a real checkpoint

    for (;;) {
      // Safe point: apply queued commands in order.
      while (queue.length > 0) {
        const command = queue.shift() as QueuedCommand;
        switch (command.command) {
          case 'pause':
            mode = 'paused';
            stepsLeft = 0;
            await checkpoint(false);
            state('paused');
            reply(command.id);
            break;
          case 'resume':
            mode = 'running';
            stepsLeft = 0;
            state('running');
            reply(command.id);
            break;
          case 'step':
            mode = 'paused';
            stepsLeft = command.n;
            state('running');
            reply(command.id);
            break;
          case 'configure':
            if (command.lr !== undefined) trainer.setLearningRate(command.lr);
            if (command.summarizeFreq !== undefined) trainer.setSummarizeFreq(command.summarizeFreq);
            reply(command.id);
            break;
          case 'capture':
            captureNext = true;
            reply(command.id);
            break;
          case 'checkpoint':
            await checkpoint(true);
            reply(command.id);
            break;
          case 'stop':
            await checkpoint(false);
            state('stopped');
            reply(command.id);
            trainer.dispose();
            port.close();
            return;
        }
      }

      const active = mode === 'running' || stepsLeft > 0;
      if (!active) {
        await nextMessage();
        continue;
      }
      if (trainer.iteration >= iterations) {
        await checkpoint(false);
        state('finished');
        trainer.dispose();
        port.close();
        return;
      }

      const stepping = stepsLeft > 0;
      let result: IterationResult;
      try {
        result = await trainer.step({ captureFrame: stepping || captureNext });
      } catch (error) {
        if (!(error instanceof NonFiniteError)) throw error;
        // The weights were not touched: pause so the user can inspect, lower the lr and resume.
        mode = 'paused';
        stepsLeft = 0;
        const frame = error.frame === undefined ? null : packFrame(error.frame, error.iteration, Date.now());
        if (frame !== null) framesInFlight += 1;
        post(
          {
            type: 'nonfinite',
            iteration: error.iteration,
            frame,
            failure: {
              reason: 'nan',
              message: error.message,
              tensor: error.tensor,
              iteration: error.iteration,
              timestep: error.timestep,
            },
          },
          frame === null ? [] : [frame.buffer],
        );
        await checkpoint(false);
        state('paused');
        continue;
      }
      const requested = stepping || captureNext;
      captureNext = false;
      const now = performance.now();
      const instant = 1000 / Math.max(now - lastEnd, 1e-3);
      // Exponential average over roughly the last ten iterations: steady enough to read, quick to follow changes.
      itPerSec = itPerSec === 0 ? instant : itPerSec * 0.9 + instant * 0.1;
      lastEnd = now;
      let frame: PackedFrame | null = null;
      if (result.frame !== undefined && (requested || framesInFlight < MAX_FRAMES_IN_FLIGHT)) {
        frame = packFrame(result.frame, result.iteration, Date.now());
        framesInFlight += 1;
      }
      post(
        {
          type: 'iteration',
          point: {
            iteration: result.iteration,
            loss: result.loss,
            metric: result.metric,
            itPerSec,
            t: Date.now(),
            sequenceLength: result.sequenceLength,
          },
          metricName: result.metricName,
          frame,
        },
        frame === null ? [] : [frame.buffer],
      );
      if (stepping) {
        stepsLeft -= 1;
        if (stepsLeft === 0) {
          await checkpoint(false);
          state('paused');
        }
      }
      if (Date.now() - lastCheckpointAt >= init.checkpointIntervalMs) await checkpoint(false);
      await yieldToEvents();
    }
  }

  main()
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const stack = error instanceof Error ? error.stack : undefined;
      post({ type: 'fatal', reason: 'worker_error', message, stack });
      port.close();
    })
    .finally(releaseEngine);
}
