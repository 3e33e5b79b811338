/**
 * The GRU controller cell (Cho et al. 2014) in PyTorch's `torch.nn.GRU` layout: gate rows r, z, n and
 * r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
 * The hidden projection keeps its own bias because b_hn sits inside the reset gate's product.
 */
import * as tf from '@tensorflow/tfjs';
import { matMulPlus } from './lstm';
import type { CellStep } from './types';

export const GRU_GATE_COUNT = 3;

/**
 * One GRU step.
 * @param inputGates W_ih·x + b_ih `[batch, 3·hidden]`, blocks r, z, n
 * @param hiddenGates W_hh·h + b_hh `[batch, 3·hidden]`, blocks r, z, n
 * @param prevHidden h_{t−1} `[batch, hidden]`
 */
export function gruFromGates(inputGates: tf.Tensor2D, hiddenGates: tf.Tensor2D, prevHidden: tf.Tensor2D): tf.Tensor2D {
  const [inputReset, inputUpdate, inputNew] = tf.split(inputGates, GRU_GATE_COUNT, 1) as tf.Tensor2D[];
  const [hiddenReset, hiddenUpdate, hiddenNew] = tf.split(hiddenGates, GRU_GATE_COUNT, 1) as tf.Tensor2D[];
  const resetGate = tf.sigmoid(tf.add(inputReset, hiddenReset));
  const updateGate = tf.sigmoid(tf.add(inputUpdate, hiddenUpdate));
  const candidate = tf.tanh(tf.add(inputNew, tf.mul(resetGate, hiddenNew)));
  // (1 − z)·n + z·h written as n + z·(h − n): one op fewer on the tape.
  return tf.add(candidate, tf.mul(updateGate, tf.sub(prevHidden, candidate))) as tf.Tensor2D;
}

export const gruStep: CellStep = (layer, inputs, prevHidden, _prevCell, projected) => {
  if (layer.hiddenWeights === undefined)
    throw new Error('gruStep: prepared layer has no hiddenWeights (not a GRU layer)');
  let inputGates: tf.Tensor2D;
  if (inputs.length > 0) {
    const joined = inputs.length === 1 ? inputs[0] : tf.concat([...inputs], 1);
    inputGates = matMulPlus(joined, layer.stepWeights, projected ?? layer.bias);
  } else if (projected !== undefined) {
    inputGates = projected;
  } else {
    throw new Error('gruStep: a layer with no step inputs needs a projected input, got neither');
  }
  const hiddenGates = matMulPlus(prevHidden, layer.hiddenWeights, layer.hiddenBias);
  return { hidden: gruFromGates(inputGates, hiddenGates, prevHidden) };
};
