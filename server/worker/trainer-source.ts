/**
 * The one place the server reaches the engine's training loop: config resolution (main thread) and trainer
 * construction (workers). Swapping the training implementation is a change to this file only.
 */
import { resolveTrainConfig } from '../../engine/training/config';
import type { Trainer } from '../../engine/training/types';
import type { RunConfig } from '../protocol';
import type { RunHooks } from './messages';
import { SyntheticTrainer } from './synthetic-trainer';

/** Resolve a client's config input (flag names, omitted fields defaulted); throws ConfigError naming the field. */
export async function resolveRunConfig(input: Record<string, unknown>): Promise<RunConfig> {
  return { ...resolveTrainConfig(input) };
}

/** Build (or restore from a checkpoint) the trainer a worker runs. */
export async function openTrainer(config: RunConfig, hooks: RunHooks, checkpoint: Uint8Array | null): Promise<Trainer> {
  const resolved = resolveTrainConfig(config);
  if (hooks.trainer === 'synthetic') {
    const options = { cells: hooks.frameCells, width: hooks.frameWidth, timesteps: hooks.frameSteps, stepMs: hooks.stepMs };
    return checkpoint === null ? new SyntheticTrainer(resolved, options) : SyntheticTrainer.restore(checkpoint, options);
  }
  // Loaded only here: tfjs takes seconds to load, and synthetic runs never need it.
  const { selectBackend } = await import('../../engine/backend');
  const { createTrainer, restoreTrainer } = await import('../../engine/training/trainer');
  await selectBackend();
  if (checkpoint === null) return createTrainer(resolved);
  // Settings changed while running live in the run's config; the checkpoint may predate the change.
  return restoreTrainer(checkpoint, {
    overrides: { lr: resolved.lr, summarize_freq: resolved.summarize_freq, iterations: resolved.iterations },
  });
}
