/**
 * NPY v1.0 encoding of one float32 tensor, so `numpy.load` reads what the debugger shows.
 * Layout: magic "\x93NUMPY", version 1.0, u16 little-endian header length, an ASCII Python dict literal padded
 * with spaces and ended by "\n" so that magic + version + length + header is a multiple of 64 bytes, then the
 * row-major little-endian float32 data.
 */
import { tensorSize } from './protocol';

const NPY_ALIGN = 64;
const PREAMBLE_BYTES = 10; // 6 magic + 2 version + 2 header length

/** The Python literal numpy writes for a shape: `()`, `(5,)`, `(2, 3)`. */
function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Encode `data` (row-major, `product(shape)` values) as an .npy file. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Buffer {
  const expected = tensorSize(shape);
  if (data.length !== expected) {
    throw new Error(`encodeNpy: ${data.length} values for shape [${shape.join(', ')}], expected ${expected}`);
  }
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const unpadded = PREAMBLE_BYTES + dict.length + 1;
  dict += `${' '.repeat((NPY_ALIGN - (unpadded % NPY_ALIGN)) % NPY_ALIGN)}\n`;
  const out = Buffer.alloc(PREAMBLE_BYTES + dict.length + data.byteLength);
  out.writeUInt8(0x93, 0);
  out.write('NUMPY', 1, 'latin1');
  out.writeUInt8(1, 6);
  out.writeUInt8(0, 7);
  out.writeUInt16LE(dict.length, 8);
  out.write(dict, PREAMBLE_BYTES, 'latin1');
  // Float32Array is host-endian; every platform Node runs on here is little-endian, and '<f4' says so.
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, PREAMBLE_BYTES + dict.length);
  return out;
}
