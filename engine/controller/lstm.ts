/**
 * The LSTM controller cell (Hochreiter & Schmidhuber 1997) as the DNC paper's controller uses it, in PyTorch's
 * `torch.nn.LSTM` layout so that pytorch-dnc weights load unchanged: gate rows of `weight_ih`/`weight_hh` are
 * stacked i, f, g, o; c' = σ(f)·c + σ(i)·tanh(g); h' = σ(o)·tanh(c').
 */
import * as tf from '@tensorflow/tfjs';
import { affine } from '../util/affine';
import { fusedLstmCell, useFusedLstmCell } from './fused-lstm-cell';
import type { CellStep, PreparedLayer } from './types';

/** PyTorch LSTM gate order inside the 4H rows: input, forget, cell candidate, output. */
export const LSTM_GATE_COUNT = 4;

/**
 * One LSTM step for a batch.
 * @param gates pre-activations `[batch, 4·hidden]` = W_ih·x + b_ih + W_hh·h + b_hh, gate blocks i, f, g, o
 * @param prevCell c_{t−1} `[batch, hidden]`
 * @returns h_t and c_t, each `[batch, hidden]`
 */
export function lstmFromGates(gates: tf.Tensor2D, prevCell: tf.Tensor2D): { hidden: tf.Tensor2D; cell: tf.Tensor2D } {
  const [inputGate, forgetGate, candidate, outputGate] = tf.split(gates, LSTM_GATE_COUNT, 1) as tf.Tensor2D[];
  const cell = tf.add(
    tf.mul(tf.sigmoid(forgetGate), prevCell),
    tf.mul(tf.sigmoid(inputGate), tf.tanh(candidate)),
  ) as tf.Tensor2D;
  const hidden = tf.mul(tf.sigmoid(outputGate), tf.tanh(cell)) as tf.Tensor2D;
  return { hidden, cell };
}

/**
 * LSTM layer step on prepared weights: one fused matMul over [inputs; h_{t−1}] with the bias (or the caller's
 * precomputed input projection, which already holds the bias) added in the same kernel.
 */
export const lstmStep: CellStep = (layer: PreparedLayer, inputs, prevHidden, prevCell, projected) => {
  if (prevCell === undefined) throw new Error('lstmStep: prevCell is required for an LSTM layer, got undefined');
  const gates = gatesFromConcatenated(layer, inputs, prevHidden, projected);
  return useFusedLstmCell(prevCell.size) ? fusedLstmCell(gates, prevCell) : lstmFromGates(gates, prevCell);
};

/** [inputs…; h]·[W_in | W_hh]ᵀ + (projected ?? bias), with the weights prepared transposed: shared by LSTM and RNN. */
export function gatesFromConcatenated(
  layer: PreparedLayer,
  inputs: readonly tf.Tensor2D[],
  prevHidden: tf.Tensor2D,
  projected: tf.Tensor2D | undefined,
  activation: 'linear' | 'relu' = 'linear',
): tf.Tensor2D {
  const joined = inputs.length === 0 ? prevHidden : tf.concat([...inputs, prevHidden], 1);
  return matMulPlus(joined, layer.stepWeights, projected ?? layer.bias, activation);
}

/**
 * act(a·b + addend), `b` already transposed to `[in, out]`, through `affine` (whose backward avoids the wasm
 * backend's slow transposed products). A rank-1 addend (a bias) rides in the fused kernel; a per-row addend (a
 * projected input) is a separate add, because the wasm backend's fused kernel takes rank-1 biases only.
 */
export function matMulPlus(
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  addend: tf.Tensor1D | tf.Tensor2D | undefined,
  activation: 'linear' | 'relu' = 'linear',
): tf.Tensor2D {
  const sum =
    addend === undefined || addend.rank === 1
      ? affine(a, b, addend as tf.Tensor1D | undefined)
      : (tf.add(affine(a, b), addend) as tf.Tensor2D);
  return activation === 'relu' ? tf.relu(sum) : sum;
}
