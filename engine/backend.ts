/**
 * Backend choice for TensorFlow.js — not part of the paper, but it decides how fast the DNC's many small ops run.
 * Order: `ENGRAM_BACKEND` when set (`tensorflow-gpu`, `webgpu`, `tensorflow`, `wasm`, `cpu`), else the native
 * bindings `@tensorflow/tfjs-node-gpu` when a user has installed them, then WebGPU through Dawn (`webgpu`, bundled)
 * when it offers a hardware adapter, then `@tensorflow/tfjs-node`, else the bundled wasm backend, else the pure-JS
 * cpu backend. The native packages are `require`d at run time inside try/catch because their install script
 * downloads libtensorflow from outside the registries, so `npm install` never depends on them. A software WebGPU
 * adapter (lavapipe, SwiftShader) is slower than wasm and is used only when named.
 * Entrypoints call `selectBackend()` once per process and `releaseBackend()` when done (Dawn holds the event loop
 * open); the math never knows which backend runs it.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { prepareWasmBackend } from './wasm-kernels';
import { prepareWebGpuBackend } from './webgpu-kernels';
import { describeAdapter, type GpuAdapterSummary, openWebGpuAdapter, releaseWebGpu } from './webgpu-adapter';

/** Names accepted in `ENGRAM_BACKEND`. */
export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

/** Automatic order when `ENGRAM_BACKEND` is unset: fastest first. */
export const FALLBACK_ORDER: readonly BackendName[] = BACKEND_NAMES;

/** What each name needs: the package to load (none for cpu) and the tfjs backend it registers. */
const BACKEND_SPECS: Readonly<Record<BackendName, { readonly packageName?: string; readonly tfjsBackend: string }>> = {
  'tensorflow-gpu': { packageName: '@tensorflow/tfjs-node-gpu', tfjsBackend: 'tensorflow' },
  webgpu: { packageName: '@tensorflow/tfjs-backend-webgpu', tfjsBackend: 'webgpu' },
  tensorflow: { packageName: '@tensorflow/tfjs-node', tfjsBackend: 'tensorflow' },
  wasm: { packageName: '@tensorflow/tfjs-backend-wasm', tfjsBackend: 'wasm' },
  cpu: { tfjsBackend: 'cpu' },
};

/** The side effects backend selection needs; tests inject fakes to check the order and the errors. */
export interface BackendLoader {
  /** Load a package for its side effect of registering a backend; throws when it is missing or broken. */
  loadPackage(packageName: string): void;
  /** Make a registered tfjs backend current; resolves false (or throws) when it cannot initialise. */
  activate(tfjsBackend: string): Promise<boolean>;
  /** Install WebGPU (before its tfjs backend is loaded) and describe the adapter; throws when there is none. */
  openGpuAdapter(): Promise<GpuAdapterSummary>;
  /** Undo `openGpuAdapter` so the process can exit; a no-op when it was not called. */
  releaseGpu(): void;
}

/** The result of a selection: which name won, and why each earlier candidate was skipped. */
export interface BackendChoice {
  readonly name: BackendName;
  /** The tfjs backend name now active (`tensorflow`, `webgpu`, `wasm` or `cpu`). */
  readonly tfjsBackend: string;
  /** The GPU adapter, when the backend is `webgpu`. */
  readonly adapter?: GpuAdapterSummary;
  /** `env` when `ENGRAM_BACKEND` named it, `auto` when found by the fallback order. */
  readonly source: 'env' | 'auto';
  /** Candidates tried before the winner, with the reason each failed. */
  readonly skipped: readonly { readonly name: BackendName; readonly reason: string }[];
}

/**
 * Parse an `ENGRAM_BACKEND` value. Empty or undefined means "choose automatically" and returns undefined;
 * anything else that is not a known name throws, naming the variable and the value.
 */
export function parseBackendName(value: string | undefined): BackendName | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim().toLowerCase();
  if (trimmed === '') return undefined;
  const match = BACKEND_NAMES.find((name) => name === trimmed);
  if (match === undefined) {
    throw new Error(
      `ENGRAM_BACKEND: unknown backend ${JSON.stringify(value)}; expected one of ${BACKEND_NAMES.join(', ')}`,
    );
  }
  return match;
}

const runtimeRequire = createRequire(import.meta.url);

/** The real loader: `require` at run time, `tf.setBackend` to activate. */
export const nodeBackendLoader: BackendLoader = {
  loadPackage(packageName) {
    runtimeRequire(packageName);
  },
  async activate(tfjsBackend) {
    const ok = await tf.setBackend(tfjsBackend);
    if (ok && tfjsBackend === 'webgpu') prepareWebGpuBackend();
    if (ok && tfjsBackend === 'wasm') prepareWasmBackend();
    return ok;
  },
  openGpuAdapter: openWebGpuAdapter,
  releaseGpu: releaseWebGpu,
};

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Node's "Cannot find module" message lists the whole require stack; the first line says enough.
  return message.split('\n')[0];
}

type Attempt = { readonly ok: true; readonly adapter?: GpuAdapterSummary } | { readonly ok: false; reason: string };

/** Load a backend's package and make it current. */
async function loadAndActivate(name: BackendName, loader: BackendLoader): Promise<string | undefined> {
  const spec = BACKEND_SPECS[name];
  if (spec.packageName !== undefined) {
    try {
      loader.loadPackage(spec.packageName);
    } catch (error) {
      return `${spec.packageName} could not be loaded: ${describeError(error)}`;
    }
  }
  try {
    const ok = await loader.activate(spec.tfjsBackend);
    if (!ok) return `tfjs backend '${spec.tfjsBackend}' failed to initialise`;
  } catch (error) {
    return `tfjs backend '${spec.tfjsBackend}' failed to initialise: ${describeError(error)}`;
  }
  return undefined;
}

/** WebGPU: an adapter first (a software one only when named), then the tfjs backend; released on failure. */
async function tryWebGpu(loader: BackendLoader, named: boolean): Promise<Attempt> {
  let adapter: GpuAdapterSummary;
  try {
    adapter = await loader.openGpuAdapter();
  } catch (error) {
    loader.releaseGpu();
    return { ok: false, reason: `no WebGPU adapter: ${describeError(error)}` };
  }
  if (adapter.software && !named) {
    loader.releaseGpu();
    return {
      ok: false,
      reason: `the WebGPU adapter is a software one (${describeAdapter(adapter)}); set ENGRAM_BACKEND=webgpu to use it`,
    };
  }
  const reason = await loadAndActivate('webgpu', loader);
  if (reason !== undefined) {
    loader.releaseGpu();
    return { ok: false, reason };
  }
  return { ok: true, adapter };
}

/** Try one backend; `named` when ENGRAM_BACKEND asked for it. */
async function tryBackend(name: BackendName, loader: BackendLoader, named: boolean): Promise<Attempt> {
  if (name === 'webgpu') return tryWebGpu(loader, named);
  const reason = await loadAndActivate(name, loader);
  return reason === undefined ? { ok: true } : { ok: false, reason };
}

function adapterSuffix(adapter: GpuAdapterSummary | undefined): string {
  return adapter === undefined ? '' : `; adapter: ${describeAdapter(adapter)}`;
}

/**
 * Choose and activate a backend without caching (the testable core of `selectBackend`). A backend named in
 * `env.ENGRAM_BACKEND` that cannot load throws an error saying why; there is no silent fallback from a name.
 */
export async function chooseBackend(
  options: {
    env?: Readonly<Record<string, string | undefined>>;
    loader?: BackendLoader;
    log?: (line: string) => void;
  } = {},
): Promise<BackendChoice> {
  const env = options.env ?? process.env;
  const loader = options.loader ?? nodeBackendLoader;
  const log = options.log ?? ((line: string) => console.log(line));
  const requested = parseBackendName(env.ENGRAM_BACKEND);

  if (requested !== undefined) {
    const attempt = await tryBackend(requested, loader, true);
    if (!attempt.ok) {
      throw new Error(`ENGRAM_BACKEND=${requested}: ${attempt.reason}`);
    }
    const choice: BackendChoice = {
      name: requested,
      tfjsBackend: BACKEND_SPECS[requested].tfjsBackend,
      source: 'env',
      skipped: [],
      ...(attempt.adapter === undefined ? {} : { adapter: attempt.adapter }),
    };
    log(`[engram] tfjs backend: ${requested} (from ENGRAM_BACKEND)${adapterSuffix(attempt.adapter)}`);
    return choice;
  }

  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of FALLBACK_ORDER) {
    const attempt = await tryBackend(name, loader, false);
    if (attempt.ok) {
      const tried = skipped.length === 0 ? '' : ` (skipped ${skipped.map((s) => s.name).join(', ')})`;
      log(`[engram] tfjs backend: ${name}${tried}${adapterSuffix(attempt.adapter)}`);
      return {
        name,
        tfjsBackend: BACKEND_SPECS[name].tfjsBackend,
        source: 'auto',
        skipped,
        ...(attempt.adapter === undefined ? {} : { adapter: attempt.adapter }),
      };
    }
    skipped.push({ name, reason: attempt.reason });
  }
  throw new Error(`no tfjs backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

let selection: Promise<BackendChoice> | undefined;

/**
 * Pick the process's tfjs backend once (later calls return the first result) and log the choice.
 * @example
 * const { name } = await selectBackend(); // 'wasm' on a machine without tfjs-node
 */
export function selectBackend(): Promise<BackendChoice> {
  if (selection === undefined) {
    selection = chooseBackend();
    // A failed selection must not be cached forever: let the caller fix the environment and retry.
    selection.catch(() => {
      selection = undefined;
    });
  }
  return selection;
}

/**
 * Let the process exit: releases WebGPU's hold on the event loop (a no-op for the other backends). Call once, when
 * the process's tensor work is done; a later `selectBackend()` chooses afresh.
 */
export function releaseBackend(): void {
  selection = undefined;
  nodeBackendLoader.releaseGpu();
}
