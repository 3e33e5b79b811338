/**
 * Debug frames of training iterations: what the DNC's memory did (Graves et al. 2016, "Methods": memory,
 * linkage, weightings, usage) for batch element 0, plus the task's input, target and output `[time, channel]`.
 *
 * The trained model runs without debug recording. Only for captured iterations does a twin built with `debug`
 * (created on first use) take the current weights — a device-side `assign`, no readout — and re-run batch
 * element 0, so ordinary iterations pay nothing for the dashboard. The memory's debug series and the task's
 * sequences are read back together in ONE asynchronous transfer (a device backend never blocks on it).
 */
import * as tf from '@tensorflow/tfjs';
import type { DNC } from '../dnc';
import { hiddenTensors } from '../dnc-hidden';
import { frameTensor, type DebugFrame } from '../frames';
import type { Task, TaskBatch } from '../tasks/index';
import { buildModel } from './model-factory';
import type { TrainConfig } from './types';

export class FrameCapture {
  private twin: DNC | undefined;

  constructor(
    private readonly config: Readonly<TrainConfig>,
    private readonly task: Task,
  ) {}

  /** Re-run batch element 0 on the debug twin (weights copied on the device) and build the frame. */
  async capture(model: DNC, batch: TaskBatch, input: tf.Tensor3D, target: tf.Tensor3D): Promise<DebugFrame> {
    if (this.twin === undefined) this.twin = buildModel(this.config, this.task, true);
    const twin = this.twin;
    for (const [name, variable] of model.variables) {
      const copy = twin.variables.get(name);
      if (copy === undefined) throw new Error(`FrameCapture.capture: debug model has no parameter '${name}'`);
      copy.assign(variable);
    }
    const { timesteps, inputSize, outputSize } = batch;
    const first = tf.tidy(() => tf.slice(input, [0, 0, 0], [1, timesteps, inputSize]));
    const result = twin.forward(first, undefined, { resetExperience: true, deferDebugReadout: true });
    const memorySeries = result.pendingDebug;
    const memoryValues = memorySeries?.values.size ?? 0;
    const packed = tf.tidy(() =>
      tf.concat([
        ...(memorySeries === undefined ? [] : [memorySeries.values]),
        tf.reshape(first, [-1]),
        tf.reshape(tf.slice(target, [0, 0, 0], [1, timesteps, outputSize]), [-1]),
        tf.reshape(this.task.activate(result.output), [-1]),
      ]),
    );
    tf.dispose([first, result.output, ...hiddenTensors(result.hidden)]);
    memorySeries?.values.dispose();
    let all: Float32Array;
    try {
      all = (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
    const memoryFrame = memorySeries?.resolve(all.subarray(0, memoryValues));
    const data = all.subarray(memoryValues);
    const inputEnd = timesteps * inputSize;
    const targetEnd = inputEnd + timesteps * outputSize;
    const axes = ['time', 'channel'];
    return {
      timesteps,
      tensors: [
        ...(memoryFrame?.tensors ?? []),
        frameTensor('input', [timesteps, inputSize], axes, data.slice(0, inputEnd), {
          description: 'task input, batch element 0',
        }),
        frameTensor('target', [timesteps, outputSize], axes, data.slice(inputEnd, targetEnd), {
          description: 'task target, batch element 0',
        }),
        frameTensor('output', [timesteps, outputSize], axes, data.slice(targetEnd), {
          description: `model output after the task's output nonlinearity, batch element 0`,
        }),
      ],
    };
  }

  dispose(): void {
    this.twin?.dispose();
    this.twin = undefined;
  }
}
