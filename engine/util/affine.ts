/**
 * The affine map y = a·b + bias behind every Linear of the DNC (controller gates, interface ξ → controls, output
 * layer), as one taped op whose backward multiplies explicitly transposed operands.
 *
 * Why: tfjs's own matMul gradient calls `matMul` with `transposeA`/`transposeB`, and the wasm backend (tfjs 4.22)
 * runs those 5–20× slower than an untransposed product of the same size (batch 100: ≈6 ms against ≈0.4 ms for
 * [100, 144]·[144, 256]); a separate Transpose kernel costs a few µs. So the backward here is
 *   da = dy · transpose(b),  db = transpose(a) · dy,  dbias = Σ_rows dy,
 * each product untransposed. The forward is tfjs's fused matMul (bias in the same kernel, no transposes: the wasm
 * fused kernel also misplaces the bias when combined with `transposeB`). On cpu the two forms cost the same.
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

function checkOperands(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor1D | undefined): void {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
    throw new Error(
      `affine: a [rows, in] and b [in, out] must agree on 'in', got a [${a.shape.join(', ')}] and b ` +
        `[${b.shape.join(', ')}]`,
    );
  }
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== b.shape[1])) {
    throw new Error(`affine: bias must be [${b.shape[1]}] (out), got [${bias.shape.join(', ')}]`);
  }
}

/**
 * transpose(b) by b's data: within one back-propagation every timestep's affine map saves the same weights (on cpu
 * and wasm a saved tensor shares its data with the original), so the weights are transposed once per backward pass
 * rather than once per step. A transpose made in a gradient function lives until the backward pass ends, then is
 * disposed: a later pass finds it disposed and transposes again. Same values either way (tensors are immutable).
 */
const transposedByData = new WeakMap<object, tf.Tensor2D>();

function transposedWeights(b: tf.Tensor2D): tf.Tensor2D {
  const cached = transposedByData.get(b.dataId);
  if (cached !== undefined && !cached.isDisposed) return cached;
  const transposed = tf.transpose(b);
  transposedByData.set(b.dataId, transposed);
  return transposed;
}

const withoutBias = customGradient<tf.Tensor2D>(([a, b], save) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy, [savedA, savedB]) => [
      tf.matMul(dy, transposedWeights(savedB as tf.Tensor2D)),
      tf.matMul(tf.transpose(savedA), dy),
    ],
  };
});

const withBias = customGradient<tf.Tensor2D>(([a, b, bias], save) => {
  save([a, b]);
  return {
    value: tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias }) as tf.Tensor2D,
    gradFunc: (dy, [savedA, savedB]) => [
      tf.matMul(dy, transposedWeights(savedB as tf.Tensor2D)),
      tf.matMul(tf.transpose(savedA), dy),
      tf.sum(dy, 0),
    ],
  };
});

/**
 * y = a·b (+ bias), differentiable in every argument.
 * @param a `[rows, in]`, e.g. `[batch, inputs]`
 * @param b `[in, out]`, weights already transposed from PyTorch's `[out, in]`
 * @param bias `[out]`, added to every row
 * @returns `[rows, out]`
 */
export function affine(a: tf.Tensor2D, b: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  checkOperands(a, b, bias);
  return bias === undefined ? withoutBias(a, b) : withBias(a, b, bias);
}
