/**
 * Test-only. A run's training worker with hooks (server/testing/hooked-training.ts passes them as `workerData`): the
 * production training loop over the engine's trainer or the synthetic one, wrapped so that a step can crash, report
 * a NaN, run out of memory or never end at a chosen iteration.
 */
import { workerData } from 'node:worker_threads';
import type { Trainer } from '../../engine';
import { frameTensor } from '../../engine/frames';
import { resolveTrainConfig } from '../../engine/training/config';
import { NonFiniteError, openTrainer } from '../worker/trainer-source';
import { runTrainingWorker } from '../worker/training-loop';
import type { RunHooks } from './hooked-training';
import { SyntheticTrainer } from './synthetic-trainer';

const hooks = (workerData ?? {}) as RunHooks;

/** A trainer whose step applies the hooks before the real step. */
class HookedTrainer implements Trainer {
  private nanFired = false;

  constructor(private readonly inner: Trainer) {}

  get config() {
    return this.inner.config;
  }

  get iteration(): number {
    return this.inner.iteration;
  }

  step(options?: { captureFrame?: boolean }) {
    const next = this.inner.iteration + 1;
    if (hooks.throwAt === next) throw new Error(`test hook: worker throws at iteration ${next}`);
    if (hooks.wasmAbortAt === next) {
      // Exactly what emscripten's abort() throws when the wasm backend's allocator cannot grow its heap.
      throw new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
    }
    if (hooks.oomAt === next) {
      const hog: number[][] = [];
      for (;;) hog.push(new Array<number>(1_000_000).fill(next));
    }
    if (hooks.blockAt === next) for (;;);
    if (hooks.nanAt === next && !this.nanFired) {
      this.nanFired = true;
      const error = new NonFiniteError('loss', next, null, 'test hook: injected NaN');
      // Like the engine's own refusals, the error carries the offending frame so the server can keep it.
      error.frame = {
        timesteps: 1,
        tensors: [frameTensor('output', [1, 1], ['time', 'channel'], new Float32Array([Number.NaN]))],
      };
      throw error;
    }
    return this.inner.step(options);
  }

  setLearningRate(lr: number): void {
    this.inner.setLearningRate(lr);
  }

  setSummarizeFreq(n: number): void {
    this.inner.setSummarizeFreq(n);
  }

  checkpoint(): Promise<Uint8Array> {
    return this.inner.checkpoint();
  }

  test(options?: { batches?: number; lengthFactor?: number }) {
    return this.inner.test(options);
  }

  dispose(): void {
    this.inner.dispose();
  }
}

runTrainingWorker(async (config, checkpoint) => {
  if (hooks.trainer !== 'synthetic') {
    const { trainer, engine } = await openTrainer(config, checkpoint);
    return { trainer: new HookedTrainer(trainer), engine };
  }
  const options = {
    cells: hooks.frameCells,
    width: hooks.frameWidth,
    timesteps: hooks.frameSteps,
    stepMs: hooks.stepMs,
  };
  const trainer =
    checkpoint === null
      ? new SyntheticTrainer(resolveTrainConfig(config), options)
      : SyntheticTrainer.restore(checkpoint, options);
  return { trainer: new HookedTrainer(trainer), engine: { backend: 'synthetic' } };
});
