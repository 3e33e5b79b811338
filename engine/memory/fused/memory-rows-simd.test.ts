/**
 * The WebAssembly SIMD memory rows (`memory-rows-simd.ts`: content dots and norms, erase/write, read vectors and
 * their gradients) against the JavaScript kernel they copy: the same float32 step run with `setDenseStepSimd('off')`
 * and `'auto'` gives the same packed outputs and all 16 input gradients within float32 rounding, on widths with and
 * without a tail (W mod 4 ≠ 0, W < 4), cell counts that are and are not multiples of 4, one to four read heads, and
 * batches of 1 to 5; and the rows are taken for float32 steps only, never when switched off.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { densePackedLayout, type DenseStepSizes } from './dense-step-layout';
import { setDenseStepSimd } from './link-pass-simd';
import { memoryRowsSimdApplies } from './memory-rows-simd';
import { assertStepsClose, seededStep } from './simd-step-comparison';

after(() => setDenseStepSimd(null));

const SIZES: DenseStepSizes[] = [
  { batch: 1, memorySize: 5, cellSize: 3, readHeads: 1 },
  { batch: 5, memorySize: 13, cellSize: 7, readHeads: 3 },
  { batch: 3, memorySize: 16, cellSize: 20, readHeads: 4 },
  { batch: 2, memorySize: 6, cellSize: 32, readHeads: 2 },
  { batch: 4, memorySize: 9, cellSize: 9, readHeads: 2 },
  { batch: 3, memorySize: 11, cellSize: 5, readHeads: 4 },
];

for (const sizes of SIZES) {
  const { batch, memorySize, cellSize, readHeads } = sizes;
  const shape = `B ${batch}, N ${memorySize}, W ${cellSize}, R ${readHeads}`;
  test(`SIMD memory rows equal the JavaScript kernel (${shape})`, () => {
    const seed = 31 * cellSize + memorySize + batch;
    setDenseStepSimd('off');
    const js = seededStep(sizes, seed);
    setDenseStepSimd('auto');
    const simd = seededStep(sizes, seed);
    assertStepsClose(simd, js, sizes);
    // The SIMD rows really ran: float32 sums in another order differ from the rounded doubles somewhere.
    const layout = densePackedLayout(sizes);
    const differs = (name: 'readVectors' | 'memory') => {
      const block = layout.blocks.find((entry) => entry.name === name);
      assert.ok(block !== undefined, name);
      const end = block.offset + batch * block.rowSize;
      return simd.packed.subarray(block.offset, end).some((value, i) => value !== js.packed[block.offset + i]);
    };
    const gradientDiffers = (name: 'prevMemory' | 'readKeys' | 'eraseVector') =>
      simd.gradients[name].some((value, i) => value !== js.gradients[name][i]);
    assert.ok(
      differs('readVectors') || differs('memory') || gradientDiffers('prevMemory') || gradientDiffers('readKeys'),
      'the SIMD run gave the JavaScript bits exactly: it did not take the SIMD rows',
    );
  });
}

// At W ≤ 2 a key's gradient is a near cancellation (the cosine of two-element vectors barely depends on the key), so
// float32 arithmetic in any order is far from the doubles: the JavaScript loops on float32 arrays are 1.1e-5 of the
// array's scale from float64 here, the SIMD rows 3.4e-5. Both are held to the float64 loops instead, at the 1e-4
// of the pytorch-dnc parity fixtures.
test('SIMD memory rows at W 2 stay within 1e-4 of the float64 loops', () => {
  const sizes: DenseStepSizes = { batch: 2, memorySize: 4, cellSize: 2, readHeads: 1 };
  const reference = seededStep(sizes, 68, true);
  setDenseStepSimd('off');
  assertStepsClose(seededStep(sizes, 68), reference, sizes, 1e-4);
  setDenseStepSimd('auto');
  assertStepsClose(seededStep(sizes, 68), reference, sizes, 1e-4);
});

test('SIMD memory rows are used for float32 arrays only, and never when switched off', () => {
  setDenseStepSimd('auto');
  assert.equal(memoryRowsSimdApplies(new Float32Array(4), new Float32Array(4)), true);
  assert.equal(memoryRowsSimdApplies(new Float32Array(4), new Float64Array(4)), false);
  setDenseStepSimd('off');
  assert.equal(memoryRowsSimdApplies(new Float32Array(4)), false);
});
