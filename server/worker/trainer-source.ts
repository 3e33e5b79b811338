/**
 * The one place the server reaches the engine's training code at run time: config resolution and error classes
 * (main thread and workers) and trainer construction (workers). Swapping the training implementation is a change
 * to this file only.
 *
 * The engine's public surface is `engine/index.ts`, but loading it loads TensorFlow.js (seconds, tens of MB). The
 * main thread only validates configs and synthetic workers never train, so the light config and error modules are
 * imported directly, and the index only where a real trainer is built.
 */
import { resolveTrainConfig } from '../../engine/training/config';
import type { Trainer } from '../../engine';
import type { RunConfig } from '../protocol';
import type { RunHooks } from './messages';
import { SyntheticTrainer } from './synthetic-trainer';

export { ConfigError, NonFiniteError } from '../../engine/training/types';

/** Resolve a client's config input (flag names, omitted fields defaulted); throws ConfigError naming the field. */
export async function resolveRunConfig(input: Record<string, unknown>): Promise<RunConfig> {
  return { ...resolveTrainConfig(input) };
}

/** Build (or restore from a checkpoint) the trainer a worker runs. */
export async function openTrainer(config: RunConfig, hooks: RunHooks, checkpoint: Uint8Array | null): Promise<Trainer> {
  const resolved = resolveTrainConfig(config);
  if (hooks.trainer === 'synthetic') {
    const options = {
      cells: hooks.frameCells,
      width: hooks.frameWidth,
      timesteps: hooks.frameSteps,
      stepMs: hooks.stepMs,
    };
    return checkpoint === null
      ? new SyntheticTrainer(resolved, options)
      : SyntheticTrainer.restore(checkpoint, options);
  }
  const { createTrainer, restoreTrainer, selectBackend } = await import('../../engine');
  await selectBackend();
  if (checkpoint === null) return createTrainer(resolved);
  // Settings changed while running live in the run's config; the checkpoint may predate the change.
  return restoreTrainer(checkpoint, {
    overrides: { lr: resolved.lr, summarize_freq: resolved.summarize_freq, iterations: resolved.iterations },
  });
}
