/**
 * The WebAssembly SIMD link pass (`link-pass-simd.ts`) against the JavaScript kernel it copies: the same float32
 * step run with `setDenseStepSimd('off')` and `'auto'` gives the same packed outputs, temporal weightings and input
 * gradients within float32 rounding, on sizes with N a multiple of 4 and not, batches of 1 and 5, one and three
 * read heads; and the switch, the environment variable and the float64 path behave as documented.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { denseStepForward } from './dense-step-kernel';
import { denseStepBackward } from './dense-step-kernel-backward';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepArrays,
  densePackedLayout,
  type DenseStepArrays,
  type DenseStepSizes,
} from './dense-step-layout';
import { denseStepSimdMode, setDenseStepSimd, linkPassSimdApplies } from './link-pass-simd';
import { randomStepInputs, seededRandom } from './random-step-inputs';

/**
 * Float32 arithmetic in a different order (four lanes, float32 accumulators, sums over N ≤ 67 terms) against the
 * JavaScript kernel's doubles rounded to float32: every element within 1e-5 of the array's largest magnitude. A
 * gradient element can be a difference of larger terms, so its error is bounded relative to the array's scale,
 * not its own value.
 */
const RELATIVE_TOLERANCE = 1e-5;

function float32Inputs(sizes: DenseStepSizes, seed: number): DenseStepArrays<Float32Array> {
  const inputs = randomStepInputs(sizes, seed);
  return denseStepArrays(DENSE_STEP_INPUT_NAMES.map((name) => Float32Array.from(inputs[name])));
}

interface StepResult {
  readonly packed: Float32Array;
  readonly forwardWeights: Float64Array;
  readonly backwardWeights: Float64Array;
  readonly gradients: DenseStepArrays<Float32Array>;
}

function step(sizes: DenseStepSizes, seed: number): StepResult {
  const inputs = float32Inputs(sizes, seed);
  const layout = densePackedLayout(sizes);
  const packed = new Float32Array(layout.size);
  const tape = denseStepForward(sizes, inputs, packed);
  const random = seededRandom(seed + 99);
  const packedGradient = Float32Array.from({ length: layout.size }, () => random() * 2 - 1);
  const gradients = denseStepArrays(DENSE_STEP_INPUT_NAMES.map((name) => new Float32Array(inputs[name].length)));
  denseStepBackward(sizes, inputs, packed.slice(0, layout.linkMatrix), tape, packedGradient, gradients);
  return { packed, forwardWeights: tape.forwardWeights, backwardWeights: tape.backwardWeights, gradients };
}

/** Largest |simd − js| over the array, as a fraction of the array's largest |js| (0 for an all-zero array). */
function scaledError(simd: ArrayLike<number>, js: ArrayLike<number>): number {
  let scale = 0;
  let error = 0;
  for (let i = 0; i < js.length; i++) {
    scale = Math.max(scale, Math.abs(js[i]));
    error = Math.max(error, Math.abs(simd[i] - js[i]));
  }
  return scale === 0 ? error : error / scale;
}

function compare(simd: StepResult, js: StepResult, sizes: DenseStepSizes): void {
  const layout = densePackedLayout(sizes);
  const checks: [string, ArrayLike<number>, ArrayLike<number>][] = [
    ['packed outputs', simd.packed, js.packed],
    ['link matrix', simd.packed.subarray(layout.linkMatrix), js.packed.subarray(layout.linkMatrix)],
    ['forward weights f', simd.forwardWeights, js.forwardWeights],
    ['backward weights b', simd.backwardWeights, js.backwardWeights],
    ...DENSE_STEP_INPUT_NAMES.map((name): [string, ArrayLike<number>, ArrayLike<number>] => [
      `d loss / d ${name}`,
      simd.gradients[name],
      js.gradients[name],
    ]),
  ];
  for (const [what, simdValues, jsValues] of checks) {
    assert.equal(simdValues.length, jsValues.length, what);
    for (let i = 0; i < simdValues.length; i++) assert.ok(Number.isFinite(simdValues[i]), `${what}[${i}] finite`);
    const error = scaledError(simdValues, jsValues);
    assert.ok(error <= RELATIVE_TOLERANCE, `${what}: SIMD differs from JavaScript by ${error} of the array's scale`);
  }
}

after(() => setDenseStepSimd(null));

const SIZES: DenseStepSizes[] = [
  { batch: 1, memorySize: 5, cellSize: 3, readHeads: 1 },
  { batch: 5, memorySize: 13, cellSize: 4, readHeads: 3 },
  { batch: 5, memorySize: 32, cellSize: 6, readHeads: 1 },
  { batch: 1, memorySize: 67, cellSize: 5, readHeads: 2 },
  { batch: 2, memorySize: 4, cellSize: 2, readHeads: 1 },
];

for (const sizes of SIZES) {
  const { batch, memorySize, cellSize, readHeads } = sizes;
  const shape = `B ${batch}, N ${memorySize}, W ${cellSize}, R ${readHeads}`;
  test(`SIMD link pass equals the JavaScript kernel (${shape})`, () => {
    const seed = 17 * memorySize + batch;
    setDenseStepSimd('off');
    const js = step(sizes, seed);
    setDenseStepSimd('auto');
    const simd = step(sizes, seed);
    compare(simd, js, sizes);
    // The SIMD path really ran: float32 sums in another order differ from the rounded doubles somewhere.
    const layout = densePackedLayout(sizes);
    const links = simd.packed.subarray(layout.linkMatrix);
    const jsLinks = js.packed.subarray(layout.linkMatrix);
    const differs =
      links.some((value, i) => value !== jsLinks[i]) ||
      simd.forwardWeights.some((value, i) => value !== js.forwardWeights[i]) ||
      simd.gradients.prevLinkMatrix.some((value, i) => value !== js.gradients.prevLinkMatrix[i]);
    assert.ok(differs, 'the SIMD run gave the JavaScript bits exactly: it did not take the SIMD path');
    for (let b = 0; b < batch; b++) {
      for (let n = 0; n < memorySize; n++) {
        const at = layout.linkMatrix + (b * memorySize + n) * memorySize + n;
        assert.equal(simd.packed[at], 0, `link diagonal [${b}, ${n}]`);
        assert.equal(simd.gradients.prevLinkMatrix[at - layout.linkMatrix], 0, `link gradient diagonal [${b}, ${n}]`);
      }
    }
  });
}

test('SIMD is used for float32 arrays only, and never when switched off', () => {
  setDenseStepSimd('auto');
  assert.equal(linkPassSimdApplies(new Float32Array(4), new Float32Array(4)), true);
  assert.equal(linkPassSimdApplies(new Float32Array(4), new Float64Array(4)), false);
  setDenseStepSimd('off');
  assert.equal(linkPassSimdApplies(new Float32Array(4)), false);
});

test('ENGRAM_DENSE_SIMD selects the mode; an unknown value is refused by name', () => {
  const saved = process.env.ENGRAM_DENSE_SIMD;
  try {
    setDenseStepSimd(null);
    process.env.ENGRAM_DENSE_SIMD = 'off';
    assert.equal(denseStepSimdMode(), 'off');
    delete process.env.ENGRAM_DENSE_SIMD;
    assert.equal(denseStepSimdMode(), 'auto');
    process.env.ENGRAM_DENSE_SIMD = 'fast';
    assert.throws(() => denseStepSimdMode(), /ENGRAM_DENSE_SIMD must be 'auto' or 'off', got 'fast'/);
    setDenseStepSimd('off');
    assert.equal(denseStepSimdMode(), 'off', 'the override wins over the environment');
  } finally {
    if (saved === undefined) delete process.env.ENGRAM_DENSE_SIMD;
    else process.env.ENGRAM_DENSE_SIMD = saved;
    setDenseStepSimd(null);
  }
});

test('a float64 step (gradient checks) gives the same bits with SIMD on and off', () => {
  const sizes: DenseStepSizes = { batch: 2, memorySize: 9, cellSize: 3, readHeads: 2 };
  const run = () => {
    const inputs = randomStepInputs(sizes, 5);
    const packed = new Float64Array(densePackedLayout(sizes).size);
    denseStepForward(sizes, inputs, packed);
    return packed;
  };
  setDenseStepSimd('off');
  const js = run();
  setDenseStepSimd('auto');
  assert.deepEqual(run(), js);
});
