import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../engine/memory/fused/random-step-inputs';
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

// ----------------------------------------------------------------------------------------- against JSON.parse

/** What the document means: JSON.parse after the same spelling of NaN / ±Infinity outside strings. */
function reference(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      let close = end;
      while (close > 0 && text[close - 1] === '\\') close = text.indexOf('"', close + 1);
      out += text.slice(i, close + 1);
      i = close;
    } else if (text.startsWith('NaN', i)) {
      out += 'null';
      i += 2;
    } else if (text.startsWith('Infinity', i)) {
      out += '1e999';
      i += 7;
    } else out += text[i];
  }
  return JSON.parse(out);
}

/** The parsed document with dense arrays as nested lists (NaN as null, as `reference` reads it). */
function plain(value: unknown): unknown {
  if (value instanceof DenseArray) {
    const flat = Array.from(value.data, (v) => (Number.isNaN(v) ? null : v));
    const nest = (dim: number, offset: number): unknown[] => {
      const stride = value.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: value.shape[dim] }, (_, k) =>
        dim === value.shape.length - 1 ? flat[offset + k] : nest(dim + 1, offset + k * stride),
      );
    };
    return nest(0, 0);
  }
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

test('tricky spellings read exactly as JSON.parse reads them: exponents, -0, tiny, huge, long, zeros', () => {
  const numbers = [
    '1e5',
    '1E5',
    '1e+5',
    '1e-5',
    '-2.5E-3',
    '1.5e-300',
    '2e308',
    '-2e308',
    '5e-324',
    '1e-400',
    '0e0',
    '0.0',
    '-0',
    '-0.0',
    '-0e5',
    '0.000123',
    '0.00012345678901234567',
    '123.456e-2',
    '1e22',
    '1e23',
    '1e-22',
    '1e-23',
    '12345678901234567890123',
    '0.1',
    '0.3',
    '100',
    '-7',
    '3e-05',
    '1.7976931348623157e308',
    '4.9e-324',
  ];
  const text = `{"z": [${numbers.join(', ')}]}`;
  const got = parse(text) as { z: DenseArray };
  assert.ok(got.z instanceof DenseArray);
  const expected = (reference(text) as { z: number[] }).z;
  numbers.forEach((spelled, i) => assert.ok(Object.is(got.z.data[i], expected[i]), `${spelled}: ${got.z.data[i]}`));
  assert.ok(Object.is(got.z.data[13], -0), '-0.0 keeps its sign');
});

test('whitespace between tokens, NaN and null in and outside dense arrays, brackets inside strings', () => {
  const text =
    '{"z" :\n[ [ 1 ,\t2 ] ,\r\n[3,4] , [ null,NaN ] , [Infinity , -Infinity]\n] , "s": "NaN [1, 2, 3, 4]", "n": NaN}';
  const got = parse(text) as { z: DenseArray; s: string; n: unknown };
  assert.deepEqual(got.z.shape, [4, 2]);
  assert.deepEqual(plain(got), reference(text));
  assert.equal(got.s, 'NaN [1, 2, 3, 4]');
  assert.equal(got.n, null);
});

test('what JSON.parse refuses inside a numeric array is refused too, never read as a number', () => {
  const bad = [
    '[01, 2, 3, 4]',
    '[1., 2, 3, 4]',
    '[.5, 1, 2, 3]',
    '[1e, 2, 3, 4]',
    '[1e+, 2, 3, 4]',
    '[1 2, 3, 4]',
    '[1,, 2, 3, 4]',
    '[1, 2, 3, 4,]',
    '[-, 1, 2, 3]',
    '[+1, 2, 3, 4]',
    '[1, 2, 3, 4x]',
    '[Nan, 1, 2, 3]',
    '[Infinit, 1, 2, 3]',
    '[-Infinit, 1, 2, 3]',
    '[nul, 1, 2, 3]',
    '[1.5.2, 1, 2, 3]',
    '[0x10, 1, 2, 3]',
    '[-01, 1, 2, 3]',
    '[1, 2, 3, 4]]',
    '[[1, 2, 3, 4]',
    '[[1, 2], [3, 4],]',
    '[, 1, 2, 3, 4]',
  ];
  for (const body of bad) {
    const text = `{"z": ${body}}`;
    assert.throws(() => reference(text), SyntaxError, `JSON.parse refuses ${body}`);
    assert.throws(() => parse(text), DenseJsonError, body);
  }
  // Misspelled NaN / Infinity outside arrays are not read as values either.
  for (const text of ['{"a": Nxy}', '{"a": Infinitx}', '{"a": -Infinitx}'])
    assert.throws(() => parse(text), DenseJsonError);
});

/** Whether float32 rounding changes within 2^-50 (relative) of `x`: there a few ulps of the double may change it. */
function nearFloat32Midpoint(x: number): boolean {
  return Math.fround(x * (1 - 2 ** -50)) !== Math.fround(x * (1 + 2 ** -50));
}

test('random numbers in every spelling: doubles within 2^-50 of JSON.parse (exact when short), float32 equal', () => {
  const random = seededRandom(29);
  const spellings = [
    (v: number) => String(v),
    (v: number) => v.toExponential(Math.floor(random() * 17)),
    (v: number) => v.toPrecision(1 + Math.floor(random() * 21)),
    (v: number) => (Math.abs(v) < 1e15 ? v.toFixed(Math.floor(random() * 12)) : String(v)),
  ];
  const spaces = ['', ' ', '\n', '\t ', '\r\n'];
  const texts: string[] = [];
  for (let k = 0; k < 40_000; k++) {
    const magnitude = 10 ** Math.floor(random() * 40 - 20);
    const v = (random() - 0.5) * magnitude;
    const spelled = spellings[k % spellings.length](v);
    texts.push(spelled + spaces[Math.floor(random() * spaces.length)]);
  }
  const text = `[${texts.join(',')}]`;
  const got = parse(text) as DenseArray;
  const expected = reference(text) as number[];
  assert.equal(got.data.length, expected.length);
  let midpoints = 0;
  for (let k = 0; k < expected.length; k++) {
    const [ours, theirs] = [got.data[k], expected[k]];
    const significant = texts[k]
      .replace(/e.*$/i, '')
      .replace(/[^0-9]/g, '')
      .replace(/^0+/, '').length;
    if (significant <= 15) assert.ok(Object.is(ours, theirs), `${texts[k]}: ${ours} ≠ ${theirs}`);
    else assert.ok(Math.abs(ours - theirs) <= Math.abs(theirs) * 2 ** -50, `${texts[k]}: ${ours} vs ${theirs}`);
    if (nearFloat32Midpoint(theirs)) {
      midpoints++;
      const [a, b] = [Math.fround(ours), Math.fround(theirs)];
      assert.ok(a === b || Math.abs(a - b) <= Math.abs(b) * 2 ** -23, `${texts[k]}: one float32 ulp at most`);
    } else assert.equal(Math.fround(ours), Math.fround(theirs), texts[k]);
  }
  // These numbers have few significant bits, so exact float32 midpoints are common here; the rest must be equal.
  assert.ok(midpoints < expected.length / 100, `${midpoints} values near a float32 midpoint`);
});

test('a deep nest that fails at its end costs linear time: each `[` is not rescanned to the end', () => {
  const depth = 200_000;
  const text = `{"z": ${'['.repeat(depth)}1${']'.repeat(depth - 1)}}`;
  // Quadratic rescanning would take minutes here; the bounded rescan takes milliseconds (no timing asserted: it
  // either finishes or the test runner times out).
  assert.throws(() => parse(text), DenseJsonError);
});

test('values that came from float32 (a torch tensor .tolist()) keep exactly that float32', () => {
  const random = seededRandom(31);
  const values = Array.from({ length: 20_000 }, () => Math.fround((random() - 0.5) * 10 ** (random() * 12 - 6)));
  const got = parse(`[${values.map(String).join(', ')}]`) as DenseArray;
  values.forEach((v, k) => assert.equal(Math.fround(got.data[k]), v, String(v)));
});
