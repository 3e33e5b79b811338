/**
 * The shared TensorFlow.js op behind `fusedMemoryStep` and `fusedMemoryStepFromRaw` (`fused-memory-step.ts`): the
 * typed-array kernel (`runDenseStep`) as one `multiOutputGradient` op with seven outputs made straight from its packed
 * output, the host values those outputs keep for the next step, the reused output-gradient scratch, and the debug
 * read-out of batch element 0.
 */
import * as tf from '@tensorflow/tfjs';
import { multiOutputGradient } from '../../util/custom-gradient';
import { tensorFilledInPlace, transientValues } from '../../util/device-backend';
import type { DenseMemoryState } from '../dense-step';
import { type DenseDebugName, denseDebugOutput } from '../debug-tensors';
import type { MemoryStepDebug, MemoryStepResult } from '../types';
import { type DenseKernelRun, runDenseStep } from './batch-split';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepArrays,
  denseStepInputShapes,
  densePackedLayout,
  type DensePackedLayout,
  type DenseStepArrays,
  type DenseStepSizes,
  type FloatArray,
} from './dense-step-layout';
import type { DenseStepTape } from './dense-step-tape';

/** What the forward pass leaves for the debug read-out. */
interface ForwardRecord {
  readonly packed: Float32Array;
  readonly tape: DenseStepTape;
  readonly inputs: DenseStepArrays<Float32Array>;
}

/** A float32 tensor's values by one `dataSync`; throws, naming `what`, for any other dtype. */
export function float32Data(tensor: tf.Tensor, what: string): Float32Array {
  const data = tensor.dataSync();
  if (!(data instanceof Float32Array)) throw new Error(`fusedMemoryStep: ${what} is ${tensor.dtype}, expected float32`);
  return data;
}

/** The kernel's sixteen input arrays, in `DENSE_STEP_INPUT_NAMES` order, as one record. */
export function toArrays(values: readonly Float32Array[]): DenseStepArrays<Float32Array> {
  return denseStepArrays(values);
}

/**
 * Batch element 0 of what the dashboard shows, read from the kernel's arrays (no extra sync): the same names, axes
 * and ranges as the plain path's debug output.
 */
function debugFor(sizes: DenseStepSizes, forward: ForwardRecord): MemoryStepDebug {
  const { memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  const { packed, tape, inputs } = forward;
  const layout = densePackedLayout(sizes);
  const first = (values: FloatArray, offset: number, shape: number[]): tf.Tensor =>
    tf.tensor(Float32Array.from(values.subarray(offset, offset + shape.reduce((a, b) => a * b, 1))), shape);
  const source: Record<DenseDebugName, () => tf.Tensor> = {
    memory: () => first(packed, layout.memory, [cells, width]),
    linkMatrix: () => first(packed, layout.linkMatrix, [cells, cells]),
    precedence: () => first(packed, layout.precedence, [cells]),
    readWeights: () => first(packed, layout.readWeights, [heads, cells]),
    writeWeights: () => first(packed, layout.writeWeights, [cells]),
    usage: () => first(packed, layout.usage, [cells]),
    allocationWeights: () => first(tape.allocationWeights, 0, [cells]),
    writeContentWeights: () => first(tape.writeContentWeights, 0, [cells]),
    readContentWeights: () => first(tape.readContentWeights, 0, [heads, cells]),
    readModes: () => first(inputs.readModes, 0, [heads, 3]),
    freeGates: () => first(inputs.freeGates, 0, [heads]),
    allocationGate: () => first(inputs.allocationGate, 0, [1]),
    writeGate: () => first(inputs.writeGate, 0, [1]),
    readVectors: () => first(packed, layout.readVectors, [heads, width]),
  };
  return denseDebugOutput((name) => source[name]());
}

/** How one fused op reads its input tensors into the kernel's arrays and hands the kernel's gradients back. */
export interface KernelInputs {
  readonly arrays: DenseStepArrays<Float32Array>;
  /**
   * One gradient tensor per op input, in input order, from the kernel's sixteen input gradients; the link matrix's
   * is `linkGradient`, already a tensor (`kernelGradients.prevLinkMatrix` may no longer be readable: do not read it).
   */
  readonly gradients: (kernelGradients: DenseStepArrays<Float32Array>, linkGradient: tf.Tensor) => tf.Tensor[];
}

/**
 * The host values of the tensors this op made, by tensor: the next step reads its previous state from here instead
 * of copying it back out of the backend (`dataSync`), at N 1024 a 32 MB link matrix a step. The arrays are views on
 * the kernel's output, which nothing writes after the step (tensors are immutable, and so are these).
 */
const hostValues = new WeakMap<tf.Tensor, Float32Array>();

/** A float32 input's values: the host copy this op made it from, else one `dataSync`. */
export function hostData(tensor: tf.Tensor, what: string): Float32Array {
  return hostValues.get(tensor) ?? float32Data(tensor, what);
}

/**
 * The seven output tensors, each made at its own shape straight from its block of the kernel's packed output, with
 * that block kept as its host value for the next step. A function of its own so that no closure of the op captures
 * `packed`: the gradient closure lives until back-propagation reaches the step, and would keep the whole output
 * (at N 1024 its 32 MB link matrix) alive with it.
 */
function outputTensors(layout: DensePackedLayout, batch: number, packed: Float32Array): tf.Tensor[] {
  return layout.blocks.map(({ offset, rowShape, rowSize }) => {
    const view = packed.subarray(offset, offset + batch * rowSize);
    const tensor = tf.tensor(view, [batch, ...rowShape]);
    hostValues.set(tensor, view);
    return tensor;
  });
}

/**
 * The packed output gradient of the last backward, kept only weakly: successive steps of one back-propagation reuse
 * it (at N 1024 it is 32 MB, a new one each step was garbage faster than V8 collected it), and between passes it
 * can be collected.
 */
let packedGradientScratch: WeakRef<Float32Array> | undefined;

function packedGradientArray(size: number): Float32Array {
  const reused = packedGradientScratch?.deref();
  if (reused !== undefined && reused.length === size) return reused;
  const fresh = new Float32Array(size);
  packedGradientScratch = new WeakRef(fresh);
  return fresh;
}

/**
 * Drop the host values of outputs already disposed: a disposed tensor is never an input again. Called once the
 * step's backward has run; by then the next step's backward, the only other reader of this step's link matrix,
 * has run too, so the packed output can be collected during back-propagation instead of after it.
 */
function forgetDisposedOutputs(outputs: readonly tf.Tensor[]): void {
  for (const tensor of outputs) if (tensor.isDisposed) hostValues.delete(tensor);
}

/**
 * The shared op: the kernel over `inputs` as one taped op with seven outputs, each made at its own shape straight
 * from the kernel's packed output (no split, no reshape, nothing cloned for the gradient).
 */
export function packedStep(
  sizes: DenseStepSizes,
  inputs: readonly tf.Tensor[],
  read: (tensors: readonly tf.Tensor[]) => KernelInputs,
  debug: boolean,
): MemoryStepResult<DenseMemoryState> {
  const { batch } = sizes;
  const layout = densePackedLayout(sizes);
  const kernelShapes = denseStepInputShapes(sizes);
  let forwardResult: ForwardRecord | undefined;

  const kernel = multiOutputGradient((tensors) => {
    // The gradient closure keeps typed arrays, never tensors (those may be disposed before backprop).
    const { arrays, gradients } = read(tensors);
    const packed = new Float32Array(layout.size);
    // Dropped once the backward has run: it holds this step's inputs (the previous link matrix among them).
    let run: DenseKernelRun | undefined = runDenseStep(sizes, arrays, packed);
    forwardResult = { packed, tape: run.firstRowsTape, inputs: arrays };
    const values = outputTensors(layout, batch, packed);
    return {
      values,
      gradFunc: (dys) => {
        const step = run;
        if (step === undefined) throw new Error("fusedMemoryStep: this step's backward already ran");
        run = undefined;
        // Every block is overwritten from the dys, so the array a previous step used serves as well as a new one.
        const packedGradient = packedGradientArray(layout.size);
        // Each dy is copied as soon as it is read (a wasm heap view is valid until tfjs next allocates).
        dys.forEach((dy, index) => packedGradient.set(transientValues(dy), layout.blocks[index].offset));
        let kernelGradients: DenseStepArrays<Float32Array> | undefined;
        // The link matrix's gradient (B·N², the largest) is written straight into its tensor.
        const linkGradient = tensorFilledInPlace([batch, ...kernelShapes.prevLinkMatrix], (linkValues) => {
          kernelGradients = toArrays(
            DENSE_STEP_INPUT_NAMES.map((name) =>
              name === 'prevLinkMatrix'
                ? linkValues
                : new Float32Array(batch * kernelShapes[name].reduce((a, b) => a * b, 1)),
            ),
          );
          step.backward(packedGradient, kernelGradients);
        });
        forgetDisposedOutputs(values);
        if (kernelGradients === undefined) throw new Error('fusedMemoryStep: the backward produced no gradients');
        return gradients(kernelGradients, linkGradient);
      },
    };
  });

  // In DENSE_STEP_OUTPUT_NAMES order.
  const [readVectors, memory, precedence, readWeights, writeWeights, usage, linkMatrix] = kernel(...inputs);
  const result: MemoryStepResult<DenseMemoryState> = {
    readVectors: readVectors as tf.Tensor3D,
    state: {
      memory: memory as tf.Tensor3D,
      linkMatrix: linkMatrix as tf.Tensor3D,
      precedence: precedence as tf.Tensor2D,
      readWeights: readWeights as tf.Tensor3D,
      writeWeights: writeWeights as tf.Tensor2D,
      usage: usage as tf.Tensor2D,
    },
  };
  const forward = forwardResult;
  // The kernel closure (kept by the gradient tape) shares this scope: drop the record so it does not keep the
  // whole packed output alive until back-propagation.
  forwardResult = undefined;
  if (!debug || forward === undefined) return result;
  return { ...result, debug: debugFor(sizes, forward) };
}
