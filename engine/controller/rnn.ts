/**
 * The plain (Elman) RNN controller cell in PyTorch's `torch.nn.RNN` layout: h' = act(W_ih·x + b_ih + W_hh·h + b_hh)
 * with act = tanh or relu. pytorch-dnc offers it as `rnn_type='rnn'`; the paper's controller may be any RNN.
 */
import * as tf from '@tensorflow/tfjs';
import { gatesFromConcatenated } from './lstm';
import type { CellStep } from './types';

export const RNN_GATE_COUNT = 1;

export type RnnNonlinearity = 'tanh' | 'relu';

/** Build the step for one nonlinearity; relu runs fused into the matMul kernel, tanh right after it. */
export function rnnStep(nonlinearity: RnnNonlinearity): CellStep {
  return (layer, inputs, prevHidden, _prevCell, projected) => {
    if (nonlinearity === 'relu') {
      return { hidden: gatesFromConcatenated(layer, inputs, prevHidden, projected, 'relu') };
    }
    return { hidden: tf.tanh(gatesFromConcatenated(layer, inputs, prevHidden, projected)) };
  };
}
