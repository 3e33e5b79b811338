/**
 * Loading the engine's committed WebAssembly SIMD modules (the dense memory step's `link-pass-wasm.ts` and
 * `memory-rows-wasm.ts`, the controller's `lstm-cell-wasm.ts`): each thread
 * instantiates a module once from its base64 bytes and checks that it exports its memory and the named functions.
 * Where WebAssembly SIMD is unavailable the caller gets null (and one warning) and keeps its JavaScript loops.
 */

/** Bytes in one page of WebAssembly memory (what `memory.grow` counts in). */
const WASM_PAGE_BYTES = 65_536;

/** Grow `memory` to hold `floats` float32 values; false when it cannot (past WebAssembly's 4 GiB). */
export function growMemoryTo(memory: WebAssembly.Memory, floats: number): boolean {
  const bytes = 4 * floats;
  const have = memory.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
    return true;
  } catch {
    return false;
  }
}

/** Whether every array is float32: the SIMD modules compute in float32, so float64 steps keep the JS loops. */
export function allFloat32(arrays: readonly (Float32Array | Float64Array)[]): boolean {
  return arrays.every((array) => array instanceof Float32Array);
}

/** Consecutive regions of the heap, in floats: `take(n)` returns where the next n floats start. */
export function regions(): (floats: number) => number {
  let next = 0;
  return (floats) => {
    const at = next;
    // Keep every region 16-byte aligned, so whole vectors of aligned rows load aligned.
    next += Math.ceil(floats / 4) * 4;
    return at;
  };
}

/** A module's exports: its memory, and functions taking and returning numbers. */
export type SimdModuleExports<F extends string> = { readonly memory: WebAssembly.Memory } & Record<
  F,
  (...args: number[]) => number | undefined
>;

/**
 * Instantiate a module, or null with a warning that says what keeps running in JavaScript instead.
 * @param base64 the module's bytes
 * @param functions the functions it must export
 * @param what what runs in JavaScript when it cannot load, for the warning ("the dense link pass")
 */
export function instantiateSimdModule<F extends string>(
  base64: string,
  functions: readonly F[],
  what: string,
): SimdModuleExports<F> | null {
  try {
    const module = new WebAssembly.Module(Buffer.from(base64, 'base64'));
    const { exports } = new WebAssembly.Instance(module);
    if (
      !(exports.memory instanceof WebAssembly.Memory) ||
      functions.some((name) => typeof exports[name] !== 'function')
    ) {
      throw new Error(`the module lacks memory or one of ${functions.join(', ')}`);
    }
    return exports as unknown as SimdModuleExports<F>;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.warn(`[engram] WebAssembly SIMD is unavailable (${reason}); ${what} runs in JavaScript`);
    return null;
  }
}

/** 'auto': SIMD where WebAssembly SIMD is available; 'off': always the JavaScript loops that define the kernel. */
export type SimdMode = 'auto' | 'off';

/**
 * A SIMD kernel's on/off switch: environment variable `variable` ('auto' or 'off'; unset means 'auto'), which `set`
 * overrides for this thread (null: the environment's again); `setter` names the setter in its errors.
 */
export function simdModeSwitch(
  variable: string,
  setter: string,
): { mode(): SimdMode; set(mode: SimdMode | null): void } {
  let override: SimdMode | null = null;
  return {
    mode() {
      if (override !== null) return override;
      const raw = process.env[variable];
      if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
      if (raw === 'off') return 'off';
      throw new Error(`${variable} must be 'auto' or 'off', got '${raw}'`);
    },
    set(mode) {
      if (mode !== null && mode !== 'auto' && mode !== 'off') {
        throw new Error(`${setter}: mode must be 'auto', 'off' or null, got '${String(mode)}'`);
      }
      override = mode;
    },
  };
}
