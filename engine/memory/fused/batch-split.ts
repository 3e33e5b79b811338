/**
 * The fused dense memory step on two cores: batch rows [0, split) on the calling thread and [split, batch) on one
 * helper worker thread (`kernel-worker.ts`), each running the same `denseStepForward` / `denseStepBackward` over its
 * own rows. Batch rows never interact in a memory step, and each row's arithmetic is the same whichever thread does
 * it, so the result is bit-for-bit the one-thread result (`batch-split.test.ts`).
 *
 * The step is a synchronous tfjs kernel, so the calling thread hands the worker its rows (copied into a
 * SharedArrayBuffer for the forward and again for the backward, so that nothing but the caller's own arrays is held
 * between the two), computes its own, then blocks on `Atomics.wait` until the worker's reply is on the port. The
 * worker starts on the first step that is worth splitting and takes over once it has loaded; until then, and after
 * it fails, every step runs on the calling thread. `ENGRAM_KERNEL_THREADS=1` keeps it there always.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { denseStepForward, denseStepTapeBytes, type DenseStepTape, tapeOnBuffer } from './dense-step-kernel';
import { denseStepBackward } from './dense-step-kernel-backward';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepArrays,
  denseStepInputShapes,
  densePackedLayout,
  type DenseStepArrays,
  type DenseStepSizes,
} from './dense-step-layout';
import { type DenseStepSimdMode, denseStepSimdMode, linkPassSimdApplies } from './link-pass-simd';

/** One fused step's forward, done; what the backward and the debug read-out need from it. */
export interface DenseKernelRun {
  /** The tape whose first row is batch row 0 (the debug read-out reads offset 0). */
  readonly firstRowsTape: DenseStepTape;
  /** dLoss/d(input) for every input into `gradients` (overwritten), from dLoss/d(packed output). */
  backward(packedGradient: Float32Array, gradients: DenseStepArrays<Float32Array>): void;
}

/** Below this much work per step (`splitPays`) the hand-off costs more than it saves. */
const MIN_SPLIT_WORK = 16_384;
/** With the link pass in SIMD, below this much scalar-loop work per step (B·N·W·(R+2)). */
const MIN_SIMD_SPLIT_WORK = 65_536;
/** A worker reply slower than this means the worker is lost: the step finishes on the calling thread. */
const REPLY_TIMEOUT_MS = 600_000;

/**
 * Messages to the worker. Each carries its arrays as one SharedArrayBuffer (`arena`), laid out by
 * `forwardJobViews` / `backwardJobViews`, plus the worker's tape arena (`tapeArenaViews`), which the worker fills in
 * the forward and reads in the backward: posting one buffer costs a fraction of posting ~20 views, and the tape
 * never crosses the port. `simd` is the calling thread's link-pass mode, so that both halves of a step take the
 * same path.
 */
export interface KernelJob {
  readonly op: 'forward' | 'backward';
  readonly simd: DenseStepSimdMode;
  readonly sizes: DenseStepSizes;
  readonly arena: SharedArrayBuffer;
  readonly tapeArena: SharedArrayBuffer;
}

/** The worker's reply to each job, in order. */
export type KernelReply = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** Slots of the shared control array: replies sent so far, and 1 once the worker has loaded the kernel. */
export const REPLIES_SLOT = 0;
export const READY_SLOT = 1;

interface KernelWorker {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly control: Int32Array;
  failed: boolean;
}

let helper: KernelWorker | null = null;
let threadsOverride: number | null = null;

/** Threads the fused step may use: `ENGRAM_KERNEL_THREADS` (1 or 2), else 2 where the machine has two cores. */
export function kernelThreads(): number {
  if (threadsOverride !== null) return threadsOverride;
  const raw = process.env.ENGRAM_KERNEL_THREADS;
  if (raw === undefined || raw === '') return availableParallelism() >= 2 ? 2 : 1;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`ENGRAM_KERNEL_THREADS must be a whole number ≥ 1, got '${raw}'`);
  }
  return Math.min(value, 2);
}

/** Tests and benchmarks: force the thread count (`null` returns to the environment's). */
export function setKernelThreads(threads: number | null): void {
  if (threads !== null && threads !== 1 && threads !== 2) {
    throw new Error(`setKernelThreads: threads must be 1, 2 or null, got ${threads}`);
  }
  threadsOverride = threads;
}

function startWorker(): KernelWorker {
  const control = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(join(__dirname, 'kernel-worker.mjs'), {
    workerData: { port: port2, control },
    transferList: [port2],
  });
  worker.unref();
  const started: KernelWorker = { worker, port: port1, control, failed: false };
  const fail = (reason: string) => {
    if (started.failed) return;
    started.failed = true;
    console.warn(`[engram] the fused memory step's second thread stopped (${reason}); it runs on one thread now`);
  };
  worker.on('error', (error) => fail(error.message));
  worker.on('exit', (code) => fail(`exit ${code}`));
  return started;
}

/** The helper worker, started on first use; `block` waits until it has loaded (tests, benchmarks). */
export function kernelWorkerReady(block = false, timeoutMs = 60_000): boolean {
  helper ??= startWorker();
  if (block && Atomics.load(helper.control, READY_SLOT) === 0) {
    Atomics.wait(helper.control, READY_SLOT, 0, timeoutMs);
  }
  return !helper.failed && Atomics.load(helper.control, READY_SLOT) === 1;
}

/** Jobs the helper worker has answered since it started (tests: to know a step really was split). */
export function kernelWorkerReplies(): number {
  return helper === null ? 0 : Atomics.load(helper.control, REPLIES_SLOT);
}

/** Stop the helper worker (tests); the next step that is worth splitting starts a new one. */
export async function stopKernelWorker(): Promise<void> {
  const stopping = helper;
  helper = null;
  if (stopping !== null) {
    stopping.failed = true;
    stopping.port.close();
    await stopping.worker.terminate();
  }
}

/**
 * Whether handing half the rows to the worker beats one thread, for a step of these sizes. The split halves the
 * scalar loops (content addressing, erase/write, reads: B·N·W·(R+2)) and the link pass (B·N²), but copies every
 * input and output row, the N×N links included. With the link pass in JavaScript the split pays from a small
 * size on; with it in SIMD (`link-pass-simd.ts`) the link pass is cheap and its copies are what is left, so the
 * split pays only where the scalar loops dominate: W·(R+2) ≥ N and enough of them. Measured on a quiet 2-core
 * machine (one sitting, alternating): the copy task (B 100, N 16, W 20, R 4) 11.2–11.4 → 12.0–12.5 it/s with the
 * split; B 8, W 32, R 1 at N 64 / 256 / 1024 48–53 → 61–67 ms, 156–177 → 171–187 ms, 2.20–2.23 → 2.35–2.39 s (and
 * 1.51–1.55 → 1.65–1.66 GB RSS) against it.
 */
export function splitPays(sizes: DenseStepSizes, simdLinkPass: boolean): boolean {
  const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  if (batch < 2) return false;
  const loopWork = batch * cells * width * (heads + 2);
  if (!simdLinkPass) return loopWork + batch * cells * cells >= MIN_SPLIT_WORK;
  return width * (heads + 2) >= cells && loopWork >= MIN_SIMD_SPLIT_WORK;
}

/**
 * Whether the split has been measuring faster than one thread, per step size: only in the default mode (neither
 * `ENGRAM_KERNEL_THREADS` nor `setKernelThreads` set). The second core is not always free — another process, a
 * second training run — and then handing it half the rows makes a step slower, not faster. Each split call is
 * timed against its own half scaled to the whole batch (what one thread would have taken); when the running mean of
 * that ratio stays above 1 for `SPLIT_PROBE_CALLS` calls, the step runs on one thread for `SPLIT_PAUSE_CALLS` calls,
 * then the split is tried again. The numbers are the same either way, bit for bit.
 */
interface SplitRecord {
  /** Exponential mean of (split wall time) / (own half's wall time × batch / own rows). */
  ratio: number;
  samples: number;
  /** `splitCalls` value before which this size stays on one thread. */
  pausedUntil: number;
}

const SPLIT_PROBE_CALLS = 8;
const SPLIT_PAUSE_CALLS = 400;
const SPLIT_RATIO_WEIGHT = 0.25;
const splitRecords = new Map<string, SplitRecord>();
let splitCalls = 0;

function sizesKey(sizes: DenseStepSizes): string {
  return `${sizes.batch},${sizes.memorySize},${sizes.cellSize},${sizes.readHeads}`;
}

/** Whether the thread count comes from the default (adaptive) rather than from a setting. */
function adaptiveSplit(): boolean {
  const raw = process.env.ENGRAM_KERNEL_THREADS;
  return threadsOverride === null && (raw === undefined || raw === '');
}

/**
 * Record one split call: `totalMs` for the whole step, `ownMs` for the calling thread's `ownRows` rows. Exported
 * for tests, which feed it synthetic timings.
 */
export function recordSplit(sizes: DenseStepSizes, totalMs: number, ownMs: number, ownRows: number): void {
  if (!adaptiveSplit() || ownMs <= 0) return;
  const key = sizesKey(sizes);
  const record = splitRecords.get(key) ?? { ratio: 1, samples: 0, pausedUntil: 0 };
  const sample = totalMs / ((ownMs * sizes.batch) / ownRows);
  record.ratio = record.samples === 0 ? sample : record.ratio + SPLIT_RATIO_WEIGHT * (sample - record.ratio);
  record.samples += 1;
  if (record.samples >= SPLIT_PROBE_CALLS && record.ratio > 1) {
    record.pausedUntil = splitCalls + SPLIT_PAUSE_CALLS;
    record.samples = 0;
  }
  splitRecords.set(key, record);
}

/** Test hook: how the adaptive split stands for these sizes (undefined before any split call). */
export function splitRecord(sizes: DenseStepSizes): Readonly<SplitRecord> | undefined {
  return splitRecords.get(sizesKey(sizes));
}

/** Test hook: forget every measurement. */
export function resetSplitRecords(): void {
  splitRecords.clear();
  splitCalls = 0;
}

function worthSplitting(sizes: DenseStepSizes, inputs: DenseStepArrays<Float32Array>): boolean {
  if (kernelThreads() < 2) return false;
  if (!splitPays(sizes, linkPassSimdApplies(inputs.prevLinkMatrix))) return false;
  splitCalls += 1;
  if (adaptiveSplit() && (splitRecords.get(sizesKey(sizes))?.pausedUntil ?? 0) > splitCalls) return false;
  return kernelWorkerReady();
}

/** Post a job and wait for its reply; null when the worker is gone (the caller then does the job itself). */
function callWorker(worker: KernelWorker, job: KernelJob, sent: () => void): KernelReply | null {
  const seen = Atomics.load(worker.control, REPLIES_SLOT);
  worker.worker.postMessage(job);
  sent();
  const deadline = Date.now() + REPLY_TIMEOUT_MS;
  for (;;) {
    const received = receiveMessageOnPort(worker.port);
    if (received !== undefined) return received.message as KernelReply;
    if (worker.failed) return null;
    const left = deadline - Date.now();
    if (left <= 0) {
      worker.failed = true;
      void worker.worker.terminate();
      console.warn("[engram] the fused memory step's second thread did not answer; it runs on one thread now");
      return null;
    }
    // Wakes when the worker counts a reply (or every 100 ms to notice a worker that died).
    Atomics.wait(worker.control, REPLIES_SLOT, seen, Math.min(left, 100));
  }
}

/**
 * Shared buffers kept for reuse: a step allocates the same sizes every time, and fresh SharedArrayBuffers of
 * megabytes each step cost page faults and push V8 into collections. Idle buffers are capped at POOL_BYTES.
 */
const POOL_BYTES = 256 * 1024 * 1024;
const idleBuffers = new Map<number, SharedArrayBuffer[]>();
let idleBytes = 0;

function acquireBuffer(bytes: number): SharedArrayBuffer {
  const idle = idleBuffers.get(bytes);
  const reused = idle?.pop();
  if (reused !== undefined) {
    idleBytes -= bytes;
    return reused;
  }
  return new SharedArrayBuffer(bytes);
}

function releaseBuffer(buffer: SharedArrayBuffer): void {
  if (idleBytes + buffer.byteLength > POOL_BYTES) return;
  const idle = idleBuffers.get(buffer.byteLength) ?? [];
  idle.push(buffer);
  idleBuffers.set(buffer.byteLength, idle);
  idleBytes += buffer.byteLength;
}

/** Each input's rows [start, end) as views on the same arrays. */
function rowViews(
  sizes: DenseStepSizes,
  inputs: DenseStepArrays<Float32Array>,
  start: number,
  end: number,
): DenseStepArrays<Float32Array> {
  const shapes = denseStepInputShapes(sizes);
  return denseStepArrays(
    DENSE_STEP_INPUT_NAMES.map((name) => {
      const rowSize = shapes[name].reduce((a, b) => a * b, 1);
      return inputs[name].subarray(start * rowSize, end * rowSize);
    }),
  );
}

function sharedArray(length: number): Float32Array<SharedArrayBuffer> {
  return new Float32Array(acquireBuffer(4 * length));
}

/** Sixteen input arrays of `sizes.batch` rows as consecutive views on `arena` from element `start`. */
function inputViews(sizes: DenseStepSizes, arena: SharedArrayBuffer, start: number): DenseStepArrays<Float32Array> {
  const shapes = denseStepInputShapes(sizes);
  let at = start;
  return denseStepArrays(
    DENSE_STEP_INPUT_NAMES.map((name) => {
      const length = sizes.batch * shapes[name].reduce((a, b) => a * b, 1);
      const view = new Float32Array(arena, 4 * at, length);
      at += length;
      return view;
    }),
  );
}

/** Elements of the sixteen inputs of a step of these sizes. */
function inputElements(sizes: DenseStepSizes): number {
  const shapes = denseStepInputShapes(sizes);
  return DENSE_STEP_INPUT_NAMES.reduce((sum, name) => sum + sizes.batch * shapes[name].reduce((a, b) => a * b, 1), 0);
}

/** A forward job's arena: the rows' inputs, then their packed output. */
export function forwardJobViews(
  sizes: DenseStepSizes,
  arena: SharedArrayBuffer,
): { inputs: DenseStepArrays<Float32Array>; packed: Float32Array } {
  const inputCount = inputElements(sizes);
  return {
    inputs: inputViews(sizes, arena, 0),
    packed: new Float32Array(arena, 4 * inputCount, densePackedLayout(sizes).size),
  };
}

/** A backward job's arena: the rows' inputs, the packed output's gradient, then the input gradients. */
export function backwardJobViews(
  sizes: DenseStepSizes,
  arena: SharedArrayBuffer,
): {
  inputs: DenseStepArrays<Float32Array>;
  packedGradient: Float32Array;
  gradients: DenseStepArrays<Float32Array>;
} {
  const inputCount = inputElements(sizes);
  const packedSize = densePackedLayout(sizes).size;
  return {
    inputs: inputViews(sizes, arena, 0),
    packedGradient: new Float32Array(arena, 4 * inputCount, packedSize),
    gradients: inputViews(sizes, arena, inputCount + packedSize),
  };
}

/**
 * The worker's tape arena: the tape (`tapeOnBuffer`), then the small outputs the backward reads (the packed output
 * before the link matrix), which the worker copies there at the end of its forward.
 */
export function tapeArenaViews(
  sizes: DenseStepSizes,
  arena: SharedArrayBuffer,
): { tape: DenseStepTape; smallOutputs: Float32Array } {
  const tapeBytes = denseStepTapeBytes(sizes);
  return {
    tape: tapeOnBuffer(sizes, arena, 0),
    smallOutputs: new Float32Array(arena, tapeBytes, densePackedLayout(sizes).linkMatrix),
  };
}

function forwardArenaBytes(sizes: DenseStepSizes): number {
  return 4 * (inputElements(sizes) + densePackedLayout(sizes).size);
}

function backwardArenaBytes(sizes: DenseStepSizes): number {
  return 4 * (2 * inputElements(sizes) + densePackedLayout(sizes).size);
}

function tapeArenaBytes(sizes: DenseStepSizes): number {
  // The tape's byte size is a multiple of 4; round up to 8 so pooled buffers of the same size class match.
  const bytes = denseStepTapeBytes(sizes) + 4 * densePackedLayout(sizes).linkMatrix;
  return Math.ceil(bytes / 8) * 8;
}

function copyInputs(target: DenseStepArrays<Float32Array>, source: DenseStepArrays<Float32Array>): void {
  for (const name of DENSE_STEP_INPUT_NAMES) target[name].set(source[name]);
}

/**
 * Copy between a packed array of the whole batch and a packed array of its rows [start, start + part.batch):
 * `toWhole` writes the part into the whole, else the whole's rows into the part.
 */
function movePackedRows(
  sizes: DenseStepSizes,
  whole: Float32Array,
  part: Float32Array,
  partBatch: number,
  start: number,
  toWhole: boolean,
): void {
  let wholeAt = 0;
  let partAt = 0;
  for (const { rowSize } of densePackedLayout(sizes).blocks) {
    const wholeRows = wholeAt + start * rowSize;
    const length = partBatch * rowSize;
    if (toWhole) whole.set(part.subarray(partAt, partAt + length), wholeRows);
    else part.set(whole.subarray(wholeRows, wholeRows + length), partAt);
    wholeAt += sizes.batch * rowSize;
    partAt += length;
  }
}

function oneThread(sizes: DenseStepSizes, inputs: DenseStepArrays<Float32Array>, packed: Float32Array): DenseKernelRun {
  const tape = denseStepForward(sizes, inputs, packed);
  // The backward reads the small outputs only (it recomputes the link matrix): keep a copy of those, not the
  // whole output, alive for back-propagation through time.
  const smallOutputs = packed.slice(0, densePackedLayout(sizes).linkMatrix);
  return {
    firstRowsTape: tape,
    backward: (packedGradient, gradients) =>
      denseStepBackward(sizes, inputs, smallOutputs, tape, packedGradient, gradients),
  };
}

/**
 * One fused dense step: `packed` (the whole batch's output, `densePackedLayout(sizes)`) is filled on return. On two
 * threads when the step is big enough and the helper worker is up; the same numbers either way. The returned
 * `backward` may run once.
 * @param inputs row-major `[batch, …]` arrays (see `DenseStepArrays`); not changed
 */
export function runDenseStep(
  sizes: DenseStepSizes,
  inputs: DenseStepArrays<Float32Array>,
  packed: Float32Array,
): DenseKernelRun {
  if (!worthSplitting(sizes, inputs) || helper === null) return oneThread(sizes, inputs, packed);
  const worker = helper;
  const split = Math.floor(sizes.batch / 2);
  const ownSizes: DenseStepSizes = { ...sizes, batch: split };
  const workerSizes: DenseStepSizes = { ...sizes, batch: sizes.batch - split };
  const ownLayout = densePackedLayout(ownSizes);
  const workerLayout = densePackedLayout(workerSizes);
  // The worker's rows are copied into a shared buffer for the forward, and again for the backward: between the
  // two, the caller's arrays (which the caller keeps unchanged for the backward anyway) are the only copy, so
  // back-propagation through time does not hold a second copy of every step's inputs.
  const ownInputs = rowViews(sizes, inputs, 0, split);
  const workerRows = rowViews(sizes, inputs, split, sizes.batch);
  const arena = acquireBuffer(forwardArenaBytes(workerSizes));
  const tapeArena = acquireBuffer(tapeArenaBytes(workerSizes));
  const job = forwardJobViews(workerSizes, arena);
  copyInputs(job.inputs, workerRows);
  const ownPacked = sharedArray(ownLayout.size);

  let ownTape: DenseStepTape | undefined;
  const simd = denseStepSimdMode();
  let ownMs = 0;
  const started = performance.now();
  const reply = callWorker(worker, { op: 'forward', simd, sizes: workerSizes, arena, tapeArena }, () => {
    const ownStarted = performance.now();
    ownTape = denseStepForward(ownSizes, ownInputs, ownPacked);
    ownMs = performance.now() - ownStarted;
  });
  if (reply?.ok === true) recordSplit(sizes, performance.now() - started, ownMs, split);
  const firstTape = ownTape as DenseStepTape;
  let workerTape: DenseStepTape;
  let workerSmall: Float32Array;
  let workerOutput: Float32Array = job.packed;
  // A worker that failed or was given up on may still touch its buffers: they do not go back to the pool.
  let workerSettled = true;
  if (reply?.ok === true) {
    ({ tape: workerTape, smallOutputs: workerSmall } = tapeArenaViews(workerSizes, tapeArena));
  } else {
    if (reply?.ok === false) console.warn(`[engram] the fused step's second thread failed: ${reply.error}`);
    workerSettled = reply !== null;
    workerOutput = new Float32Array(workerLayout.size);
    workerTape = denseStepForward(workerSizes, workerRows, workerOutput);
    workerSmall = workerOutput.slice(0, workerLayout.linkMatrix);
  }
  movePackedRows(sizes, packed, ownPacked, split, 0, true);
  movePackedRows(sizes, packed, workerOutput, workerSizes.batch, split, true);
  const ownSmall = ownPacked.slice(0, ownLayout.linkMatrix);
  releaseBuffer(ownPacked.buffer);
  if (workerSettled) releaseBuffer(arena);

  let backwardDone = false;
  return {
    firstRowsTape: firstTape,
    backward: (packedGradient, gradients) => {
      if (backwardDone) throw new Error("runDenseStep: this step's backward already ran (its buffers are reused)");
      backwardDone = true;
      const ownGradient = sharedArray(ownLayout.size);
      movePackedRows(sizes, packedGradient, ownGradient, split, 0, false);
      const ownGradients = rowViews(sizes, gradients, 0, split);
      const target = rowViews(sizes, gradients, split, sizes.batch);
      const ownBackward = () => denseStepBackward(ownSizes, ownInputs, ownSmall, firstTape, ownGradient, ownGradients);
      const live = reply?.ok === true && helper === worker && !worker.failed;
      let answer: KernelReply | null = null;
      let backwardArena: SharedArrayBuffer | undefined;
      let workerGradient: Float32Array | undefined;
      if (live) {
        backwardArena = acquireBuffer(backwardArenaBytes(workerSizes));
        const views = backwardJobViews(workerSizes, backwardArena);
        copyInputs(views.inputs, workerRows);
        movePackedRows(sizes, packedGradient, views.packedGradient, workerSizes.batch, split, false);
        workerGradient = views.packedGradient;
        let ownBackwardMs = 0;
        const backwardStarted = performance.now();
        answer = callWorker(
          worker,
          { op: 'backward', simd, sizes: workerSizes, arena: backwardArena, tapeArena },
          () => {
            const ownStarted = performance.now();
            ownBackward();
            ownBackwardMs = performance.now() - ownStarted;
          },
        );
        if (answer?.ok === true) {
          recordSplit(sizes, performance.now() - backwardStarted, ownBackwardMs, split);
          copyInputs(target, views.gradients);
          releaseBuffer(ownGradient.buffer);
          releaseBuffer(backwardArena);
          releaseBuffer(tapeArena);
          return;
        }
      } else {
        ownBackward();
      }
      if (answer?.ok === false) console.warn(`[engram] the fused step's second thread failed: ${answer.error}`);
      if (workerGradient === undefined) {
        workerGradient = new Float32Array(workerLayout.size);
        movePackedRows(sizes, packedGradient, workerGradient, workerSizes.batch, split, false);
      }
      // The tape arena is read here, never written by a backward job, so it is whole even if the worker failed.
      denseStepBackward(workerSizes, workerRows, workerSmall, workerTape, workerGradient.slice(), target);
    },
  };
}
