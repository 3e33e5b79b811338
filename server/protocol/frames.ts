/**
 * Debug frames on the wire (part of the protocol; imports nothing from the project): a frame carries
 * `{ shape, data }` per tensor, `data` as little-endian float32 bytes, and the codecs that check each tensor's
 * byte length against its shape.
 */

/** What describes a frame tensor, apart from its values: the same on the wire, decoded, and between threads. */
export interface TensorInfo {
  name: string;
  layer: number;
  shape: number[];
  axes: string[];
  range?: [number, number];
  description?: string;
  /** Counts of non-finite values, present only when there are any (kept as they are in the data). */
  nonFinite?: NonFiniteCounts;
}

export interface NonFiniteCounts {
  nan: number;
  posInf: number;
  negInf: number;
}

/** One tensor on the wire. `data` is little-endian float32 bytes; its byte length is 4 × product(shape). */
export interface WireTensor extends TensorInfo {
  data: ArrayBuffer | Uint8Array;
}

export interface WireFrame {
  runId: string;
  iteration: number;
  timesteps: number;
  /** Server time (ms since epoch) when the frame was captured, for latency measurement. */
  capturedAt: number;
  tensors: WireTensor[];
}

/** A decoded tensor, ready to draw. */
export interface DecodedTensor extends TensorInfo {
  data: Float32Array;
}

export interface DecodedFrame {
  runId: string;
  iteration: number;
  timesteps: number;
  capturedAt: number;
  tensors: DecodedTensor[];
}

export function tensorSize(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`tensor shape has a bad dimension ${d} in [${shape.join(', ')}]`);
    size *= d;
  }
  return size;
}

/** Encode a Float32Array for the wire (a copy of exactly its bytes). */
export function encodeFloat32(data: Float32Array): ArrayBuffer {
  const out = new ArrayBuffer(data.byteLength);
  new Float32Array(out).set(data);
  return out;
}

/**
 * Decode a wire tensor's bytes, checking the length against the shape. Node's socket.io client hands binary
 * over as a Buffer at an unaligned offset, so this always copies.
 */
export function decodeFloat32(data: ArrayBuffer | Uint8Array, shape: readonly number[], name = 'tensor'): Float32Array {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const expected = tensorSize(shape) * 4;
  if (bytes.byteLength !== expected) {
    throw new Error(`${name}: ${bytes.byteLength} bytes for shape [${shape.join(', ')}], expected ${expected}`);
  }
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function decodeFrame(frame: WireFrame): DecodedFrame {
  return {
    runId: frame.runId,
    iteration: frame.iteration,
    timesteps: frame.timesteps,
    capturedAt: frame.capturedAt,
    tensors: frame.tensors.map((t) => ({
      name: t.name,
      layer: t.layer,
      shape: t.shape,
      axes: t.axes,
      range: t.range,
      description: t.description,
      nonFinite: t.nonFinite,
      data: decodeFloat32(t.data, t.shape, t.name),
    })),
  };
}
