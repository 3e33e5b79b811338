#!/usr/bin/env node
// Prints one JSON line: whether Dawn (npm `webgpu`) offers a WebGPU adapter on this machine, and which.
// `npm test` runs it to decide whether Mesa's Vulkan driver must be installed. Exits 0 either way.
const result = { available: false };
try {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    result.reason = 'requestAdapter() offered no adapter';
  } else {
    const { vendor, architecture, device, description } = adapter.info;
    Object.assign(result, { available: true, vendor, architecture, device, description });
  }
} catch (error) {
  result.reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
}
console.log(JSON.stringify(result));
// Dawn keeps the event loop alive while its GPU object lives.
process.exit(0);
