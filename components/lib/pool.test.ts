import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pooledGrid, poolValues } from './pool';

test('small views are not pooled and come back as the same array', () => {
  const grid = pooledGrid(16, 16, 64);
  assert.deepEqual(grid, { rows: 16, cols: 16, rowBin: 1, colBin: 1 });
  const v = new Float32Array(256);
  assert.equal(poolValues(v, 16, 16, grid), v);
});

test('large views pool to the limit keeping the largest magnitude and any NaN per bin', () => {
  const grid = pooledGrid(10, 3, 4);
  assert.deepEqual(grid, { rows: 4, cols: 3, rowBin: 3, colBin: 1 });
  const v = new Float32Array(30);
  v[1 * 3 + 0] = -5; // row 1 → bin 0
  v[0 * 3 + 0] = 2;
  v[4 * 3 + 2] = NaN; // row 4 → bin 1
  v[5 * 3 + 2] = 9;
  v[9 * 3 + 1] = 0.5; // row 9 → bin 3
  const out = poolValues(v, 10, 3, grid);
  assert.equal(out.length, 12);
  assert.equal(out[0], -5);
  assert.ok(Number.isNaN(out[1 * 3 + 2]));
  assert.equal(out[3 * 3 + 1], 0.5);
  assert.throws(() => poolValues(v, 5, 5, grid), /30 values for 5×5/);
});

test('a 100k-cell memory fits a canvas', () => {
  const grid = pooledGrid(100_000, 64);
  assert.ok(grid.rows <= 4096 && grid.cols === 64);
  assert.equal(grid.rowBin, 25);
});
