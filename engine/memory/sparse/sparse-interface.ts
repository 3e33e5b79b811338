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
  const weight = tf.variable(
    tf.tensor2d(random.uniform(outputSize * inputSize, bound), [outputSize, inputSize]),
    true,
    `${prefix}interface_weights.weight`,
  );
  const bias = tf.variable(tf.tensor1d(random.uniform(outputSize, bound)), true, `${prefix}interface_weights.bias`);
  return new Map<string, tf.Variable>([
    ['interface_weights.weight', weight],
    ['interface_weights.bias', bias],
  ]);
}
