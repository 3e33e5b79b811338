/**
 * Shared types of the controller: the recurrent network that reads [x_t; r_{t−1}] and emits the output the DNC
 * clips into ξ (paper, "Controller network"). Kept apart so that the cells and the stacked controller import no
 * cycle.
 */
import type * as tf from '@tensorflow/tfjs';

export type RnnType = 'lstm' | 'gru' | 'rnn';

/** State of a stacked controller: one entry per hidden layer, each `[batch, hidden]`. `cell` only for LSTM. */
export interface ControllerState {
  readonly hidden: readonly tf.Tensor2D[];
  readonly cell?: readonly tf.Tensor2D[];
}

/**
 * One hidden layer's weights rearranged once per forward call, so the per-step work is as few kernels as possible.
 * Weights are stored transposed (`[in, G·hidden]`), so steps multiply without `transposeB`: the wasm backend's
 * fused matMul adds the bias to the wrong rows when `transposeB` and a bias are combined (tfjs 4.22).
 * For LSTM/RNN `stepWeights` is `[stepInputs + hidden, G·hidden]` = [W_ih (step columns) | W_hh]ᵀ and `bias` is
 * b_ih + b_hh. For GRU `stepWeights` is W_ih's step columns transposed `[stepInputs, 3·hidden]`, `bias` is b_ih,
 * and the hidden projection keeps `hiddenWeights` W_hhᵀ `[hidden, 3·hidden]` and `hiddenBias` b_hh.
 */
export interface PreparedLayer {
  readonly stepWeights: tf.Tensor2D;
  readonly bias?: tf.Tensor1D;
  readonly hiddenWeights?: tf.Tensor2D;
  readonly hiddenBias?: tf.Tensor1D;
}

/**
 * One cell step on prepared weights. `inputs` are the layer's step input parts `[batch, ·]` in column order;
 * `projected` (`[batch, G·hidden]`, bias included) replaces the bias when the caller projected some input columns
 * for all timesteps at once.
 */
export type CellStep = (
  layer: PreparedLayer,
  inputs: readonly tf.Tensor2D[],
  prevHidden: tf.Tensor2D,
  prevCell: tf.Tensor2D | undefined,
  projected: tf.Tensor2D | undefined,
) => { hidden: tf.Tensor2D; cell?: tf.Tensor2D };
