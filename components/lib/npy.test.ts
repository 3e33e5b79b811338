import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeNpy } from './npy';

function parse(bytes: Uint8Array): { header: string; data: Float32Array; dataOffset: number } {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  const dataOffset = 10 + headerLength;
  const copy = bytes.slice(dataOffset);
  return { header, data: new Float32Array(copy.buffer), dataOffset };
}

test('a 2-D tensor encodes with magic, version, <f4 dtype, shape and aligned data', () => {
  const data = new Float32Array([1, 2.5, -3, 4, 5, 6]);
  const bytes = encodeNpy(data, [2, 3]);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const { header, data: back, dataOffset } = parse(bytes);
  assert.equal(dataOffset % 64, 0);
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
  assert.deepEqual([...back], [1, 2.5, -3, 4, 5, 6]);
});

test('1-D shapes get the trailing comma Python needs, 0-D and 3-D work', () => {
  assert.match(parse(encodeNpy(new Float32Array(4), [4])).header, /'shape': \(4,\)/);
  assert.match(parse(encodeNpy(new Float32Array(1), [])).header, /'shape': \(\)/);
  assert.match(parse(encodeNpy(new Float32Array(24), [2, 3, 4])).header, /'shape': \(2, 3, 4\)/);
});

test('a length that does not match the shape is refused with both numbers', () => {
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /data has 5 values, shape \[2, 3\] needs 6/);
  assert.throws(() => encodeNpy(new Float32Array(0), [-1]), /bad dimension -1/);
});
