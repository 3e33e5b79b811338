/**
 * The sparse memories' visible step (Rae et al. 2016, §3.2–3.6: write weighting, erase/write, content reads, the
 * SDNC's link update, temporal weights and read-mode mix, read vectors) as ONE taped op: `tf.customGrad` over the
 * typed-array kernel of `visible-step-kernel.ts`. The plain composition (`plainVisibleStep` in `sparse-step.ts`)
 * is some hundred small tfjs kernels a step forward and backward, each paying tfjs's fixed dispatch cost (and one
 * Identity per tensor saved for the gradient); here it is one op, one split and five reshapes, and the step's
 * read-back comes from the kernel's own arrays. The gradient closure keeps typed arrays, never tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../../util/custom-gradient';
import type { VisibleStepResult, VisibleStepTensors } from './sparse-step';
import {
  type VisibleStepInputs,
  type VisibleStepOutputs,
  type VisibleStepPlan,
  type VisibleStepSizes,
  visibleStepBackward,
  visibleStepForward,
} from './visible-step-kernel';

function float32Data(tensor: tf.Tensor, what: string): Float32Array {
  const data = tensor.dataSync();
  if (!(data instanceof Float32Array))
    throw new Error(`fusedVisibleStep: ${what} is ${tensor.dtype}, expected float32`);
  return data;
}

function checkShape(what: string, tensor: tf.Tensor, expected: readonly number[]): void {
  if (tensor.shape.length !== expected.length || tensor.shape.some((size, axis) => size !== expected[axis]))
    throw new Error(`fusedVisibleStep: ${what} has shape [${tensor.shape}], expected [${expected}]`);
}

/**
 * The visible step as one differentiable op: same values (to float32 rounding) and gradients as `plainVisibleStep`.
 * Gradients reach the journal, the previous read weights and precedence and every interface part; the plan's host
 * arrays are constants. `links` (SDNC) is built only with `{ links: true }` (debug frames), off the tape.
 */
export function fusedVisibleStep(
  sizes: VisibleStepSizes,
  plan: VisibleStepPlan,
  tensors: VisibleStepTensors,
  options: { links?: boolean } = {},
): VisibleStepResult {
  const { batch: B, visible: V, cellSize: W, readHeads: R, sparseReads: K, journalRows: J } = sizes;
  const { precedenceSize: P, temporal } = sizes;
  const { controls } = tensors;
  if (temporal !== (controls.readModes !== null))
    throw new Error(
      `fusedVisibleStep: sizes.temporal is ${temporal} but readModes is ${controls.readModes === null ? 'absent' : 'present'}`,
    );
  checkShape('journal', tensors.journal, [B, J, W]);
  checkShape('prevReadWeights', tensors.prevReadWeights, [B, R, K]);
  checkShape('prevPrecedence', tensors.prevPrecedence, [B, P]);
  checkShape('interpolationGate', controls.interpolationGate, [B, 1]);
  checkShape('writeGate', controls.writeGate, [B, 1]);
  checkShape('eraseVector', controls.eraseVector, [B, W]);
  checkShape('writeVector', controls.writeVector, [B, W]);
  checkShape('readKeys', controls.readKeys, [B, R, W]);
  checkShape('readStrengths', controls.readStrengths, [B, R]);
  const inputs: tf.Tensor[] = [
    tensors.journal,
    tensors.prevReadWeights,
    controls.interpolationGate,
    controls.writeGate,
    controls.eraseVector,
    controls.writeVector,
    controls.readKeys,
    controls.readStrengths,
  ];
  if (controls.readModes !== null) {
    checkShape('readModes', controls.readModes, [B, R, 3]);
    inputs.push(tensors.prevPrecedence, controls.readModes);
  }
  // Packed output: readVectors [B,R,W] | memory [B,V,W] | writeWeights [B,V] | readWeights [B,R,V] | precedence
  // [B,V] (SDNC). Small on purpose: on wasm every part split off it copies the whole buffer out of the heap.
  const blockSizes = [B * R * W, B * V * W, B * V, B * R * V, ...(temporal ? [B * V] : [])];
  const offsets = blockSizes.map((_, i) => blockSizes.slice(0, i).reduce((a, c) => a + c, 0));
  const total = blockSizes.reduce((a, c) => a + c, 0);
  let packedValues: Float32Array | undefined;
  let linkValues: Float64Array | undefined;

  const op = customGradient<tf.Tensor1D>((tensorsIn) => {
    const data = tensorsIn.map((tensor, i) => float32Data(tensor, `input ${i}`));
    const empty = new Float32Array(0);
    const kernelInputs: VisibleStepInputs = {
      journal: data[0],
      prevReadWeights: data[1],
      interpolationGate: data[2],
      writeGate: data[3],
      eraseVector: data[4],
      writeVector: data[5],
      readKeys: data[6],
      readStrengths: data[7],
      prevPrecedence: data[8] ?? empty,
      readModes: data[9] ?? empty,
    };
    const tape = visibleStepForward(sizes, plan, kernelInputs);
    const { outputs } = tape;
    const packed = new Float32Array(total);
    const blocks = [outputs.readVectors, outputs.memory, outputs.writeWeights, outputs.readWeights, outputs.precedence];
    blockSizes.forEach((_, i) => packed.set(blocks[i], offsets[i]));
    packedValues = packed;
    linkValues = outputs.links;
    return {
      value: tf.tensor1d(packed),
      gradFunc: (dy: tf.Tensor) => {
        const upstream = float32Data(dy, 'the packed output gradient');
        const block = (i: number) => upstream.subarray(offsets[i], offsets[i] + blockSizes[i]);
        const outputGradients: VisibleStepOutputs<Float32Array> = {
          readVectors: block(0),
          memory: block(1),
          writeWeights: block(2),
          readWeights: block(3),
          precedence: temporal ? block(4) : new Float32Array(0),
          // Links leave the op only as a debug constant: no gradient comes back through them (empty = zero).
          links: new Float32Array(0),
        };
        const gradients = visibleStepBackward(tape, outputGradients);
        const ordered = [
          gradients.journal,
          gradients.prevReadWeights,
          gradients.interpolationGate,
          gradients.writeGate,
          gradients.eraseVector,
          gradients.writeVector,
          gradients.readKeys,
          gradients.readStrengths,
          gradients.prevPrecedence,
          gradients.readModes,
        ];
        return tensorsIn.map((tensor, i) => tf.tensor(ordered[i], tensor.shape));
      },
    };
  });

  const packedTensor = op(...inputs);
  const parts = tf.split(packedTensor, blockSizes, 0);
  const packed = packedValues;
  const links = linkValues;
  packedValues = undefined;
  linkValues = undefined;
  if (packed === undefined || links === undefined) throw new Error('fusedVisibleStep: the kernel did not run');
  const memory = tf.reshape<tf.Rank.R3>(parts[1], [B, V, W]);
  const slice = (i: number) => packed.subarray(offsets[i], offsets[i] + blockSizes[i]);
  return {
    readVectors: tf.reshape(parts[0], [B, R, W]),
    memory,
    writeWeights: tf.reshape(parts[2], [B, V]),
    readWeights: tf.reshape(parts[3], [B, R, V]),
    precedence: temporal ? tf.reshape(parts[4], [B, V]) : null,
    links: temporal && options.links === true ? tf.tensor3d(Float32Array.from(links), [B, V, V]) : null,
    values: { memory: slice(1), write: slice(2), read: slice(3) },
  };
}
