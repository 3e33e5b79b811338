/**
 * The fused kernel's analytic backward against central finite differences, all in Float64 so the check is tight,
 * on small unequal sizes with tie-free random states (and planted extremes: a free gate of 1, a zero memory row).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denseStepForward } from './dense-step-kernel';
import { denseStepTapeBytes, tapeOnBuffer } from './dense-step-tape';
import {
  DENSE_STEP_INPUT_NAMES,
  denseRowOffsets,
  densePackedLayout,
  type DenseStepArrays,
  type DenseStepInputName,
  type DenseStepSizes,
} from './dense-step-layout';
import { denseStepBackward } from './dense-step-kernel-backward';
import { randomStepInputs as randomInputs, seededRandom } from './random-step-inputs';

/** Loss = Σ packed ⊙ projection, a fixed random projection of every output. */
function lossOf(sizes: DenseStepSizes, inputs: DenseStepArrays, projection: Float64Array): number {
  const packed = new Float64Array(projection.length);
  denseStepForward(sizes, inputs, packed);
  let loss = 0;
  for (let i = 0; i < packed.length; i++) loss += packed[i] * projection[i];
  return loss;
}

function checkGradients(sizes: DenseStepSizes, inputs: DenseStepArrays<Float64Array>, seed: number): void {
  const layout = densePackedLayout(sizes);
  const random = seededRandom(seed + 1000);
  const projection = Float64Array.from({ length: layout.size }, () => random() * 2 - 1);
  const packed = new Float64Array(projection.length);
  const tape = denseStepForward(sizes, inputs, packed);
  const gradients = Object.fromEntries(
    DENSE_STEP_INPUT_NAMES.map((name) => [name, new Float64Array(inputs[name].length)]),
  ) as Record<DenseStepInputName, Float64Array>;
  denseStepBackward(sizes, inputs, packed, tape, projection, gradients);
  const step = 1e-6;
  for (const name of DENSE_STEP_INPUT_NAMES) {
    const values = inputs[name];
    for (let i = 0; i < values.length; i++) {
      const original = values[i];
      values[i] = original + step;
      const up = lossOf(sizes, inputs, projection);
      values[i] = original - step;
      const down = lossOf(sizes, inputs, projection);
      values[i] = original;
      const numeric = (up - down) / (2 * step);
      const analytic = gradients[name][i];
      const tolerance = 1e-6 + 1e-5 * Math.abs(numeric);
      assert.ok(
        Math.abs(analytic - numeric) <= tolerance,
        `d loss / d ${name}[${i}]: analytic ${analytic}, finite difference ${numeric}`,
      );
    }
  }
}

test('analytic gradients match central finite differences (B 2, N 5, W 3, R 2)', () => {
  const sizes = { batch: 2, memorySize: 5, cellSize: 3, readHeads: 2 };
  checkGradients(sizes, randomInputs(sizes, 7), 7);
});

test('analytic gradients match finite differences at one read head (B 2, N 5, W 3, R 1: its own loop)', () => {
  const sizes = { batch: 2, memorySize: 5, cellSize: 3, readHeads: 1 };
  checkGradients(sizes, randomInputs(sizes, 13), 13);
});

test('analytic gradients match finite differences (B 1, N 7, W 4, R 3) with one read head fully freed', () => {
  const sizes = { batch: 1, memorySize: 7, cellSize: 4, readHeads: 3 };
  const inputs = randomInputs(sizes, 11);
  // A free gate of 1 with a read weight of 1 zeroes a retention factor; prefix/suffix products must still give the
  // other heads' gradient (a division by the factor would not).
  inputs.freeGates[1] = 1;
  inputs.prevReadWeights.fill(0, 7, 14);
  inputs.prevReadWeights[7 + 2] = 1;
  checkGradients(sizes, inputs, 11);
});

test('allocation puts the least-used cell first and breaks ties by the lowest index', () => {
  const sizes = { batch: 1, memorySize: 4, cellSize: 2, readHeads: 1 };
  const inputs = randomInputs(sizes, 3);
  inputs.prevUsage.set([0.5, 0.2, 0.2, 0.9]);
  inputs.prevWriteWeights.fill(0);
  inputs.freeGates.fill(0);
  const tape = denseStepForward(sizes, inputs, new Float64Array(densePackedLayout(sizes).size));
  assert.deepEqual(Array.from(tape.sortOrder), [1, 2, 0, 3]);
  const clamped = (u: number) => 1e-6 + (1 - 1e-6) * u;
  const expected = [
    (1 - clamped(0.5)) * clamped(0.2) * clamped(0.2),
    1 - clamped(0.2),
    (1 - clamped(0.2)) * clamped(0.2),
    (1 - clamped(0.9)) * clamped(0.2) * clamped(0.2) * clamped(0.5),
  ];
  expected.forEach((value, cell) =>
    assert.ok(Math.abs(tape.allocationWeights[cell] - value) < 1e-12, `allocation[${cell}]`),
  );
});

test('the free list is the stable ascending order of the float32 usages, by insertion and by sort alike', () => {
  // Few distinct usages, some a float32-invisible step apart, at N below and above the insertion-sort limit (64).
  for (const cells of [7, 16, 64, 65, 130]) {
    const sizes = { batch: 2, memorySize: cells, cellSize: 2, readHeads: 1 };
    const inputs = randomInputs(sizes, cells);
    const random = seededRandom(cells);
    const levels = [0, 0.25, 0.25 + 1e-12, 0.5, 0.75, 1];
    const level = () => levels[Math.floor(random() * levels.length)];
    for (let i = 0; i < inputs.prevUsage.length; i++) inputs.prevUsage[i] = level();
    inputs.prevWriteWeights.fill(0);
    inputs.freeGates.fill(0);
    const tape = denseStepForward(sizes, inputs, new Float64Array(densePackedLayout(sizes).size));
    for (let b = 0; b < sizes.batch; b++) {
      const key = (cell: number) => Math.fround(1e-6 + (1 - 1e-6) * inputs.prevUsage[b * cells + cell]);
      const expected = Array.from({ length: cells }, (_, cell) => cell).sort((x, y) => key(x) - key(y) || x - y);
      assert.deepEqual(Array.from(tape.sortOrder.subarray(b * cells, (b + 1) * cells)), expected, `N ${cells}, b ${b}`);
    }
  }
});

test('an all-zero state: finite outputs, gradients all written, zero link diagonal, weightings sum ≤ 1', () => {
  const sizes = { batch: 2, memorySize: 6, cellSize: 3, readHeads: 2 };
  const inputs = randomInputs(sizes, 5);
  for (const name of [
    'prevMemory',
    'prevLinkMatrix',
    'prevPrecedence',
    'prevReadWeights',
    'prevWriteWeights',
    'prevUsage',
  ] as const) {
    inputs[name].fill(0);
  }
  const layout = densePackedLayout(sizes);
  const packed = new Float64Array(layout.size);
  const tape = denseStepForward(sizes, inputs, packed);
  const gradients = Object.fromEntries(
    DENSE_STEP_INPUT_NAMES.map((name) => [name, new Float64Array(inputs[name].length)]),
  ) as Record<DenseStepInputName, Float64Array>;
  // Gradient arrays come in dirty: the backward must overwrite every entry, not accumulate onto old values.
  for (const name of DENSE_STEP_INPUT_NAMES) gradients[name].fill(Number.NaN);
  denseStepBackward(sizes, inputs, packed, tape, new Float64Array(packed.length).fill(1), gradients);
  assert.ok(packed.every(Number.isFinite), 'outputs finite');
  for (const name of DENSE_STEP_INPUT_NAMES)
    assert.ok(gradients[name].every(Number.isFinite), `${name} gradient finite`);
  for (let b = 0; b < sizes.batch; b++) {
    const out = denseRowOffsets(layout, sizes, b);
    for (let n = 0; n < sizes.memorySize; n++) assert.equal(packed[out.linkMatrix + n * sizes.memorySize + n], 0);
    const writeSum = packed.subarray(out.writeWeights, out.writeWeights + sizes.memorySize).reduce((a, v) => a + v, 0);
    assert.ok(writeSum <= 1 + 1e-12 && writeSum >= 0, `write weights sum ${writeSum}`);
    for (let h = 0; h < sizes.readHeads; h++) {
      const start = out.readWeights + h * sizes.memorySize;
      const readSum = packed.subarray(start, start + sizes.memorySize).reduce((a, v) => a + v, 0);
      assert.ok(readSum <= 1 + 1e-12 && readSum >= 0, `read weights sum ${readSum}`);
    }
  }
});

test('a tape laid out on a shared buffer, reused dirty, holds exactly what a fresh tape holds', () => {
  const sizes: DenseStepSizes = { batch: 3, memorySize: 5, cellSize: 4, readHeads: 2 };
  const inputs = randomInputs(sizes, 17);
  const layout = densePackedLayout(sizes);
  const fresh = denseStepForward(sizes, inputs, new Float64Array(layout.size));
  const buffer = new SharedArrayBuffer(8 + denseStepTapeBytes(sizes));
  // Garbage first, as a pooled buffer would hold: the forward must start from zeros (some entries accumulate).
  new Uint8Array(buffer).fill(0x7f);
  const reused = denseStepForward(sizes, inputs, new Float64Array(layout.size), tapeOnBuffer(sizes, buffer, 8));
  for (const [name, array] of Object.entries(fresh)) {
    assert.deepEqual(Array.from(reused[name as keyof typeof fresh]), Array.from(array), name);
  }
  assert.throws(() => tapeOnBuffer(sizes, buffer, 4), /tapeOnBuffer: byteOffset must be a multiple of 8, got 4/);
  // The views tile the buffer: the last byte of the tape is the last byte of the last view.
  const views = Object.values(tapeOnBuffer(sizes, buffer, 8)) as ArrayBufferView[];
  const end = Math.max(...views.map((view) => view.byteOffset + view.byteLength));
  assert.equal(end, 8 + denseStepTapeBytes(sizes));
});
