/**
 * The sparse memories' visible step (Rae et al. 2016, §3.2–3.6: write weighting, erase/write, content reads, the
 * SDNC's link update, temporal weights and read-mode mix, read vectors) as ONE taped op: `tf.customGrad` over the
 * typed-array kernel of `visible-step-kernel.ts`. The plain composition (`plainVisibleStep` in `sparse-step.ts`)
 * is some hundred small tfjs kernels a step forward and backward, each paying tfjs's fixed dispatch cost (and one
 * Identity per tensor saved for the gradient); here it is one op, one split and five reshapes, and the step's
 * read-back comes from the kernel's own arrays. The gradient closure keeps typed arrays, never tensors.
 * `fusedVisibleStepFromRaw` also takes the interface's activations inside the op (some forty more kernels a step).
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from '../../util/custom-gradient';
import { transientValues } from '../../util/device-backend';
import { activateSparseInterfaceBackward, type SparseInterfaceArrays, sparseInterfaceSize } from './sparse-interface';
import type { VisibleStepResult, VisibleStepTensors } from './sparse-step';
import { visibleStepForward } from './visible-step-kernel';
import type { VisibleStepInputs, VisibleStepOutputs, VisibleStepPlan, VisibleStepSizes } from './visible-step-types';
import { visibleStepBackward } from './visible-step-kernel-backward';

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

/** How one op's input tensors become the kernel's inputs, and the kernel's input gradients the op's. */
interface KernelBinding {
  readonly inputs: VisibleStepInputs;
  /** One gradient array per op input, in input order. */
  readonly gradients: (kernelGradients: VisibleStepInputs) => Float32Array[];
}

/** The kernel as one taped op over `tensors`, its small packed output split back into the step's tensors. */
function visibleStepOp(
  sizes: VisibleStepSizes,
  plan: VisibleStepPlan,
  tensors: readonly tf.Tensor[],
  bind: (data: readonly Float32Array[]) => KernelBinding,
  withLinks: boolean,
): VisibleStepResult {
  const { batch: B, visible: V, cellSize: W, readHeads: R, temporal } = sizes;
  // Packed output: readVectors [B,R,W] | memory [B,V,W] | writeWeights [B,V] | readWeights [B,R,V] | precedence
  // [B,V] (SDNC). Small on purpose: on wasm every part split off it copies the whole buffer out of the heap.
  const blockSizes = [B * R * W, B * V * W, B * V, B * R * V, ...(temporal ? [B * V] : [])];
  const offsets = blockSizes.map((_, i) => blockSizes.slice(0, i).reduce((a, c) => a + c, 0));
  const total = blockSizes.reduce((a, c) => a + c, 0);
  let packedValues: Float32Array | undefined;
  let linkValues: Float64Array | undefined;

  const op = customGradient<tf.Tensor1D>((tensorsIn) => {
    // The journal (input 0, the largest by far) as a transient view: only the forward below reads it.
    const binding = bind(
      tensorsIn.map((tensor, i) => (i === 0 ? transientValues(tensor) : float32Data(tensor, `input ${i}`))),
    );
    const tape = visibleStepForward(sizes, plan, binding.inputs);
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
        const gradients = binding.gradients(visibleStepBackward(tape, outputGradients));
        return tensorsIn.map((tensor, i) => tf.tensor(gradients[i], tensor.shape));
      },
    };
  });

  const parts = tf.split(op(...tensors), blockSizes, 0);
  const packed = packedValues;
  const links = linkValues;
  // The kernel closure (kept by the gradient tape) shares this scope: drop the records so they do not outlive it.
  packedValues = undefined;
  linkValues = undefined;
  if (packed === undefined || links === undefined) throw new Error('fusedVisibleStep: the kernel did not run');
  const slice = (i: number) => packed.subarray(offsets[i], offsets[i] + blockSizes[i]);
  return {
    readVectors: tf.reshape(parts[0], [B, R, W]),
    memory: tf.reshape(parts[1], [B, V, W]),
    writeWeights: tf.reshape(parts[2], [B, V]),
    readWeights: tf.reshape(parts[3], [B, R, V]),
    precedence: temporal ? tf.reshape(parts[4], [B, V]) : null,
    links: temporal && withLinks ? tf.tensor3d(Float32Array.from(links), [B, V, V]) : null,
    values: { memory: slice(1), write: slice(2), read: slice(3) },
  };
}

/** The state tensors every visible step reads, checked against the sizes. */
function stateTensors(sizes: VisibleStepSizes, tensors: Omit<VisibleStepTensors, 'controls'>): tf.Tensor[] {
  const { batch: B, cellSize: W, readHeads: R, sparseReads: K, journalRows: J, precedenceSize: P } = sizes;
  checkShape('journal', tensors.journal, [B, J, W]);
  checkShape('prevReadWeights', tensors.prevReadWeights, [B, R, K]);
  checkShape('prevPrecedence', tensors.prevPrecedence, [B, P]);
  return [tensors.journal, tensors.prevReadWeights, ...(sizes.temporal ? [tensors.prevPrecedence] : [])];
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
  const { batch: B, cellSize: W, readHeads: R, temporal } = sizes;
  const { controls } = tensors;
  if (temporal !== (controls.readModes !== null))
    throw new Error(
      `fusedVisibleStep: sizes.temporal is ${temporal} but readModes is ` +
        `${controls.readModes === null ? 'absent' : 'present'}`,
    );
  checkShape('interpolationGate', controls.interpolationGate, [B, 1]);
  checkShape('writeGate', controls.writeGate, [B, 1]);
  checkShape('eraseVector', controls.eraseVector, [B, W]);
  checkShape('writeVector', controls.writeVector, [B, W]);
  checkShape('readKeys', controls.readKeys, [B, R, W]);
  checkShape('readStrengths', controls.readStrengths, [B, R]);
  if (controls.readModes !== null) checkShape('readModes', controls.readModes, [B, R, 3]);
  const state = stateTensors(sizes, tensors);
  const interfaceTensors = [
    controls.interpolationGate,
    controls.writeGate,
    controls.eraseVector,
    controls.writeVector,
    controls.readKeys,
    controls.readStrengths,
    ...(controls.readModes === null ? [] : [controls.readModes]),
  ];
  return visibleStepOp(
    sizes,
    plan,
    [...state, ...interfaceTensors],
    (data) => {
      const [journal, prevReadWeights] = data;
      const prevPrecedence = temporal ? data[2] : new Float32Array(0);
      const at = state.length;
      const inputs: VisibleStepInputs = {
        journal,
        prevReadWeights,
        prevPrecedence,
        interpolationGate: data[at],
        writeGate: data[at + 1],
        eraseVector: data[at + 2],
        writeVector: data[at + 3],
        readKeys: data[at + 4],
        readStrengths: data[at + 5],
        readModes: temporal ? data[at + 6] : new Float32Array(0),
      };
      return {
        inputs,
        gradients: (g) => [
          g.journal,
          g.prevReadWeights,
          ...(temporal ? [g.prevPrecedence] : []),
          g.interpolationGate,
          g.writeGate,
          g.eraseVector,
          g.writeVector,
          g.readKeys,
          g.readStrengths,
          ...(temporal ? [g.readModes] : []),
        ],
      };
    },
    options.links === true,
  );
}

/**
 * `fusedVisibleStep(sizes, plan, { ...tensors, controls: parseSparseInterface(interfaceRaw) })` with the
 * activations inside the op: its gradient reaches `interfaceRaw` (`[batch, sparseInterfaceSize]`, the Linear's
 * output) directly. `activated` is `activateSparseInterface` of `interfaceRaw`'s values, which the caller has
 * already computed for the search keys; the op uses it rather than activating twice.
 */
export function fusedVisibleStepFromRaw(
  sizes: VisibleStepSizes,
  plan: VisibleStepPlan,
  tensors: Omit<VisibleStepTensors, 'controls'>,
  interfaceRaw: tf.Tensor2D,
  activated: SparseInterfaceArrays,
  options: { links?: boolean } = {},
): VisibleStepResult {
  const { batch: B, cellSize: W, readHeads: R, temporal } = sizes;
  checkShape('interfaceRaw', interfaceRaw, [B, sparseInterfaceSize(R, W, temporal)]);
  const state = stateTensors(sizes, tensors);
  return visibleStepOp(
    sizes,
    plan,
    [...state, interfaceRaw],
    (data) => {
      const [journal, prevReadWeights] = data;
      const raw = data[state.length];
      return {
        inputs: {
          journal,
          prevReadWeights,
          prevPrecedence: temporal ? data[2] : new Float32Array(0),
          ...activated,
        },
        gradients: (g) => [
          g.journal,
          g.prevReadWeights,
          ...(temporal ? [g.prevPrecedence] : []),
          activateSparseInterfaceBackward(raw, activated, g, B, R, W, temporal),
        ],
      };
    },
    options.links === true,
  );
}
