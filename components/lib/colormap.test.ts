import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoScale, colorTable, finiteRange, fixedScale, mapValues, NON_FINITE_PACKED, unpackRgb } from './colormap';

test('viridis runs from dark purple to yellow', () => {
  const t = colorTable('viridis');
  assert.equal(t.length, 256);
  assert.deepEqual(unpackRgb(t[0]), [68, 1, 84]);
  assert.deepEqual(unpackRgb(t[255]), [253, 231, 37]);
  assert.equal(t[0] >>> 24, 255, 'opaque');
});

test('mapValues clamps to the range and marks non-finite values', () => {
  const t = colorTable('viridis');
  const out = new Uint32Array(5);
  mapValues([-5, 0, 1, 7, NaN], out, t, 0, 1);
  assert.equal(out[0], t[0]);
  assert.equal(out[1], t[0]);
  assert.equal(out[2], t[255]);
  assert.equal(out[3], t[255]);
  assert.equal(out[4], NON_FINITE_PACKED);
  const mid = new Uint32Array(1);
  mapValues([0.5], mid, t, 0, 1);
  assert.equal(mid[0], t[127]);
});

test('mapValues refuses an output that is too short', () => {
  assert.throws(
    () => mapValues([1, 2], new Uint32Array(1), colorTable('viridis'), 0, 1),
    /out has 1 words for 2 values/,
  );
});

test('finiteRange ignores NaN and infinities', () => {
  assert.deepEqual(finiteRange([3, NaN, -2, Infinity]), [-2, 3]);
  assert.equal(finiteRange([NaN, Infinity]), null);
  assert.equal(finiteRange([]), null);
});

test('autoScale picks a symmetric diverging scale for signed data and viridis for weightings', () => {
  assert.deepEqual(autoScale([-0.2, 0.5]), { map: 'diverging', min: -0.5, max: 0.5 });
  assert.deepEqual(autoScale([0.1, 0.9]), { map: 'viridis', min: 0, max: 0.9 });
  assert.deepEqual(autoScale([0.6, 0.9]), { map: 'viridis', min: 0.6, max: 0.9 });
  const flat = autoScale([0, 0]);
  assert.ok(flat.max > flat.min, 'a constant tensor still gets a valid range');
  assert.deepEqual(autoScale(null), { map: 'viridis', min: 0, max: 1 });
});

test('fixedScale rejects an empty range, naming the values', () => {
  assert.throws(() => fixedScale(1, 1), /min=1 max=1/);
  assert.equal(fixedScale(-1, 1).map, 'diverging');
  assert.equal(fixedScale(0, 1).map, 'viridis');
});
