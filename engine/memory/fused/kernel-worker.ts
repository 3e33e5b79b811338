/**
 * The fused dense memory step's second thread (`batch-split.ts`): runs the forward or backward of the batch rows it
 * is sent, reading and writing the job's shared arenas (its tape stays in the tape arena between the two), and
 * replies on its port, counting each reply in the shared control array so the waiting thread wakes.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { backwardJobViews, forwardJobViews, tapeArenaViews } from './batch-split-arena';
import { type KernelJob, type KernelReply, READY_SLOT, REPLIES_SLOT } from './batch-split-port';
import { denseStepForward } from './dense-step-kernel';
import { denseStepBackward } from './dense-step-kernel-backward';
import { setDenseStepSimd } from './link-pass-simd';

const { port, control } = workerData as { port: MessagePort; control: Int32Array };

function run(job: KernelJob): KernelReply {
  setDenseStepSimd(job.simd);
  const { tape, smallOutputs } = tapeArenaViews(job.sizes, job.tapeArena);
  if (job.op === 'forward') {
    const { inputs, packed } = forwardJobViews(job.sizes, job.arena);
    denseStepForward(job.sizes, inputs, packed, tape);
    smallOutputs.set(packed.subarray(0, smallOutputs.length));
    return { ok: true };
  }
  const { inputs, packedGradient, gradients } = backwardJobViews(job.sizes, job.arena);
  denseStepBackward(job.sizes, inputs, smallOutputs, tape, packedGradient, gradients);
  return { ok: true };
}

parentPort?.on('message', (job: KernelJob) => {
  let reply: KernelReply;
  try {
    reply = run(job);
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
  Atomics.add(control, REPLIES_SLOT, 1);
  Atomics.notify(control, REPLIES_SLOT);
});

Atomics.store(control, READY_SLOT, 1);
Atomics.notify(control, READY_SLOT);
