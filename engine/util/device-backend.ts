/**
 * Where the active backend keeps tensors — not part of the paper. The fused kernels (memory step, LSTM cell) and
 * the sparse memories' host structures read tensors synchronously into typed arrays: free on cpu/wasm, a blocking
 * GPU round trip per step on a device backend, and impossible on webgpu in Node (its synchronous read needs a
 * browser's OffscreenCanvas). Modules ask here rather than naming backends themselves.
 */
import * as tf from '@tensorflow/tfjs';

/** tfjs backends whose tensors live in GPU memory. */
const DEVICE_BACKENDS: readonly string[] = ['webgpu', 'webgl'];

/** Whether the active tfjs backend keeps tensors in device (GPU) memory. */
export function tensorsLiveOnDevice(): boolean {
  return DEVICE_BACKENDS.includes(tf.getBackend());
}

/** Whether the active backend can read a tensor synchronously (`dataSync`); false for webgpu in Node. */
export function hasSynchronousReadback(): boolean {
  return tf.getBackend() !== 'webgpu';
}
