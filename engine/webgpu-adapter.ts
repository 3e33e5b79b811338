/**
 * WebGPU in Node through Dawn's bindings (npm `webgpu`) — not part of the paper: the device the DNC's ops run on
 * when `engine/backend.ts` picks the `webgpu` backend. Three facts shape this module:
 *  - `@tensorflow/tfjs-backend-webgpu` checks `navigator.gpu` when it is imported, so the Dawn globals and
 *    `navigator.gpu` are installed first (Node 20 has no `navigator` at all);
 *  - a software adapter (Mesa's lavapipe/llvmpipe, SwiftShader, anything the implementation calls a fallback) runs
 *    the kernels on the CPU, slower than wasm, so the automatic order never takes one — only `ENGRAM_BACKEND=webgpu`;
 *  - Dawn keeps the event loop alive while `navigator.gpu` is referenced, and dropping it while tensors are in use
 *    crashes the process, so entrypoints call `releaseWebGpu()` once, when their work is done.
 */

/** The adapter limits printed and shown on the run page (bytes, invocations or counts, as WebGPU defines them). */
export const REPORTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

export type ReportedLimit = (typeof REPORTED_LIMITS)[number];

/** What the engine tells about the GPU adapter it runs on. */
export interface GpuAdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  /** Driver-reported device name (`llvmpipe-…` for lavapipe); may be empty. */
  readonly device: string;
  readonly description: string;
  /** A CPU implementation of WebGPU (fallback adapter, lavapipe, SwiftShader): usable by name, never automatically. */
  readonly software: boolean;
  readonly limits: Readonly<Record<ReportedLimit, number>>;
}

/** The parts of `GPUAdapterInfo` and `GPUSupportedLimits` this module reads (Dawn's objects have more). */
export interface AdapterFacts {
  readonly info: {
    readonly vendor?: string;
    readonly architecture?: string;
    readonly device?: string;
    readonly description?: string;
    readonly isFallbackAdapter?: boolean;
  };
  readonly limits: Readonly<Partial<Record<ReportedLimit, number>>>;
  /** `GPUAdapter.isFallbackAdapter` (deprecated in the spec in favour of `info.isFallbackAdapter`). */
  readonly isFallbackAdapter?: boolean;
}

// Names a CPU implementation reports in its vendor, architecture, device or description.
const SOFTWARE_NAMES = /\b(llvmpipe|lavapipe|swiftshader|softpipe|software)\b/i;

/** Summarise an adapter: the strings, whether it is a software implementation, the reported limits. */
export function summariseAdapter(facts: AdapterFacts): GpuAdapterSummary {
  const vendor = facts.info.vendor ?? '';
  const architecture = facts.info.architecture ?? '';
  const device = facts.info.device ?? '';
  const description = facts.info.description ?? '';
  const software =
    facts.info.isFallbackAdapter === true ||
    facts.isFallbackAdapter === true ||
    [vendor, architecture, device, description].some((text) => SOFTWARE_NAMES.test(text.replace(/[-_]/g, ' ')));
  const limits = {} as Record<ReportedLimit, number>;
  for (const name of REPORTED_LIMITS) limits[name] = facts.limits[name] ?? 0;
  return { vendor, architecture, device, description, software, limits };
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** One line for logs: `mesa software (llvmpipe: Mesa 25.0.7 …), software; max buffer 256 MiB, …`. */
export function describeAdapter(adapter: GpuAdapterSummary): string {
  const name = [adapter.vendor || 'unknown vendor', adapter.architecture].filter((part) => part !== '').join(' ');
  const detail = adapter.description || adapter.device;
  const { limits } = adapter;
  return (
    `${name}${detail ? ` (${detail})` : ''}${adapter.software ? ', software' : ''}; ` +
    `max buffer ${mebibytes(limits.maxBufferSize)}, ` +
    `storage binding ${mebibytes(limits.maxStorageBufferBindingSize)}, ` +
    `workgroup ${limits.maxComputeInvocationsPerWorkgroup} invocations, ` +
    `shared ${limits.maxComputeWorkgroupStorageSize} B`
  );
}

interface NavigatorHolder {
  navigator?: { gpu?: unknown };
}

let installed: { gpu: GPU } | undefined;

/**
 * Install Dawn's WebGPU globals and `navigator.gpu` (once per thread), request the high-performance adapter the
 * tfjs webgpu backend will also request, and summarise it. Throws, saying why, when the bindings do not load or
 * no adapter is offered (no Vulkan/Metal/D3D12 driver Dawn accepts).
 */
export async function openWebGpuAdapter(): Promise<GpuAdapterSummary> {
  if (installed === undefined) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const holder = globalThis as NavigatorHolder;
    holder.navigator ??= {};
    const gpu = create([]);
    // Node 21+ defines `navigator` with a getter-only prototype; an own property shadows it.
    Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
    installed = { gpu };
  }
  const adapter = await installed.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new Error('navigator.gpu.requestAdapter() offered no adapter (no Vulkan driver that Dawn accepts?)');
  }
  return summariseAdapter({
    info: adapter.info,
    limits: adapter.limits,
    isFallbackAdapter: (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
  });
}

/** Whether `openWebGpuAdapter` installed Dawn in this thread and it has not been released. */
export function webGpuInstalled(): boolean {
  return installed !== undefined;
}

/**
 * Drop this thread's reference to Dawn's GPU object so the process can exit. Call it once, after the last tensor
 * op; WebGPU work after it is undefined behaviour (Dawn may crash). A no-op when WebGPU was never opened.
 */
export function releaseWebGpu(): void {
  if (installed === undefined) return;
  installed = undefined;
  const holder = globalThis as NavigatorHolder;
  if (holder.navigator !== undefined) delete holder.navigator.gpu;
}
