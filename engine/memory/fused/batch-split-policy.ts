/**
 * When the fused dense memory step splits its batch over two threads (`batch-split.ts`): the thread count
 * (`ENGRAM_KERNEL_THREADS` or a test's override), the size rule that says a split can pay at all, and the adaptive
 * record that stops splitting a step size while the second core measures slower than one thread.
 */
import { availableParallelism } from 'node:os';
import { kernelWorkerReady } from './batch-split-port';
import type { DenseStepArrays, DenseStepSizes } from './dense-step-layout';
import { linkPassSimdApplies } from './link-pass-simd';

/** Below this much work per step (`splitPays`) the hand-off costs more than it saves. */
const MIN_SPLIT_WORK = 16_384;
/** With the link pass in SIMD, below this much scalar-loop work per step (B·N·W·(R+2)). */
const MIN_SIMD_SPLIT_WORK = 65_536;

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

/** Whether this step goes to two threads: allowed, big enough, not paused by the record, and the worker is up. */
export function worthSplitting(sizes: DenseStepSizes, inputs: DenseStepArrays<Float32Array>): boolean {
  if (kernelThreads() < 2) return false;
  if (!splitPays(sizes, linkPassSimdApplies(inputs.prevLinkMatrix))) return false;
  splitCalls += 1;
  if (adaptiveSplit() && (splitRecords.get(sizesKey(sizes))?.pausedUntil ?? 0) > splitCalls) return false;
  return kernelWorkerReady();
}
