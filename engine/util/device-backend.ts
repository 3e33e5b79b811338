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

/** A backend that lends a view of a tensor's memory (tfjs-wasm: its heap) instead of copying it out. */
interface HeapBackend {
  typedArrayFromHeap(info: { shape: number[]; dtype: tf.DataType; dataId: object }): ArrayLike<number>;
  /** A new tensor's memory in the heap, uninitialised. */
  makeOutput(shape: number[], dtype: tf.DataType): { shape: number[]; dtype: tf.DataType; dataId: object };
}

function isHeapBackend(backend: unknown): backend is HeapBackend {
  return typeof backend === 'object' && backend !== null && 'typedArrayFromHeap' in backend && 'makeOutput' in backend;
}

/**
 * A float32 tensor's values without a copy where the backend allows it (wasm: a view of its heap; cpu's `dataSync`
 * is its own array already), else `dataSync`. A wasm view is valid only until tfjs next allocates (the heap may
 * grow and move): read it at once, before creating any tensor, and keep no reference. For large tensors read every
 * step (the sparse memories' journal and its gradient), where `dataSync` copies half a megabyte each time.
 */
export function transientValues(tensor: tf.Tensor): Float32Array {
  if (tensor.dtype !== 'float32') throw new Error(`transientValues: expected a float32 tensor, got ${tensor.dtype}`);
  const backend = tf.backend();
  if (tf.getBackend() === 'wasm' && isHeapBackend(backend)) {
    const view = backend.typedArrayFromHeap({ shape: tensor.shape, dtype: tensor.dtype, dataId: tensor.dataId });
    if (view instanceof Float32Array) return view;
  }
  const values = tensor.dataSync();
  if (!(values instanceof Float32Array)) throw new Error(`transientValues: dataSync gave ${values.constructor.name}`);
  return values;
}

/**
 * A new float32 tensor whose values `fill` writes in place: on wasm `fill` gets a view of the tensor's heap memory
 * (zeroed), so a large result is neither built in a host array nor copied into the heap; elsewhere a fresh zeroed
 * array that then becomes the tensor's values. On wasm the view is valid only while `fill` runs, and `fill` must
 * create no tensor (tfjs may then grow and move the heap): keep no reference to it.
 */
export function tensorFilledInPlace(shape: readonly number[], fill: (values: Float32Array) => void): tf.Tensor {
  const backend = tf.backend();
  if (tf.getBackend() === 'wasm' && isHeapBackend(backend)) {
    // Heap memory zeroed in place: tf.zeros would build a zero array on the host and copy it in.
    const tensor = tf.engine().makeTensorFromTensorInfo(backend.makeOutput([...shape], 'float32'));
    const view = backend.typedArrayFromHeap({ shape: tensor.shape, dtype: tensor.dtype, dataId: tensor.dataId });
    if (view instanceof Float32Array) {
      view.fill(0);
      fill(view);
      // A heap that grew meanwhile detached the view: writes after that were dropped, silently.
      if (view.length !== tensor.size) {
        tensor.dispose();
        throw new Error(`tensorFilledInPlace: the wasm heap moved while fill ran (fill must create no tensor)`);
      }
      return tensor;
    }
    tensor.dispose();
  }
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fill(values);
  return tf.tensor(values, [...shape], 'float32');
}
