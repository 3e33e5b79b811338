/**
 * The plumbing to the fused dense memory step's helper worker thread (`kernel-worker.ts`): the job and reply
 * messages, the shared control array the worker counts its replies in, starting and stopping the worker, and the
 * blocking call that posts a job and waits on `Atomics.wait` for its answer.
 */
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { DenseStepSizes } from './dense-step-layout';
import type { DenseStepSimdMode } from './link-pass-simd';

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

/** A started helper worker: its thread, the port its replies arrive on, the control array, and whether it failed. */
export interface KernelWorker {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly control: Int32Array;
  failed: boolean;
}

let helper: KernelWorker | null = null;

/** The helper worker if one has been started (and not stopped); it may have failed since. */
export function currentKernelWorker(): KernelWorker | null {
  return helper;
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

/** Post a job and wait for its reply; null when the worker is gone (the caller then does the job itself). */
export function callWorker(worker: KernelWorker, job: KernelJob, sent: () => void): KernelReply | null {
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
