import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DenseArray, DenseJsonError, parseDenseJson } from './dense-json';

const parse = (text: string, maxValues = 1 << 22) => parseDenseJson(Buffer.from(text), { maxValues, minValues: 4 });

test('a large numeric matrix becomes a DenseArray with the same values; the rest parses as JSON.parse would', () => {
  const z = Array.from({ length: 5 }, (_, r) => Array.from({ length: 7 }, (_, c) => Math.sin(r * 7 + c) * 10 ** r));
  const doc = { data: [{ z, type: 'heatmap', name: 'a [bracket] "q"' }], win: 'w', opts: { list: [1, 2] } };
  const parsed = parse(JSON.stringify(doc)) as { data: { z: DenseArray; type: string; name: string }[]; win: string };
  const dense = parsed.data[0].z;
  assert.ok(dense instanceof DenseArray);
  assert.deepEqual(dense.shape, [5, 7]);
  // Exact at float32 (what heatmaps keep); doubles within a few units in the last place.
  z.flat().forEach((v, i) => {
    assert.equal(Math.fround(dense.data[i]), Math.fround(v), `value ${i}`);
    assert.ok(Math.abs(dense.data[i] - v) <= Math.abs(v) * 1e-15, `value ${i}`);
  });
  assert.equal(parsed.data[0].name, 'a [bracket] "q"');
  assert.deepEqual((parsed as unknown as { opts: unknown }).opts, { list: [1, 2] }); // under minValues: plain
  const again = JSON.parse(JSON.stringify(parsed)) as typeof doc;
  assert.equal(again.win, 'w');
  assert.equal(again.data[0].z[4][6], dense.data[34]);
});

test("Python's number spellings: exponents, signs, null, NaN, ±Infinity", () => {
  const parsed = parse('{"z": [[1e-3, -2.5E+2, null, NaN], [Infinity, -Infinity, 0, 12345678901234567890]]}') as {
    z: DenseArray;
  };
  const d = parsed.z.data;
  assert.deepEqual([d[0], d[1], d[4], d[5], d[6]], [0.001, -250, Infinity, -Infinity, 0]);
  assert.ok(Number.isNaN(d[2]) && Number.isNaN(d[3]));
  assert.ok(Math.abs(d[7] / Number('12345678901234567890') - 1) < 1e-15);
  // Outside dense arrays too: NaN becomes null, ±Infinity stays infinite.
  assert.deepEqual(parse('{"x": [NaN], "y": Infinity, "w": -Infinity}'), { x: [null], y: Infinity, w: -Infinity });
});

test('ragged or mixed arrays are not dense (their rectangular rows may be); JSON round trip is unchanged', () => {
  const ragged = parse('{"z": [[1, 2, 3, 4], [5, 6, 7]]}') as { z: unknown[] };
  assert.ok(Array.isArray(ragged.z));
  assert.deepEqual(JSON.parse(JSON.stringify(ragged)), {
    z: [
      [1, 2, 3, 4],
      [5, 6, 7],
    ],
  });
  const mixed = parse('{"z": [1, 2, "three", 4, 5]}') as { z: unknown };
  assert.deepEqual(mixed.z, [1, 2, 'three', 4, 5]);
  const nested = parse('{"z": [1, [2, 3], 4, 5, 6]}') as { z: unknown };
  assert.deepEqual(nested.z, [1, [2, 3], 4, 5, 6]);
});

test('not JSON, or an array over the limit, throws DenseJsonError', () => {
  assert.throws(() => parse('{"z": [[1, 2'), DenseJsonError);
  assert.throws(() => parse('nonsense'), DenseJsonError);
  assert.throws(() => parse(JSON.stringify({ z: Array.from({ length: 100 }, () => [1, 2]) }), 150), /more than 150/);
});
