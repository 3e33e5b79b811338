/**
 * The one place the server reaches the engine's training loop: config resolution (main thread) and trainer
 * construction (workers). Swapping the training implementation is a change to this file only.
 */
import { ConfigError, type TrainConfig, type Trainer } from '../../engine/training/types';
import type { RunConfig } from '../protocol';
import type { RunHooks } from './messages';
import { SyntheticTrainer } from './synthetic-trainer';

/** Resolve a client's config input (flag names, omitted fields defaulted); throws ConfigError naming the field. */
export async function resolveRunConfig(input: Record<string, unknown>): Promise<RunConfig> {
  return { ...fallbackResolve(input) };
}

/** Build (or restore from a checkpoint) the trainer a worker runs. */
export async function openTrainer(config: RunConfig, hooks: RunHooks, checkpoint: Uint8Array | null): Promise<Trainer> {
  const resolved = fallbackResolve(config);
  const options = { cells: hooks.frameCells, width: hooks.frameWidth, stepMs: hooks.stepMs };
  if (hooks.trainer === 'synthetic' || hooks.trainer === undefined) {
    return checkpoint === null ? new SyntheticTrainer(resolved, options) : SyntheticTrainer.restore(checkpoint, options);
  }
  throw new Error('the engine trainer has not landed yet');
}

const DEFAULTS: TrainConfig = {
  task: 'copy',
  rnn_type: 'lstm',
  nhid: 64,
  dropout: 0,
  memory_type: 'dnc',
  nlayer: 1,
  nhlayer: 2,
  lr: 1e-4,
  optim: 'adam',
  clip: 50,
  batch_size: 100,
  mem_size: 20,
  mem_slot: 16,
  read_heads: 4,
  sparse_reads: 10,
  temporal_reads: 2,
  sequence_max_length: 4,
  curriculum_increment: 0,
  curriculum_freq: 1000,
  iterations: 100000,
  summarize_freq: 100,
  check_freq: 100,
  seed: 1,
};

/** Stand-in resolver until the engine's lands: defaults, kebab-case names, type checks naming the field. */
function fallbackResolve(input: Record<string, unknown>): TrainConfig {
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const [rawKey, value] of Object.entries(input)) {
    const key = rawKey.replace(/-/g, '_');
    if (!(key in DEFAULTS) && key !== 'input_size' && key !== 'repeats') throw new ConfigError(key, `unknown field`);
    const expected = typeof (DEFAULTS as unknown as Record<string, unknown>)[key];
    if (expected === 'number' || key === 'input_size' || key === 'repeats') {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(key, `expected a number, got ${JSON.stringify(value)}`);
      if (value <= 0 && key !== 'dropout' && key !== 'curriculum_increment') throw new ConfigError(key, `must be positive, got ${value}`);
    } else if (typeof value !== 'string') {
      throw new ConfigError(key, `expected a string, got ${JSON.stringify(value)}`);
    }
    out[key] = value;
  }
  return out as unknown as TrainConfig;
}
