/**
 * `.npy` files of frame tensors (part of the protocol; imports nothing from the project): the NPY v1.0 `<f4`
 * format that frame downloads are served in and `numpy.load` reads as-is.
 */
import { tensorSize } from './frames';

/** numpy ≥ 1.14 pads headers so the data starts on a 64-byte boundary (memory-mapping stays aligned). */
const NPY_ALIGN = 64;
const NPY_PREAMBLE_BYTES = 10; // "\x93NUMPY", version 1.0, u16 little-endian header length

/**
 * The header of an NPY v1.0 file holding a little-endian float32 array of `shape` (numpy/lib/format.py): magic,
 * version, header length, then a Python dict literal padded with spaces and ended by "\n". The row-major data follows.
 */
export function npyHeader(shape: readonly number[]): Uint8Array {
  tensorSize(shape);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = NPY_PREAMBLE_BYTES + dict.length + 1;
  const text = `${dict}${' '.repeat((NPY_ALIGN - (unpadded % NPY_ALIGN)) % NPY_ALIGN)}\n`;
  const out = new Uint8Array(NPY_PREAMBLE_BYTES + text.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[NPY_PREAMBLE_BYTES + i] = text.charCodeAt(i);
  return out;
}

/** Encode `data` (row-major, `product(shape)` values) as an NPY v1.0 `<f4` file that `numpy.load` reads as-is. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const size = tensorSize(shape);
  if (data.length !== size)
    throw new Error(`encodeNpy: data has ${data.length} values, shape [${shape.join(', ')}] needs ${size}`);
  const header = npyHeader(shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  const view = new DataView(out.buffer, header.length);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}
