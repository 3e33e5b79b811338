/**
 * Which worker failures are the machine running out of memory. A worker's `resourceLimits` cap only its V8 heap;
 * the engine's tensors live in wasm memory or typed arrays outside it, and those fail differently: the wasm
 * backend's allocator aborts (emscripten throws `RuntimeError: Aborted(). Build with -sASSERTIONS…` when its heap
 * cannot grow past 4 GB or the OS refuses), a typed array's buffer cannot be allocated (`RangeError: Array buffer
 * allocation failed`, or a length past the engine's limit), and the V8 heap limit ends the worker with
 * `ERR_WORKER_OUT_OF_MEMORY`.
 */

/** What the worker reported: the error its 'error' event carried, or a 'fatal' message's fields. */
export interface WorkerFailure {
  name?: string;
  code?: string;
  message: string;
  stack?: string;
}

const OUT_OF_MEMORY_PATTERNS: readonly RegExp[] = [
  // emscripten's abort(): the wasm backend's malloc failed (the only abort its kernels reach at run time).
  /^(?:RuntimeError: )?Aborted\(/,
  /Array buffer allocation failed/,
  /Invalid typed array length/,
  /Invalid array buffer length/,
  /WebAssembly\.Memory\.grow\(\)/,
  /Cannot enlarge memory|Out of memory|out of memory/,
];

/** Whether a worker failure is an out-of-memory (so the run fails with reason `out_of_memory`). */
export function isOutOfMemory(failure: WorkerFailure): boolean {
  if (failure.code === 'ERR_WORKER_OUT_OF_MEMORY') return true;
  const firstStackLine = failure.stack?.split('\n', 1)[0] ?? '';
  return OUT_OF_MEMORY_PATTERNS.some((pattern) => pattern.test(failure.message) || pattern.test(firstStackLine));
}
