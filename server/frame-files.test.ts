// NPY encoding (the protocol's one writer, used by the API and the dashboard's export) and the frame blob codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrameBlob, encodeFrameBlob, FrameBlobWriter, packFrame, tensorValues, toWireFrame } from './frame-codec';
import { encodeNpy } from './protocol/npy';
import { decodeFrame } from './protocol/frames';

/** Parse an .npy file the way numpy does, enough to check header and data. */
function parseNpy(encoded: Uint8Array): { header: string; shape: number[]; data: Float32Array } {
  const bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  assert.equal(bytes[0], 0x93);
  assert.equal(bytes.subarray(1, 6).toString('latin1'), 'NUMPY');
  assert.deepEqual([bytes[6], bytes[7]], [1, 0], 'version 1.0');
  const headerLength = bytes.readUInt16LE(8);
  assert.equal((10 + headerLength) % 64, 0, 'data starts on a 64-byte boundary');
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  assert.ok(header.endsWith('\n'));
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \([0-9, ]*\), \} *\n$/);
  const shapeText = (header.match(/'shape': \(([^)]*)\)/) as RegExpMatchArray)[1];
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const body = bytes.subarray(10 + headerLength);
  const data = new Float32Array(body.length / 4);
  new Uint8Array(data.buffer).set(body);
  return { header, shape, data };
}

test('encodeNpy writes a v1.0 header numpy accepts and the float32 bytes after it', () => {
  const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
  const parsed = parseNpy(encodeNpy(data, [2, 3, 4]));
  assert.deepEqual(parsed.shape, [2, 3, 4]);
  assert.match(parsed.header, /'shape': \(2, 3, 4\)/);
  assert.deepEqual(parsed.data, data);
  assert.match(parseNpy(encodeNpy(Float32Array.of(1, 2, 3), [3])).header, /'shape': \(3,\)/);
  assert.match(parseNpy(encodeNpy(Float32Array.of(7), [])).header, /'shape': \(\)/);
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /data has 5 values, shape \[2, 3\] needs 6/);
  assert.throws(() => encodeNpy(new Float32Array(0), [-1]), /bad dimension -1/);
});

test('a frame survives pack → blob → unpack → wire → decode with its shapes, axes and values', () => {
  const memory = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i));
  const gate = Float32Array.of(0.25, Number.NaN);
  const packed = packFrame(
    {
      timesteps: 2,
      tensors: [
        { name: 'memory', layer: 0, shape: [2, 3, 4], axes: ['time', 'cell', 'word'], data: memory },
        {
          name: 'writeGate',
          layer: 1,
          shape: [2, 1],
          axes: ['time', 'gate'],
          data: gate,
          range: [0, 1],
          description: 'g^w',
        },
      ],
    },
    17,
    1234,
  );
  const restored = decodeFrameBlob(encodeFrameBlob(packed));
  assert.equal(restored.iteration, 17);
  assert.deepEqual(tensorValues(restored, restored.tensors[0]), memory);
  const wire = toWireFrame('run-a', restored);
  const decoded = decodeFrame(wire);
  assert.deepEqual(
    decoded.tensors.map((t) => [t.name, t.layer, t.shape, t.axes]),
    [
      ['memory', 0, [2, 3, 4], ['time', 'cell', 'word']],
      ['writeGate', 1, [2, 1], ['time', 'gate']],
    ],
  );
  assert.deepEqual(decoded.tensors[1].range, [0, 1]);
  assert.equal(decoded.tensors[1].data[0], 0.25);
  assert.ok(Number.isNaN(decoded.tensors[1].data[1]));
  const blob = encodeFrameBlob(packed);
  blob.writeUInt32LE(0, 0);
  assert.throws(() => decodeFrameBlob(blob), /bad magic/);
});

test('a blob writer reuses its buffer: each blob is whole, its header padding zero, whatever the last one left', () => {
  const frame = (iteration: number, name: string, values: number[]) =>
    packFrame(
      {
        timesteps: 1,
        tensors: [{ name, layer: 0, shape: [values.length], axes: ['cell'], data: Float32Array.from(values) }],
      },
      iteration,
      1000 + iteration,
    );
  const writer = new FrameBlobWriter();
  // A long name pushes the next frame's tensor bytes over where a short header's padding lies.
  const small = frame(1, 'mm', [1, 2]);
  const first = Buffer.from(writer.encode(small));
  assert.deepEqual(first, encodeFrameBlob(small));
  assert.notEqual(first.readUInt32LE(8) % 4, 0, 'the header length leaves padding before the tensor bytes');
  const large = frame(
    2,
    'a-longer-tensor-name',
    Array.from({ length: 64 }, () => Number.NaN),
  );
  const second = writer.encode(large);
  assert.deepEqual(tensorValues(decodeFrameBlob(second), decodeFrameBlob(second).tensors[0]).length, 64);
  assert.deepEqual(writer.encode(small), first, 'the same frame gives the same bytes, padding included');
  assert.equal(writer.encode(small).length, first.length, 'a blob is exactly its frame, not the whole buffer');
});
