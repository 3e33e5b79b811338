/**
 * The one place the server reaches the engine's training code at run time: config resolution and error classes
 * (main thread and workers) and trainer construction (workers). Swapping the training implementation is a change
 * to this file only.
 *
 * The engine's public surface is `engine/index.ts`, but loading it loads TensorFlow.js (seconds, tens of MB). The
 * main thread only validates configs, so the light config and error modules are imported directly, and the index
 * only where a real trainer is built.
 */
import { resolveTrainConfig } from '../../engine/training/config';
import type { Trainer } from '../../engine';
import type { EngineInfo, RunConfig } from '../protocol';

export { ConfigError, NonFiniteError } from '../../engine/training/types';

/** Resolve a client's config input (flag names, omitted fields defaulted); throws ConfigError naming the field. */
export async function resolveRunConfig(input: Record<string, unknown>): Promise<RunConfig> {
  return { ...resolveTrainConfig(input) };
}

let engineLoaded = false;

/** Let the worker thread end: the webgpu backend (Dawn) holds its event loop open until released. */
export async function releaseEngine(): Promise<void> {
  if (engineLoaded) (await import('../../engine')).releaseBackend();
}

/** Build (or restore from a checkpoint) the trainer a worker runs, and say which backend it computes on. */
export async function openTrainer(
  config: RunConfig,
  checkpoint: Uint8Array | null,
): Promise<{ trainer: Trainer; engine: EngineInfo }> {
  const resolved = resolveTrainConfig(config);
  const { createTrainer, restoreTrainer, selectBackend } = await import('../../engine');
  engineLoaded = true;
  const choice = await selectBackend();
  const engine: EngineInfo = { backend: choice.name };
  if (choice.adapter !== undefined) {
    const { vendor, architecture, description, device, software, limits } = choice.adapter;
    engine.adapter = { vendor, architecture, description: description || device, software, limits: { ...limits } };
  }
  if (checkpoint === null) return { trainer: createTrainer(resolved), engine };
  // Settings changed while running live in the run's config; the checkpoint may predate the change.
  const trainer = restoreTrainer(checkpoint, {
    overrides: { lr: resolved.lr, summarize_freq: resolved.summarize_freq, iterations: resolved.iterations },
  });
  return { trainer, engine };
}
