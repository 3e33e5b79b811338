// The wire contract itself: error codes map to statuses, codecs check lengths, and the socket parser carries a
// frame with more tensors than socket.io-parser's default limit of 10 attachments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder, Encoder, type Packet } from 'socket.io-parser';
import { ERROR_CODES } from './protocol';
import { socketParser } from './protocol/transport';
import { HTTP_STATUS } from './protocol/http';
import { decodeFloat32, encodeFloat32, type WireFrame } from './protocol/frames';

test('every error code has an HTTP status', () => {
  assert.deepEqual(Object.keys(HTTP_STATUS).sort(), [...ERROR_CODES].sort());
});

test('float32 codec round-trips and refuses bytes that do not match the shape', () => {
  const data = Float32Array.of(1.5, -2, Number.NaN, 4);
  assert.deepEqual(decodeFloat32(encodeFloat32(data), [2, 2]), data);
  // Unaligned view, as Node's socket.io client delivers binary.
  const unaligned = new Uint8Array(17).subarray(1);
  unaligned.set(new Uint8Array(encodeFloat32(data)));
  assert.deepEqual(decodeFloat32(unaligned, [4]), data);
  assert.throws(
    () => decodeFloat32(new Uint8Array(12), [2, 2], 'memory'),
    /memory: 12 bytes for shape \[2, 2\], expected 16/,
  );
});

/** Encode a packet with `Encoder` and feed every part to `decoder`; resolve with the decoded packet. */
function roundTrip(packet: Packet, decoder: Decoder): Promise<Packet> {
  return new Promise((resolve, reject) => {
    decoder.on('decoded', (decoded: Packet) => resolve(decoded));
    try {
      for (const part of new Encoder().encode(packet)) decoder.add(part);
    } catch (error) {
      reject(error);
    }
  });
}

test('the protocol parser accepts a 19-tensor frame that the default decoder refuses', async () => {
  const frame: WireFrame = {
    runId: 'r',
    iteration: 3,
    timesteps: 1,
    capturedAt: 0,
    tensors: Array.from({ length: 19 }, (_, i) => ({
      name: `t${i}`,
      layer: 0,
      shape: [1],
      axes: ['value'],
      data: new Uint8Array(encodeFloat32(Float32Array.of(i))),
    })),
  };
  const packet: Packet = { type: 2, nsp: '/', data: ['memory:frame', frame] };
  await assert.rejects(roundTrip(packet, new Decoder()), /too many attachments/);
  const decoded = await roundTrip(packet, new socketParser.Decoder());
  const received = (decoded.data as [string, WireFrame])[1];
  assert.equal(received.tensors.length, 19);
  assert.deepEqual(decodeFloat32(received.tensors[18].data, [1]), Float32Array.of(18));
});
