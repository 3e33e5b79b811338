/**
 * The interface vector ξ of the DNC (Graves et al. 2016, Methods "Interface parameters"): how the controller's
 * clipped output is mapped to the read and write heads' controls, in pytorch-dnc 2.0's layout and activations.
 *
 * The packed layout (one Linear, `interface_weights`) concatenates, per batch row, in the paper's part order:
 * read keys (R·W, head-major), read strengths (R), write key (W), write strength (1), erase vector (W), write
 * vector (W), free gates (R), allocation gate (1), write gate (1) and read modes (3R, per head in the order
 * backward, forward, content — DeepMind's order, not the paper's). The total is RW + 3W + 5R + 3. With
 * independent linears, ten Linears (`read_keys_transform`, …) produce the same parts; their outputs concatenated
 * in this order are exactly the packed vector, so both variants share one parser.
 */
import * as tf from '@tensorflow/tfjs';
import { affine } from '../util/affine';
import { assertShape } from '../util/assert-shape';
import type { PreparedInterface } from './types';

/** Activation applied to one interface part; the same for packed and independent linears. */
export type InterfaceActivation = 'tanh' | 'softplus' | 'sigmoid' | 'softmaxPerHead';

/** One part of the packed interface vector. */
export interface InterfacePart {
  /** camelCase name used in the engine (`readKeys`). */
  readonly name: keyof MemoryInterface;
  /** pytorch-dnc's name (`read_keys`); its independent Linear is `${pytorchName}_transform`. */
  readonly pytorchName: string;
  readonly offset: number;
  readonly length: number;
  readonly activation: InterfaceActivation;
}

/**
 * The parsed interface for one step, all batch rows. Ranges follow from the activations.
 */
export interface MemoryInterface {
  /** k^r: `[batch, readHeads, cellSize]`, in (−1, 1) (tanh, pytorch-dnc's choice; the paper leaves keys linear). */
  readonly readKeys: tf.Tensor3D;
  /** β^r: `[batch, readHeads]`, in (0, ∞) (softplus). */
  readonly readStrengths: tf.Tensor2D;
  /** k^w: `[batch, cellSize]`, in (−1, 1). */
  readonly writeKey: tf.Tensor2D;
  /** β^w: `[batch, 1]`, in (0, ∞). */
  readonly writeStrength: tf.Tensor2D;
  /** e: `[batch, cellSize]`, in [0, 1]. */
  readonly eraseVector: tf.Tensor2D;
  /** v: `[batch, cellSize]`, in (−1, 1) (tanh, pytorch-dnc's choice). */
  readonly writeVector: tf.Tensor2D;
  /** f: `[batch, readHeads]`, in [0, 1]. */
  readonly freeGates: tf.Tensor2D;
  /** g^a: `[batch, 1]`, in [0, 1]. */
  readonly allocationGate: tf.Tensor2D;
  /** g^w: `[batch, 1]`, in [0, 1]. */
  readonly writeGate: tf.Tensor2D;
  /** π: `[batch, readHeads, 3]`, each row a distribution over (backward, forward, content). */
  readonly readModes: tf.Tensor3D;
}

/** Number of read modes per head: backward, forward, content. */
export const READ_MODE_COUNT = 3;

/** Width of the packed interface vector: RW + 3W + 5R + 3. */
export function interfaceSize(readHeads: number, cellSize: number): number {
  return readHeads * cellSize + 3 * cellSize + 5 * readHeads + 3;
}

/** The packed interface layout for R read heads and cell width W, in part order. */
export function interfaceLayout(readHeads: number, cellSize: number): readonly InterfacePart[] {
  const parts: [keyof MemoryInterface, string, number, InterfaceActivation][] = [
    ['readKeys', 'read_keys', readHeads * cellSize, 'tanh'],
    ['readStrengths', 'read_strengths', readHeads, 'softplus'],
    ['writeKey', 'write_key', cellSize, 'tanh'],
    ['writeStrength', 'write_strength', 1, 'softplus'],
    ['eraseVector', 'erase_vector', cellSize, 'sigmoid'],
    ['writeVector', 'write_vector', cellSize, 'tanh'],
    ['freeGates', 'free_gates', readHeads, 'sigmoid'],
    ['allocationGate', 'allocation_gate', 1, 'sigmoid'],
    ['writeGate', 'write_gate', 1, 'sigmoid'],
    ['readModes', 'read_modes', READ_MODE_COUNT * readHeads, 'softmaxPerHead'],
  ];
  let offset = 0;
  return parts.map(([name, pytorchName, length, activation]) => {
    const part = { name, pytorchName, offset, length, activation };
    offset += length;
    return part;
  });
}

/**
 * Parameter names and shapes of the interface layer(s), PyTorch `state_dict` names without the module prefix.
 * Packed: `interface_weights.weight [RW+3W+5R+3, inputSize]` and `.bias`; independent: ten
 * `<part>_transform.weight [length, inputSize]` and `.bias`, in layout order.
 */
export function interfaceParameterShapes(
  inputSize: number,
  readHeads: number,
  cellSize: number,
  independentLinears: boolean,
): ReadonlyMap<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  if (!independentLinears) {
    const size = interfaceSize(readHeads, cellSize);
    shapes.set('interface_weights.weight', [size, inputSize]);
    shapes.set('interface_weights.bias', [size]);
    return shapes;
  }
  for (const part of interfaceLayout(readHeads, cellSize)) {
    shapes.set(`${part.pytorchName}_transform.weight`, [part.length, inputSize]);
    shapes.set(`${part.pytorchName}_transform.bias`, [part.length]);
  }
  return shapes;
}

/**
 * The interface layer as one `[inputSize, RW+3W+5R+3]` matrix and bias: with independent linears the ten weight
 * matrices and biases are concatenated first (one matMul instead of ten, same numbers), and the weight is transposed
 * for `affine`, whose backward avoids wasm's slow transposed products.
 *
 * @param parameters by PyTorch name, as from `interfaceParameterShapes`
 */
export function prepareInterfaceLayer(
  parameters: ReadonlyMap<string, tf.Tensor>,
  readHeads: number,
  cellSize: number,
  independentLinears: boolean,
): PreparedInterface {
  const parameter = (name: string): tf.Tensor => {
    const value = parameters.get(name);
    if (value === undefined) throw new Error(`prepareInterfaceLayer: parameter '${name}' is missing`);
    return value;
  };
  let weight: tf.Tensor;
  let bias: tf.Tensor;
  if (independentLinears) {
    const parts = interfaceLayout(readHeads, cellSize);
    weight = tf.concat(
      parts.map((part) => parameter(`${part.pytorchName}_transform.weight`)),
      0,
    );
    bias = tf.concat(
      parts.map((part) => parameter(`${part.pytorchName}_transform.bias`)),
      0,
    );
  } else {
    weight = parameter('interface_weights.weight');
    bias = parameter('interface_weights.bias');
  }
  const size = interfaceSize(readHeads, cellSize);
  assertShape('prepareInterfaceLayer', 'weight', weight, [size, null]);
  assertShape('prepareInterfaceLayer', 'bias', bias, [size]);
  return { weight: tf.transpose(weight as tf.Tensor2D), bias: bias as tf.Tensor1D };
}

/**
 * The raw (pre-activation) interface vector: ξ_raw = ξ Wᵀ + b.
 *
 * @param xi `[batch, inputSize]`, the clipped controller output
 * @param prepared the layer from `prepareInterfaceLayer`
 * @returns `[batch, RW+3W+5R+3]`
 */
export function computeInterfaceRaw(xi: tf.Tensor2D, prepared: PreparedInterface): tf.Tensor2D {
  assertShape('computeInterfaceRaw', 'xi', xi, [null, prepared.weight.shape[0]]);
  return affine(xi, prepared.weight, prepared.bias);
}

/**
 * Split the raw interface vector into its parts and apply pytorch-dnc's activations. Each activation runs once
 * over the whole vector and is split into all parts at once: three activations and three splits instead of nine
 * activations and ten slices; the gradient of the unused entries is simply zero.
 *
 * Softplus: TensorFlow.js switches to the identity above ≈13.9 where PyTorch (β = 1) switches at 20; the two
 * differ by log1p(e^−x) < 1e−6 there.
 *
 * @param interfaceRaw `[batch, RW+3W+5R+3]`
 */
export function parseInterface(interfaceRaw: tf.Tensor2D, readHeads: number, cellSize: number): MemoryInterface {
  const size = interfaceSize(readHeads, cellSize);
  assertShape('parseInterface', 'interfaceRaw', interfaceRaw, [null, size]);
  const batch = interfaceRaw.shape[0];
  const layout = interfaceLayout(readHeads, cellSize);
  const lengths = layout.map((part) => part.length);
  // One split per activated copy: every part in one kernel, the unused parts' gradients are zeros.
  const partsOf = (source: tf.Tensor2D): tf.Tensor2D[] => tf.split(source, lengths, 1);
  const activated: Record<Exclude<InterfaceActivation, 'softmaxPerHead'>, tf.Tensor2D[]> = {
    tanh: partsOf(tf.tanh(interfaceRaw)),
    softplus: partsOf(tf.softplus(interfaceRaw)),
    sigmoid: partsOf(tf.sigmoid(interfaceRaw)),
  };
  const byName = new Map(
    layout.map((part, index) => [
      part.name,
      part.activation === 'softmaxPerHead'
        ? tf.slice(interfaceRaw, [0, part.offset], [batch, part.length])
        : activated[part.activation][index],
    ]),
  );
  const get = (name: keyof MemoryInterface): tf.Tensor2D => {
    const value = byName.get(name);
    if (value === undefined) throw new Error(`parseInterface: layout has no part '${name}'`);
    return value;
  };
  return {
    readKeys: tf.reshape(get('readKeys'), [batch, readHeads, cellSize]),
    readStrengths: get('readStrengths'),
    writeKey: get('writeKey'),
    writeStrength: get('writeStrength'),
    eraseVector: get('eraseVector'),
    writeVector: get('writeVector'),
    freeGates: get('freeGates'),
    allocationGate: get('allocationGate'),
    writeGate: get('writeGate'),
    readModes: tf.softmax(tf.reshape(get('readModes'), [batch, readHeads, READ_MODE_COUNT])),
  };
}
