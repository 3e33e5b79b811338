/**
 * Test-only. The seam through which tests and benchmarks reach inside a run: an `EngineTraining` that takes
 * `_`-prefixed hook fields out of a run's config, keeps them in its own store (by run id, so they outlive a
 * simulated restart of the run manager) and starts the run's workers from server/testing/hooked-worker.mjs, which
 * wraps the real trainer (or the synthetic one) with the hooks. Production code never imports this folder; the
 * server's own config parser refuses these fields as unknown.
 */
import { join } from 'node:path';
import { ENGINE_TRAINING, type EngineTraining } from '../engine-source';
import { describe, shortText } from '../validate';
import { ConfigError } from '../worker/trainer-source';

/** What a run's hook fields ask of its worker. */
export interface RunHooks {
  /** Use the synthetic frame source instead of the engine (benchmarks, fast tests). */
  trainer?: 'engine' | 'synthetic';
  /** Synthetic source: memory cells N and word width W of its frames, and wall time per step in ms. */
  frameCells?: number;
  frameWidth?: number;
  /** Synthetic source: timesteps T of its frames (default 4). */
  frameSteps?: number;
  stepMs?: number;
  /** Throw a plain Error at this iteration (a crashing worker). */
  throwAt?: number;
  /** Report a NonFiniteError at this iteration (once per worker). */
  nanAt?: number;
  /** Allocate without bound at this iteration (a worker running out of memory). */
  oomAt?: number;
  /** Fail at this iteration as the wasm backend does when its allocator runs out (emscripten's abort). */
  wasmAbortAt?: number;
  /** Busy-wait forever inside this iteration, never yielding (a step that does not end: only terminate ends it).
   *  Only the run's first worker blocks, so the run can be resumed from its checkpoint afterwards. */
  blockAt?: number;
}

/** The config fields and the hooks they set. */
export const HOOK_FIELDS: Readonly<Record<string, keyof RunHooks>> = {
  _trainer: 'trainer',
  _frame_cells: 'frameCells',
  _frame_width: 'frameWidth',
  _frame_steps: 'frameSteps',
  _step_ms: 'stepMs',
  _throw_at: 'throwAt',
  _nan_at: 'nanAt',
  _oom_at: 'oomAt',
  _wasm_abort_at: 'wasmAbortAt',
  _block_at: 'blockAt',
};

const HOOKED_WORKER = join(__dirname, 'hooked-worker.mjs');

/** Split a config input into its hooks (validated; ConfigError names a bad one) and the fields the engine reads. */
export function splitHooks(input: Record<string, unknown>): { config: Record<string, unknown>; hooks: RunHooks } {
  const config: Record<string, unknown> = {};
  const hooks: RunHooks = {};
  for (const [key, value] of Object.entries(input)) {
    if (!key.startsWith('_')) {
      config[key] = value;
      continue;
    }
    const hook = HOOK_FIELDS[key];
    if (hook === undefined) throw new ConfigError(shortText(key), 'unknown field');
    if (hook === 'trainer') {
      if (value !== 'engine' && value !== 'synthetic')
        throw new ConfigError(key, `expected "engine" or "synthetic", got ${describe(value)}`);
      hooks.trainer = value;
    } else {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
        throw new ConfigError(key, `expected a non-negative integer, got ${describe(value)}`);
      hooks[hook] = value;
    }
  }
  return { config, hooks };
}

/** An EngineTraining that honours hook fields; `hooksOf` reads what a run was given. */
export function createHookedTraining(): EngineTraining & { hooksOf(runId: string): RunHooks | undefined } {
  const store = new Map<string, RunHooks>();
  return {
    async resolveConfig(runId, input) {
      const { config, hooks } = splitHooks(input);
      const resolved = await ENGINE_TRAINING.resolveConfig(runId, config);
      store.set(runId, hooks);
      return resolved;
    },
    worker(runId) {
      const hooks = store.get(runId) ?? {};
      if (hooks.blockAt !== undefined) {
        const { blockAt: _once, ...rest } = hooks;
        store.set(runId, rest);
      }
      return { entry: HOOKED_WORKER, data: hooks };
    },
    hooksOf: (runId) => store.get(runId),
  };
}
