/**
 * `npm run bench:memory-estimate`: does admission's memory estimate (server/admission.ts) bound what a training
 * worker really takes? For each config a fresh child process starts the real training worker (EngineSource, the
 * server's own path) for a few iterations with a debug frame every iteration, and reports its peak: the kernel's
 * high-water RSS of the child (worker included) less the child's RSS before the worker started. One line per config
 * with the estimate, the measurement and measured / estimated, then a JSON summary as the last line.
 *
 * Flags: `--iterations N` (default 3). ENGRAM_BACKEND picks the backend (default wasm, the bundled one the issue
 * measured). Memory use of other processes does not enter (each child measures itself), but timings on a shared
 * machine do: the summary carries the load average.
 */
import { spawn } from 'node:child_process';
import { loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { estimateRunMemory } from '../server/admission';
import { ENGINE_TRAINING, EngineSource } from '../server/engine-source';
import type { RunConfig, RunConfigInput } from '../server/protocol';
import type { RunSink } from '../server/run-source';
import { resolveRunConfig } from '../server/worker/trainer-source';

const CONFIGS: readonly RunConfigInput[] = [
  {},
  { mem_slot: 256, batch_size: 2 },
  { mem_slot: 1024, batch_size: 2 },
  { mem_slot: 1024, batch_size: 8 },
  { mem_slot: 2048, batch_size: 2 },
  { mem_slot: 512, batch_size: 16, sequence_max_length: 8 },
  { nhid: 512, batch_size: 64, mem_slot: 64 },
  { memory_type: 'sam', mem_slot: 4096, batch_size: 8 },
];

const MB = 1024 * 1024;

interface Measurement {
  config: RunConfigInput;
  backend: string;
  estimateMb: number;
  measuredMb: number;
  ratio: number;
  seconds: number;
}

/** In the child: train one config in a worker and print its peak over the baseline, in bytes, as JSON. */
async function measureInChild(config: RunConfig): Promise<void> {
  const baselineRss = process.memoryUsage.rss();
  let backend = '?';
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    let source: EngineSource | null = null;
    const sink: RunSink = {
      ready: (engine) => {
        backend = engine.backend;
      },
      // Frames are flow-controlled: acknowledge each so the worker keeps capturing them.
      iteration: () => source?.frameConsumed(),
      frame: () => undefined,
      nonFinite: () => undefined,
      checkpoint: () => undefined,
      state: (state) => {
        if (state === 'finished') resolve();
      },
      fail: (reason, message) => reject(new Error(`${reason}: ${message}`)),
      gone: (message) => reject(new Error(message)),
      changed: () => undefined,
    };
    source = new EngineSource(
      {
        runId: 'bench',
        config,
        checkpoint: null,
        startPaused: false,
        checkpointIntervalMs: 3_600_000,
        maxOldGenerationMb: 4096,
        workerEnv: { ENGRAM_BACKEND: process.env.ENGRAM_BACKEND ?? 'wasm' },
        worker: ENGINE_TRAINING.worker('bench'),
        commandTimeoutMs: 60_000,
        stopGraceMs: 3000,
      },
      sink,
    );
  });
  // ru_maxrss is in kilobytes on Linux.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ peakBytes: peakRss - baselineRss, backend, seconds: (Date.now() - started) / 1000 }));
  process.exit(0);
}

function runChild(config: RunConfig): Promise<{ peakBytes: number; backend: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'memory-estimate.ts'), '--child'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`child exited with ${code}: ${last}`));
      else resolve(JSON.parse(last));
    });
    child.stdin.end(JSON.stringify(config));
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    await measureInChild(JSON.parse(input) as RunConfig);
    return;
  }
  const at = args.indexOf('--iterations');
  const iterations = at >= 0 ? Number(args[at + 1]) : 3;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('--iterations must be a positive integer');
  const results: Measurement[] = [];
  for (const input of CONFIGS) {
    const config = await resolveRunConfig({ ...input, iterations, summarize_freq: 1 });
    const estimate = estimateRunMemory(config);
    const measured = await runChild(config);
    const result: Measurement = {
      config: input,
      backend: measured.backend,
      estimateMb: Math.round(estimate.bytes / MB),
      measuredMb: Math.round(measured.peakBytes / MB),
      ratio: Number((measured.peakBytes / estimate.bytes).toFixed(3)),
      seconds: measured.seconds,
    };
    results.push(result);
    console.log(
      `${JSON.stringify(input).padEnd(58)} estimate ${String(result.estimateMb).padStart(6)} MB  measured ` +
        `${String(result.measuredMb).padStart(6)} MB  measured/estimate ${result.ratio.toFixed(2)}  ` +
        `(${result.backend}, ${result.seconds.toFixed(1)} s)`,
    );
  }
  const ratios = results.map((r) => r.ratio);
  console.log(
    JSON.stringify({
      bench: 'memory-estimate',
      iterations,
      maxRatio: Math.max(...ratios),
      minRatio: Math.min(...ratios),
      underestimated: results.filter((r) => r.ratio > 1).map((r) => r.config),
      totalMemMb: Math.round(totalmem() / MB),
      loadavg: loadavg().map((l) => Number(l.toFixed(2))),
      results,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
