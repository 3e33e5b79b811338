/**
 * The fused dense memory step's second thread (`batch-split.ts`): runs the forward or backward of the batch rows it
 * is sent, writing outputs into the shared arrays of the job, and replies on its port, counting each reply in the
 * shared control array so the waiting thread wakes.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { READY_SLOT, REPLIES_SLOT, type KernelJob, type KernelReply } from './batch-split';
import { denseStepForward } from './dense-step-kernel';
import { denseStepBackward } from './dense-step-kernel-backward';
import { setDenseStepSimd } from './link-pass-simd';

const { port, control } = workerData as { port: MessagePort; control: Int32Array };

function run(job: KernelJob): { reply: KernelReply; transfer: ArrayBuffer[] } {
  setDenseStepSimd(job.simd);
  if (job.op === 'forward') {
    const tape = denseStepForward(job.sizes, job.inputs, job.packed);
    const buffers = new Set(Object.values(tape).map((array: ArrayBufferView) => array.buffer as ArrayBuffer));
    const transfer = [...buffers];
    return { reply: { ok: true, tape }, transfer };
  }
  denseStepBackward(job.sizes, job.inputs, job.smallOutputs, job.tape, job.packedGradient, job.gradients);
  return { reply: { ok: true }, transfer: [] };
}

parentPort?.on('message', (job: KernelJob) => {
  let answer: { reply: KernelReply; transfer: ArrayBuffer[] };
  try {
    answer = run(job);
  } catch (error) {
    answer = { reply: { ok: false, error: error instanceof Error ? error.message : String(error) }, transfer: [] };
  }
  port.postMessage(answer.reply, answer.transfer);
  Atomics.add(control, REPLIES_SLOT, 1);
  Atomics.notify(control, REPLIES_SLOT);
});

Atomics.store(control, READY_SLOT, 1);
Atomics.notify(control, READY_SLOT);
