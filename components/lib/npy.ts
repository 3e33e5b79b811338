/**
 * NPY v1.0 encoder for float32 tensors, so an exported tensor opens with `numpy.load` as-is.
 * Format (numpy/lib/format.py): magic `\x93NUMPY`, version 1.0, a little-endian uint16 header length, an ASCII
 * Python-dict header padded with spaces to end in '\n' at a multiple of 64 bytes, then the raw little-endian data.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy ≥ 1.14 pads headers to 64 bytes so memory-mapped data stays aligned; older readers accept it too. */
const HEADER_ALIGN = 64;

export function npyHeader(shape: readonly number[]): string {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`encodeNpy: shape has a bad dimension ${d} in [${shape.join(', ')}]`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
}

/** Encode `data` (row-major) with `shape` as an NPY v1.0 file of dtype `<f4`. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const dict = npyHeader(shape);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new Error(`encodeNpy: data has ${data.length} values, shape [${shape.join(', ')}] needs ${size}`);
  }
  const preamble = MAGIC.length + 2 + 2;
  const unpadded = preamble + dict.length + 1;
  const total = Math.ceil(unpadded / HEADER_ALIGN) * HEADER_ALIGN;
  const headerText = `${dict + ' '.repeat(total - unpadded)}\n`;
  if (headerText.length > 0xffff)
    throw new Error(`encodeNpy: header of ${headerText.length} bytes exceeds v1.0's limit`);
  const out = new Uint8Array(total + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  new DataView(out.buffer).setUint16(8, headerText.length, true);
  for (let i = 0; i < headerText.length; i++) out[10 + i] = headerText.charCodeAt(i);
  const view = new DataView(out.buffer, total);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}
