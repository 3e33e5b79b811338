/**
 * The interface vector of the sparse memories (Rae et al. 2016, §3 and Supplementary A): what the controller's
 * clipped output ξ controls per step, in one Linear `interface_weights` (pytorch-dnc's name). Layout, head-major:
 *
 * | part | length | activation | paper |
 * | --- | --- | --- | --- |
 * | read keys | R·W | tanh | q_t (one per head) |
 * | read strengths | R | softplus | β_t |
 * | write vector | W | tanh | a_t |
 * | erase vector | W | sigmoid | the DNC's e_t; the paper erases whole rows (e = 1) |
 * | interpolation gate | 1 | sigmoid | γ_t, a scalar (pytorch-dnc's is a vector) |
 * | write gate | 1 | sigmoid | α_t |
 * | read modes (SDNC only) | 3R | softmax per head | π_t in the order (backward, forward, content) |
 *
 * The tanh on keys and write vector and the softplus strengths follow the dense memory's pytorch-dnc choices so
 * both memory kinds see the same kind of controls.
 */
import * as tf from '@tensorflow/tfjs';
import { trainableVariable } from '../../util/variable';
import { assertShape } from '../../util/assert-shape';
import { SeededRandom } from '../../controller/seeded-random';

export interface SparseInterface {
  /** `[batch, readHeads, cellSize]`, in (−1, 1). */
  readonly readKeys: tf.Tensor3D;
  /** `[batch, readHeads]`, in (0, ∞). */
  readonly readStrengths: tf.Tensor2D;
  /** `[batch, cellSize]`, in (−1, 1). */
  readonly writeVector: tf.Tensor2D;
  /** `[batch, cellSize]`, in [0, 1]. */
  readonly eraseVector: tf.Tensor2D;
  /** γ: `[batch, 1]`, in [0, 1]: previously read rows (1) versus the least recently used row (0). */
  readonly interpolationGate: tf.Tensor2D;
  /** α: `[batch, 1]`, in [0, 1]. */
  readonly writeGate: tf.Tensor2D;
  /** π: `[batch, readHeads, 3]` (backward, forward, content), rows sum to 1; SDNC only. */
  readonly readModes: tf.Tensor3D | null;
}

/** Width of the interface: RW + R + 2W + 2, plus 3R read modes for the SDNC. */
export function sparseInterfaceSize(readHeads: number, cellSize: number, temporal: boolean): number {
  return readHeads * cellSize + readHeads + 2 * cellSize + 2 + (temporal ? 3 * readHeads : 0);
}

/**
 * Split and activate the raw interface `[batch, sparseInterfaceSize]` (the Linear's output).
 */
export function parseSparseInterface(
  raw: tf.Tensor2D,
  readHeads: number,
  cellSize: number,
  temporal: boolean,
): SparseInterface {
  const batch = raw.shape[0];
  assertShape('parseSparseInterface', 'raw', raw, [null, sparseInterfaceSize(readHeads, cellSize, temporal)]);
  let offset = 0;
  const take = (length: number): tf.Tensor2D => {
    const part = tf.slice(raw, [0, offset], [batch, length]);
    offset += length;
    return part;
  };
  const readKeys = tf.reshape(tf.tanh(take(readHeads * cellSize)), [batch, readHeads, cellSize]) as tf.Tensor3D;
  const readStrengths = tf.softplus(take(readHeads));
  const writeVector = tf.tanh(take(cellSize));
  const eraseVector = tf.sigmoid(take(cellSize));
  const interpolationGate = tf.sigmoid(take(1));
  const writeGate = tf.sigmoid(take(1));
  const readModes = temporal
    ? (tf.softmax(tf.reshape(take(3 * readHeads), [batch, readHeads, 3])) as tf.Tensor3D)
    : null;
  return { readKeys, readStrengths, writeVector, eraseVector, interpolationGate, writeGate, readModes };
}

/**
 * `interface_weights.weight` `[out, in]` and `.bias` `[out]`, drawn like PyTorch's `nn.Linear` default
 * (uniform ±1/√in) from a seeded generator.
 */
export function createInterfaceVariables(
  inputSize: number,
  outputSize: number,
  seed: number,
  prefix: string,
): Map<string, tf.Variable> {
  const random = new SeededRandom(seed);
  const bound = 1 / Math.sqrt(inputSize);
  const weight = trainableVariable(
    random.uniform(outputSize * inputSize, bound),
    [outputSize, inputSize],
    `${prefix}interface_weights.weight`,
  );
  const bias = trainableVariable(random.uniform(outputSize, bound), [outputSize], `${prefix}interface_weights.bias`);
  return new Map<string, tf.Variable>([
    ['interface_weights.weight', weight],
    ['interface_weights.bias', bias],
  ]);
}

/**
 * The activated interface on the host, batch-major typed arrays (the fused step's inputs): `readKeys [B,R,W]`,
 * `readStrengths [B,R]`, `writeVector [B,W]`, `eraseVector [B,W]`, `interpolationGate [B]`, `writeGate [B]`,
 * `readModes [B,R,3]` (empty for SAM).
 */
export interface SparseInterfaceArrays {
  readonly readKeys: Float32Array;
  readonly readStrengths: Float32Array;
  readonly writeVector: Float32Array;
  readonly eraseVector: Float32Array;
  readonly interpolationGate: Float32Array;
  readonly writeGate: Float32Array;
  readonly readModes: Float32Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** log(1 + eˣ) without overflow. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/**
 * `parseSparseInterface` on typed arrays: the same layout and activations (tested against it), for the fused step.
 *
 * @param raw `[batch, sparseInterfaceSize]` row-major, the Linear's output
 */
export function activateSparseInterface(
  raw: Float32Array,
  batch: number,
  readHeads: number,
  cellSize: number,
  temporal: boolean,
): SparseInterfaceArrays {
  const width = sparseInterfaceSize(readHeads, cellSize, temporal);
  if (raw.length !== batch * width)
    throw new Error(`activateSparseInterface: argument 'raw' has ${raw.length} values, expected ${batch} × ${width}`);
  const [R, W] = [readHeads, cellSize];
  const out: SparseInterfaceArrays = {
    readKeys: new Float32Array(batch * R * W),
    readStrengths: new Float32Array(batch * R),
    writeVector: new Float32Array(batch * W),
    eraseVector: new Float32Array(batch * W),
    interpolationGate: new Float32Array(batch),
    writeGate: new Float32Array(batch),
    readModes: new Float32Array(temporal ? batch * R * 3 : 0),
  };
  for (let b = 0; b < batch; b++) {
    let offset = b * width;
    for (let i = 0; i < R * W; i++) out.readKeys[b * R * W + i] = Math.tanh(raw[offset + i]);
    offset += R * W;
    for (let h = 0; h < R; h++) out.readStrengths[b * R + h] = softplus(raw[offset + h]);
    offset += R;
    for (let j = 0; j < W; j++) out.writeVector[b * W + j] = Math.tanh(raw[offset + j]);
    offset += W;
    for (let j = 0; j < W; j++) out.eraseVector[b * W + j] = sigmoid(raw[offset + j]);
    offset += W;
    out.interpolationGate[b] = sigmoid(raw[offset]);
    out.writeGate[b] = sigmoid(raw[offset + 1]);
    offset += 2;
    if (!temporal) continue;
    for (let h = 0; h < R; h++) {
      const at = offset + 3 * h;
      const max = Math.max(raw[at], raw[at + 1], raw[at + 2]);
      const e = [Math.exp(raw[at] - max), Math.exp(raw[at + 1] - max), Math.exp(raw[at + 2] - max)];
      const total = e[0] + e[1] + e[2];
      for (let m = 0; m < 3; m++) out.readModes[(b * R + h) * 3 + m] = e[m] / total;
    }
  }
  return out;
}

/**
 * The gradient w.r.t. `raw` (`[batch, sparseInterfaceSize]`) of `activateSparseInterface`, given the activated
 * values `parts` and the gradient w.r.t. each of them (`gradients`, same layout).
 */
export function activateSparseInterfaceBackward(
  raw: Float32Array,
  parts: SparseInterfaceArrays,
  gradients: SparseInterfaceArrays,
  batch: number,
  readHeads: number,
  cellSize: number,
  temporal: boolean,
): Float32Array {
  const width = sparseInterfaceSize(readHeads, cellSize, temporal);
  const [R, W] = [readHeads, cellSize];
  const out = new Float32Array(batch * width);
  for (let b = 0; b < batch; b++) {
    let offset = b * width;
    for (let i = 0; i < R * W; i++) {
      const key = parts.readKeys[b * R * W + i];
      out[offset + i] = gradients.readKeys[b * R * W + i] * (1 - key * key);
    }
    offset += R * W;
    for (let h = 0; h < R; h++) out[offset + h] = gradients.readStrengths[b * R + h] * sigmoid(raw[offset + h]);
    offset += R;
    for (let j = 0; j < W; j++) {
      const value = parts.writeVector[b * W + j];
      out[offset + j] = gradients.writeVector[b * W + j] * (1 - value * value);
    }
    offset += W;
    for (let j = 0; j < W; j++) {
      const value = parts.eraseVector[b * W + j];
      out[offset + j] = gradients.eraseVector[b * W + j] * value * (1 - value);
    }
    offset += W;
    const gate = parts.interpolationGate[b];
    const writeGate = parts.writeGate[b];
    out[offset] = gradients.interpolationGate[b] * gate * (1 - gate);
    out[offset + 1] = gradients.writeGate[b] * writeGate * (1 - writeGate);
    offset += 2;
    if (!temporal) continue;
    for (let h = 0; h < R; h++) {
      const at = (b * R + h) * 3;
      let inner = 0;
      for (let m = 0; m < 3; m++) inner += parts.readModes[at + m] * gradients.readModes[at + m];
      for (let m = 0; m < 3; m++)
        out[offset + 3 * h + m] = parts.readModes[at + m] * (gradients.readModes[at + m] - inner);
    }
  }
  return out;
}
