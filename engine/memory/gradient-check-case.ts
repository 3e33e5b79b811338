/**
 * The finite-difference check of the whole dense memory step (interface layer, usage, allocation through the sorted
 * usage, write, links, reads) against TensorFlow.js's gradients, w.r.t. the interface weights and every
 * previous-state tensor — on whichever backend is active (test-only; `gradient-check.test.ts` runs it on cpu, the
 * webgpu tests on webgpu). Every readout is asynchronous, so it runs on webgpu in Node too.
 *
 * Float32 only, so: central differences with ε = 1e-2 along random unit-max directions, compared with the
 * analytic directional derivative g·v, relative tolerance 1e-2 (floored at 1e-3 absolute). Truncation error is
 * O(ε²) ≈ 1e-4 relative; rounding error is ≈ 1e-7·|loss|/ε ≈ 1e-5. Usages are spread ≥ 0.2 apart so no ±ε
 * perturbation reorders the free list (the sort order is piecewise constant and carries no gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { denseMemoryStep } from './dense-step';
import { fusedMemoryStep } from './fused/fused-memory-step';
import { computeInterfaceRaw, interfaceSize, parseInterface, prepareInterfaceLayer } from './interface';

const [BATCH, INPUT, CELLS, WIDTH, HEADS] = [2, 5, 5, 3, 2];
const EPSILON = 1e-2;
const RELATIVE_TOLERANCE = 1e-2;
const ABSOLUTE_FLOOR = 1e-3;

/** Rows that are distributions scaled to sum `total` (< 1), like read/write weights. */
function scaledSoftmax(shape: number[], total: number, seed: number): tf.Tensor {
  return tf.mul(tf.softmax(tf.randomNormal(shape, 0, 1, 'float32', seed)), total);
}

export const INPUT_NAMES = [
  'weight',
  'bias',
  'memory',
  'linkMatrix',
  'precedence',
  'readWeights',
  'writeWeights',
  'usage',
] as const;

export function makeInputs(): tf.Tensor[] {
  const size = interfaceSize(HEADS, WIDTH);
  const offDiagonal = tf.sub(1, tf.eye(CELLS));
  const usageRows = [
    [0.1, 0.7, 0.3, 0.9, 0.5],
    [0.5, 0.1, 0.9, 0.3, 0.7],
  ];
  return [
    tf.randomUniform([size, INPUT], -0.8, 0.8, 'float32', 1),
    tf.randomUniform([size], -0.5, 0.5, 'float32', 2),
    tf.randomNormal([BATCH, CELLS, WIDTH], 0, 0.5, 'float32', 3),
    tf.mul(tf.randomUniform([BATCH, CELLS, CELLS], 0, 0.2, 'float32', 4), offDiagonal),
    scaledSoftmax([BATCH, CELLS], 0.8, 5),
    scaledSoftmax([BATCH, HEADS, CELLS], 0.9, 6),
    scaledSoftmax([BATCH, CELLS], 0.7, 7),
    tf.tensor2d(usageRows),
  ];
}

export const xi = () => tf.randomNormal<tf.Rank.R2>([BATCH, INPUT], 0, 1, 'float32', 8);
/** Fixed random projections turn every output into one scalar loss. */
export const projections = () => [
  tf.randomNormal([BATCH, HEADS, WIDTH], 0, 1, 'float32', 20),
  tf.randomNormal([BATCH, CELLS, WIDTH], 0, 1, 'float32', 21),
  tf.randomNormal([BATCH, CELLS, CELLS], 0, 1, 'float32', 22),
  tf.randomNormal([BATCH, CELLS], 0, 1, 'float32', 23),
  tf.randomNormal([BATCH, HEADS, CELLS], 0, 1, 'float32', 24),
  tf.randomNormal([BATCH, CELLS], 0, 1, 'float32', 25),
  tf.randomNormal([BATCH, CELLS], 0, 1, 'float32', 26),
];

/** Which implementation of the step: the plain tfjs ops (`dense-step.ts`) or the fused CPU kernel. */
export type StepPath = 'plain' | 'fused';

export function loss(
  inputs: readonly tf.Tensor[],
  controllerOutput: tf.Tensor2D,
  weights: readonly tf.Tensor[],
  path: StepPath = 'plain',
): tf.Scalar {
  const [weight, bias, memory, linkMatrix, precedence, readWeights, writeWeights, usage] = inputs;
  const parameters = new Map<string, tf.Tensor>([
    ['interface_weights.weight', weight],
    ['interface_weights.bias', bias],
  ]);
  const raw = computeInterfaceRaw(controllerOutput, prepareInterfaceLayer(parameters, HEADS, WIDTH, false));
  const prev = {
    memory: memory.as3D(BATCH, CELLS, WIDTH),
    linkMatrix: linkMatrix.as3D(BATCH, CELLS, CELLS),
    precedence: precedence.as2D(BATCH, CELLS),
    readWeights: readWeights.as3D(BATCH, HEADS, CELLS),
    writeWeights: writeWeights.as2D(BATCH, CELLS),
    usage: usage.as2D(BATCH, CELLS),
  };
  const parsed = parseInterface(raw, HEADS, WIDTH);
  const trace = path === 'plain' ? denseMemoryStep(prev, parsed) : fusedMemoryStep(parsed, prev);
  const { state } = trace;
  const outputs = [
    trace.readVectors,
    state.memory,
    state.linkMatrix,
    state.precedence,
    state.readWeights,
    state.writeWeights,
    state.usage,
  ];
  return tf.addN(outputs.map((output, i) => tf.sum(tf.mul(output, weights[i]))));
}

/** What the check found: failed directions (empty when all pass), and each input's largest |gradient|. */
export interface GradientCheckReport {
  readonly failures: readonly string[];
  readonly largestGradient: Readonly<Record<(typeof INPUT_NAMES)[number], number>>;
  /** The analytic gradients, for comparisons across backends. */
  readonly gradients: Readonly<Record<(typeof INPUT_NAMES)[number], Float32Array>>;
}

async function scalar(compute: () => tf.Tensor): Promise<number> {
  const tensor = tf.tidy(compute);
  const [value] = await tensor.data();
  tensor.dispose();
  return value;
}

/** Run the check on the active backend: 3 random directions per input. Leaves no tensors behind. */
export async function checkDenseStepGradient(path: StepPath = 'plain'): Promise<GradientCheckReport> {
  const inputs = tf.tidy(() => makeInputs());
  const controllerOutput = xi();
  const weights = projections();
  const gradients = tf.tidy(() =>
    tf.grads((...args: tf.Tensor[]) => loss(args, controllerOutput, weights, path))(inputs),
  );
  const failures: string[] = [];
  const largestGradient = {} as Record<(typeof INPUT_NAMES)[number], number>;
  const values = {} as Record<(typeof INPUT_NAMES)[number], Float32Array>;
  try {
    for (const [index, name] of INPUT_NAMES.entries()) {
      for (let trial = 0; trial < 3; trial++) {
        const direction = tf.randomUniform(inputs[index].shape, -1, 1, 'float32', 100 + 10 * index + trial);
        const shifted = (sign: number) =>
          scalar(() =>
            loss(
              inputs.map((input, i) => (i === index ? tf.add(input, tf.mul(direction, sign * EPSILON)) : input)),
              controllerOutput,
              weights,
              path,
            ),
          );
        const numeric = ((await shifted(1)) - (await shifted(-1))) / (2 * EPSILON);
        const analytic = await scalar(() => tf.sum(tf.mul(gradients[index], direction)));
        direction.dispose();
        const scale = Math.max(Math.abs(numeric), Math.abs(analytic), ABSOLUTE_FLOOR / RELATIVE_TOLERANCE);
        if (!(Math.abs(numeric - analytic) <= RELATIVE_TOLERANCE * scale)) {
          failures.push(`${name} trial ${trial}: numeric ${numeric}, analytic ${analytic}`);
        }
      }
      largestGradient[name] = await scalar(() => tf.max(tf.abs(gradients[index])));
      values[name] = Float32Array.from(await gradients[index].data());
    }
  } finally {
    tf.dispose([...inputs, controllerOutput, ...weights, ...gradients]);
  }
  return { failures, largestGradient, gradients: values };
}
