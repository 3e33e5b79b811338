/**
 * Fixes to tfjs-backend-webgpu 4.22 that the DNC needs — not part of the paper. Its AddN kernel binds every input
 * as its own storage buffer, so a sum of more than `maxStorageBuffersPerShaderStage − 1` tensors (8 − 1 on many
 * adapters; the trainer's global gradient norm sums one term per parameter) builds an invalid pipeline, and the
 * whole command buffer it was encoded in is dropped without an exception. The replacement sums in chunks that fit.
 * WebGPU validation errors surface only as device events, so they are collected here for tests and logs.
 */
import * as tf from '@tensorflow/tfjs';

type KernelFunction = tf.KernelConfig['kernelFunc'];
type KernelArguments = Parameters<KernelFunction>[0];

interface DeviceLike {
  readonly limits: { readonly maxStorageBuffersPerShaderStage: number };
  addEventListener(type: 'uncapturederror', listener: (event: { error: { message: string } }) => void): void;
}

interface BackendLike {
  readonly device?: DeviceLike;
  disposeData(dataId: object): boolean;
}

const errors: string[] = [];

// tfjs passes AddN's inputs as an array typed as a name → tensor map; the kernel indexes and maps it as an array.
function asInputs(tensors: tf.TensorInfo[]): tf.NamedTensorInfoMap {
  return tensors as unknown as tf.NamedTensorInfoMap;
}
let preparedDevice: DeviceLike | undefined;

/**
 * An AddN that never binds more than `maxInputs` tensors at once: sums of chunks, then a sum of the partial sums.
 * @param original the backend's own AddN
 * @param maxInputs at least 2
 */
export function chunkedAddN(original: KernelFunction, maxInputs: number): KernelFunction {
  if (!Number.isInteger(maxInputs) || maxInputs < 2)
    throw new Error(`chunkedAddN: maxInputs must be an integer >= 2, got ${maxInputs}`);
  return (args: KernelArguments) => {
    let parts = Object.values(args.inputs).filter((input): input is tf.TensorInfo => input !== undefined);
    if (parts.length <= maxInputs) return original(args);
    const backend = args.backend as unknown as BackendLike;
    const partials: tf.TensorInfo[] = [];
    while (parts.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let start = 0; start < parts.length; start += maxInputs) {
        const chunk = parts.slice(start, start + maxInputs);
        if (chunk.length === 1) {
          next.push(chunk[0]);
          continue;
        }
        const sum = original({ ...args, inputs: asInputs(chunk) }) as tf.TensorInfo;
        partials.push(sum);
        next.push(sum);
      }
      parts = next;
    }
    const result = original({ ...args, inputs: asInputs(parts) });
    for (const partial of partials) backend.disposeData(partial.dataId);
    return result;
  };
}

/**
 * Call once after `tf.setBackend('webgpu')` succeeded: replace AddN with the chunked one sized to the device's
 * limit, and start collecting the device's validation errors. Idempotent per device.
 */
export function prepareWebGpuBackend(): void {
  const backend = tf.findBackend('webgpu') as unknown as BackendLike | null;
  const device = backend?.device;
  if (device === undefined || device === preparedDevice) return;
  preparedDevice = device;
  const original = tf.getKernel('AddN', 'webgpu');
  if (original !== undefined) {
    const maxInputs = Math.max(2, device.limits.maxStorageBuffersPerShaderStage - 1);
    tf.unregisterKernel('AddN', 'webgpu');
    tf.registerKernel({ ...original, kernelFunc: chunkedAddN(original.kernelFunc, maxInputs) });
  }
  device.addEventListener('uncapturederror', (event) => {
    errors.push(event.error.message);
  });
}

/** WebGPU validation/out-of-memory errors seen since the last call (and clears them). */
export function takeWebGpuErrors(): string[] {
  return errors.splice(0, errors.length);
}
