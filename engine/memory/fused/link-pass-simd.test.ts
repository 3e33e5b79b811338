/**
 * The WebAssembly SIMD link pass (`link-pass-simd.ts`) against the JavaScript kernel it copies: the same float32
 * step run with `setDenseStepSimd('off')` and `'auto'` gives the same packed outputs, temporal weightings and input
 * gradients within float32 rounding, on sizes with N a multiple of 4 and not, batches of 1 and 5, one and three
 * read heads; and the switch, the environment variable and the float64 path behave as documented.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { denseStepForward } from './dense-step-kernel';
import { densePackedLayout, type DenseStepSizes } from './dense-step-layout';
import { denseStepSimdMode, setDenseStepSimd, linkPassSimdApplies } from './link-pass-simd';
import { randomStepInputs } from './random-step-inputs';
import { assertStepsClose, seededStep } from './simd-step-comparison';

after(() => setDenseStepSimd(null));

const SIZES: DenseStepSizes[] = [
  { batch: 1, memorySize: 5, cellSize: 3, readHeads: 1 },
  { batch: 5, memorySize: 13, cellSize: 4, readHeads: 3 },
  { batch: 5, memorySize: 32, cellSize: 6, readHeads: 1 },
  { batch: 1, memorySize: 67, cellSize: 5, readHeads: 2 },
  { batch: 2, memorySize: 4, cellSize: 2, readHeads: 1 },
  // Past 2^20 link floats per chunk: chunks of 2, 2 and 1 batch rows (N 600, stride 600).
  { batch: 5, memorySize: 600, cellSize: 3, readHeads: 2 },
];

for (const sizes of SIZES) {
  const { batch, memorySize, cellSize, readHeads } = sizes;
  const shape = `B ${batch}, N ${memorySize}, W ${cellSize}, R ${readHeads}`;
  test(`SIMD link pass equals the JavaScript kernel (${shape})`, () => {
    const seed = 17 * memorySize + batch;
    setDenseStepSimd('off');
    const js = seededStep(sizes, seed);
    setDenseStepSimd('auto');
    const simd = seededStep(sizes, seed);
    assertStepsClose(simd, js, sizes);
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
