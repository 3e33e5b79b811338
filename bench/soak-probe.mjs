// Loaded into the soak benchmark's server child (`node --import ./bench/soak-probe.mjs`): answers each IPC message
// with the process's memory figures, so the benchmark reads the server's own heap, not its own. Bench-only.
process.on('message', () => {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  process.send?.({ rss, heapUsed, heapTotal, external, arrayBuffers });
});
// The IPC channel must not keep the server alive on its own.
process.channel?.unref();
