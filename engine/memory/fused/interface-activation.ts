/**
 * The interface activations of the DNC (Graves et al. 2016, Methods "Interface parameters"; pytorch-dnc 2.0's
 * choices, see `../interface.ts`) on typed arrays, with their analytic backward, so the fused memory step can take
 * the raw interface vector ξ_raw = ξ Wᵀ + b and a DNC step is one matMul plus one op. Per batch row and part of the
 * packed layout (`interfaceLayout`):
 *   tanh (read keys, write key, write vector):       y = tanh(x),       dx = dy·(1 − y²)
 *   softplus (read and write strengths):             y = log(1 + eˣ),   dx = dy·σ(x)
 *   sigmoid (erase vector, free/allocation/write gates): y = σ(x),      dx = dy·y(1 − y)
 *   softmax per head over the 3 read modes:          y = softmax(x),    dx_i = y_i·(dy_i − Σ_j dy_j y_j)
 * Softplus follows tfjs's kernel (identity above −log ε − 2 ≈ 13.9, eˣ below log ε + 2) so the fused and the
 * plain tfjs paths agree to float rounding.
 */
import { READ_MODE_COUNT, interfaceLayout, interfaceSize, type InterfaceActivation } from '../interface';
import type { DenseStepArrays, DenseStepSizes, FloatArray } from './dense-step-layout';

/** The ten interface parts of the fused step's inputs, in layout order. */
export type InterfacePartName =
  | 'readKeys'
  | 'readStrengths'
  | 'writeKey'
  | 'writeStrength'
  | 'eraseVector'
  | 'writeVector'
  | 'freeGates'
  | 'allocationGate'
  | 'writeGate'
  | 'readModes';

/** Activated interface parts, each `[batch, part length]` row-major (see `DenseStepArrays`). */
export type InterfaceArrays<A extends FloatArray = FloatArray> = Pick<DenseStepArrays<A>, InterfacePartName>;

// tfjs's softplus switch points (tfjs-core softplus kernel): float32 epsilon.
const SOFTPLUS_THRESHOLD = Math.log(1.1920928955078125e-7) + 2;

function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

function softplus(value: number): number {
  if (value > -SOFTPLUS_THRESHOLD) return value;
  if (value < SOFTPLUS_THRESHOLD) return Math.exp(value);
  return Math.log1p(Math.exp(value));
}

interface PartSpan {
  readonly name: InterfacePartName;
  readonly offset: number;
  readonly length: number;
  readonly activation: InterfaceActivation;
}

function partSpans(sizes: DenseStepSizes): readonly PartSpan[] {
  return interfaceLayout(sizes.readHeads, sizes.cellSize).map(({ name, offset, length, activation }) => ({
    name,
    offset,
    length,
    activation,
  }));
}

/** Allocate one Float32Array per part, `[batch, length]`. */
export function allocateInterfaceArrays(sizes: DenseStepSizes): InterfaceArrays<Float32Array> {
  const entries = partSpans(sizes).map((part) => [part.name, new Float32Array(sizes.batch * part.length)] as const);
  return Object.fromEntries(entries) as Record<InterfacePartName, Float32Array>;
}

/**
 * Forward: the raw interface `[batch, RW+3W+5R+3]` into the activated parts.
 * @param raw ξ_raw, row-major `[batch, interfaceSize]`
 * @param out the activated parts (written), e.g. from `allocateInterfaceArrays`
 */
export function activateInterface(sizes: DenseStepSizes, raw: FloatArray, out: InterfaceArrays): void {
  const width = interfaceSize(sizes.readHeads, sizes.cellSize);
  if (raw.length !== sizes.batch * width) {
    throw new Error(
      `activateInterface: raw must hold batch·${width} = ${sizes.batch * width} values, got ${raw.length}`,
    );
  }
  for (const part of partSpans(sizes)) {
    const target = out[part.name];
    for (let b = 0; b < sizes.batch; b++) {
      const source = b * width + part.offset;
      const row = b * part.length;
      if (part.activation === 'softmaxPerHead') {
        for (let head = 0; head < part.length; head += READ_MODE_COUNT) {
          let largest = -Infinity;
          for (let k = 0; k < READ_MODE_COUNT; k++) largest = Math.max(largest, raw[source + head + k]);
          let total = 0;
          for (let k = 0; k < READ_MODE_COUNT; k++) total += Math.exp(raw[source + head + k] - largest);
          for (let k = 0; k < READ_MODE_COUNT; k++)
            target[row + head + k] = Math.exp(raw[source + head + k] - largest) / total;
        }
        continue;
      }
      // One loop per activation: a call through a function variable here is not inlined and cost ≈1.7× as much.
      if (part.activation === 'tanh')
        for (let k = 0; k < part.length; k++) target[row + k] = Math.tanh(raw[source + k]);
      else if (part.activation === 'sigmoid')
        for (let k = 0; k < part.length; k++) target[row + k] = sigmoid(raw[source + k]);
      else for (let k = 0; k < part.length; k++) target[row + k] = softplus(raw[source + k]);
    }
  }
}

/**
 * Backward: gradients of the activated parts into the gradient of the raw interface.
 * @param raw ξ_raw as given to the forward (softplus needs x, the others their output)
 * @param activated the forward's output parts
 * @param gradients d loss / d part, same layout as `activated`
 * @param rawGradient d loss / d ξ_raw, `[batch, interfaceSize]` (written)
 */
export function activateInterfaceBackward(
  sizes: DenseStepSizes,
  raw: FloatArray,
  activated: InterfaceArrays,
  gradients: InterfaceArrays,
  rawGradient: FloatArray,
): void {
  const width = interfaceSize(sizes.readHeads, sizes.cellSize);
  for (const part of partSpans(sizes)) {
    const value = activated[part.name];
    const upstream = gradients[part.name];
    for (let b = 0; b < sizes.batch; b++) {
      const target = b * width + part.offset;
      const row = b * part.length;
      for (let k = 0; k < part.length; k++) {
        const y = value[row + k];
        const dy = upstream[row + k];
        switch (part.activation) {
          case 'tanh':
            rawGradient[target + k] = dy * (1 - y * y);
            break;
          case 'sigmoid':
            rawGradient[target + k] = dy * y * (1 - y);
            break;
          case 'softplus':
            rawGradient[target + k] = dy * sigmoid(raw[target + k]);
            break;
          case 'softmaxPerHead': {
            const head = k - (k % READ_MODE_COUNT);
            let weighted = 0;
            for (let j = 0; j < READ_MODE_COUNT; j++) weighted += upstream[row + head + j] * value[row + head + j];
            rawGradient[target + k] = y * (dy - weighted);
            break;
          }
        }
      }
    }
  }
}
