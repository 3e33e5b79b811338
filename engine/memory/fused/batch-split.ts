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
import {
  acquireBuffer,
  copyInputs,
  backwardArenaBytes,
  backwardJobViews,
  forwardArenaBytes,
  forwardJobViews,
  movePackedRows,
  releaseBuffer,
  rowViews,
  sharedArray,
  tapeArenaBytes,
  tapeArenaViews,
} from './batch-split-arena';
import { recordSplit, worthSplitting } from './batch-split-policy';
import { callWorker, currentKernelWorker, type KernelReply } from './batch-split-port';
import { denseStepForward } from './dense-step-kernel';
import { denseStepBackward } from './dense-step-kernel-backward';
import { type DenseStepArrays, type DenseStepSizes, densePackedLayout } from './dense-step-layout';
import type { DenseStepTape } from './dense-step-tape';
import { denseStepSimdMode } from './link-pass-simd';

/** One fused step's forward, done; what the backward and the debug read-out need from it. */
export interface DenseKernelRun {
  /** The tape whose first row is batch row 0 (the debug read-out reads offset 0). */
  readonly firstRowsTape: DenseStepTape;
  /** dLoss/d(input) for every input into `gradients` (overwritten), from dLoss/d(packed output). */
  backward(packedGradient: Float32Array, gradients: DenseStepArrays<Float32Array>): void;
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
  // worthSplitting starts the helper worker on first use, so it is read after.
  const worker = worthSplitting(sizes, inputs) ? currentKernelWorker() : null;
  if (worker === null) return oneThread(sizes, inputs, packed);
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
      const live = reply?.ok === true && currentKernelWorker() === worker && !worker.failed;
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
