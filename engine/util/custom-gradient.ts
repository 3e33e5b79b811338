/**
 * A typed adapter over `tf.customGrad`, whose callback receives its tensors and the save function in one untyped
 * rest array. Engine ops with hand-written gradients (the allocation's permutation gather and sort order, the
 * cosine similarity's norm) declare their inputs as an array instead.
 */
import * as tf from '@tensorflow/tfjs';

/** The forward result of a custom-gradient op: its value and the gradient w.r.t. each input, in input order. */
export interface CustomGradientResult<T extends tf.Tensor> {
  readonly value: T;
  readonly gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * Build a differentiable op from a forward function and its gradient. Tensors the gradient needs must be passed
 * through `save` (tensors captured by the closure may be disposed before backprop). Gradients must be float32 and
 * shaped like their inputs, also for int32 index inputs (return zeros there). The forward may use the caller's
 * own (typed) references to the input tensors: they are the same objects as `inputs`.
 */
export function customGradient<T extends tf.Tensor>(
  forward: (inputs: readonly tf.Tensor[], save: tf.GradSaveFunc) => CustomGradientResult<T>,
): (...inputs: tf.Tensor[]) => T {
  const op = tf.customGrad<T>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1];
    if (typeof save !== 'function') {
      throw new Error('customGradient: tf.customGrad did not pass a save function');
    }
    const inputs = args.slice(0, -1).filter((arg): arg is tf.Tensor => arg instanceof tf.Tensor);
    const result = forward(inputs, save);
    return { value: result.value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => result.gradFunc(dy, saved) };
  });
  return (...inputs: tf.Tensor[]) => op(...inputs);
}

/** The forward result of a multi-output custom-gradient op: its outputs and the gradient w.r.t. each input. */
export interface MultiOutputGradientResult {
  readonly values: readonly tf.Tensor[];
  /**
   * `dys[i]` is dLoss/d(values[i]) (zeros where no gradient reached that output); one gradient per input. The dys
   * are valid only until it returns (some are disposed then, see `handedGradients`): read them, keep nothing.
   */
  readonly gradFunc: (dys: readonly tf.Tensor[]) => tf.Tensor[];
}

/**
 * Each gradient a multi-output op handed tfjs, with the input it is the gradient of (only gradients that appear
 * once in their op's list). tfjs-core 4.x's back-propagation (`backpropagateGradients` in tape.js) stores the tensor a
 * gradient function returns as is as that input's accumulated gradient; a second contribution replaces it by a new
 * sum. So when an op is handed, as the dy of its output `o`, the very tensor that another of these ops made as the
 * gradient of `o`, that tensor is referenced by the gradient map's entry for `o` alone, and back-propagation reads
 * that entry once: to build this op's dys (a tensor is the output of one tape node, and no node taped before `o`
 * existed can take `o` as input). It can then be disposed as soon as this op's gradient has been computed instead of
 * living until `tf.grads` returns: at N 1024 the link matrix's gradient that flows from step to step is 32 MB of wasm
 * heap, and that heap never shrinks, so holding all T of them set the process's peak memory.
 */
const handedGradients = new WeakMap<tf.Tensor, tf.Tensor>();

/** Dispose the dys that `handedGradients` proves nothing else reads (never one handed back as a gradient). */
function releaseSpentGradients(outputs: readonly tf.Tensor[], dys: readonly tf.Tensor[], grads: readonly tf.Tensor[]) {
  dys.forEach((dy, index) => {
    if (handedGradients.get(dy) !== outputs[index] || grads.includes(dy)) return;
    handedGradients.delete(dy);
    dy.dispose();
  });
}

/** Record the gradients this op hands tfjs, by input (see `handedGradients`). */
function recordHandedGradients(inputs: readonly tf.Tensor[], grads: readonly tf.Tensor[], dys: readonly tf.Tensor[]) {
  grads.forEach((grad, index) => {
    if (grads.indexOf(grad) !== grads.lastIndexOf(grad) || dys.includes(grad) || inputs.includes(grad)) return;
    handedGradients.set(grad, inputs[index]);
  });
}

/** The part of tfjs-core's engine a multi-output custom op needs (4.x; `tf.customGrad` allows one output only). */
interface KernelFuncEngine {
  runKernelFunc(params: {
    forwardFunc: () => tf.Tensor[];
    backwardsFunc: (dys: tf.Tensor | tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor | tf.Tensor[];
}

/**
 * A differentiable op with several outputs, each made at its own shape: what `tf.customGrad` would be if it allowed
 * an array. A single-output op whose value is split and reshaped afterwards pays a copy per split piece, and tfjs's
 * Reshape gradient keeps a clone of its input (for its shape) until back-propagation: at N 1024 that clone is the
 * 32 MB link matrix, every step. Nothing is saved for the gradient here: `gradFunc` works from what its closure
 * keeps. Built on the engine's `runKernelFunc`, which `tf.customGrad` itself uses (tfjs-core 4.x).
 */
export function multiOutputGradient(
  forward: (inputs: readonly tf.Tensor[]) => MultiOutputGradientResult,
): (...inputs: tf.Tensor[]) => tf.Tensor[] {
  const engine = tf.engine() as unknown as Partial<KernelFuncEngine>;
  const runKernelFunc = engine.runKernelFunc;
  if (typeof runKernelFunc !== 'function') {
    throw new Error('multiOutputGradient: this tfjs-core has no engine.runKernelFunc (written for tfjs-core 4.x)');
  }
  return (...inputs: tf.Tensor[]) => {
    let result: MultiOutputGradientResult | undefined;
    const outputs = runKernelFunc.call(engine, {
      forwardFunc: () => {
        result = forward(inputs);
        return [...result.values];
      },
      backwardsFunc: (dys) => {
        if (result === undefined) throw new Error('multiOutputGradient: backward before forward');
        const outputGradients = Array.isArray(dys) ? dys : [dys];
        const grads = result.gradFunc(outputGradients);
        if (grads.length !== inputs.length) {
          throw new Error(`multiOutputGradient: ${grads.length} gradients for ${inputs.length} inputs`);
        }
        releaseSpentGradients(result.values, outputGradients, grads);
        recordHandedGradients(inputs, grads, outputGradients);
        return Object.fromEntries(grads.map((grad, index) => [String(index), () => grad]));
      },
      inputs: Object.fromEntries(inputs.map((input, index) => [String(index), input])),
    });
    return Array.isArray(outputs) ? outputs : [outputs];
  };
}
