/**
 * `npm run bench:soak -- --minutes N [--interval-s S] [--budget-mb B]`: a long run at `summarize_freq 1` with a
 * subscribed client that acks every frame, as the dashboard does. Starts `server/main.ts` as a child process (API +
 * socket.io, no Next) on a fresh data dir and samples, every S seconds (default 30): the server's RSS and V8 heap
 * (its worker thread's memory is in the RSS), the SQLite files' size, the bytes in use against the storage budget
 * (`GET /api/storage`) and the stored-frame count. Goal: RSS flat after warm-up and disk within the budget.
 * Prints one line per sample, then a JSON summary as the last line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, RunSummary, ServerToClientEvents, StorageUsage } from '../server/protocol';
import { socketParser } from '../server/protocol/transport';
import { routePath } from '../server/protocol/http';
import { readyUrl, stopServer } from './support';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

interface Sample {
  seconds: number;
  iteration: number;
  rssMb: number;
  heapMb: number;
  sqliteBytes: number;
  usedBytes: number;
  /** Used bytes less the run's frames and checkpoint: metric points, the run row and page overhead. */
  nonFrameBytes: number;
  storedFrames: number;
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  const raw = inline?.slice(name.length + 3) ?? (at >= 0 ? process.argv[at + 1] : undefined);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return value;
}

const MINUTES = option('minutes', 10);
const INTERVAL_S = option('interval-s', 30);
const BUDGET_MB = option('budget-mb', 2048);
/** Samples in the first WARMUP_FRACTION of the run (at least one) are warm-up: backend init, frame budget filling. */
const WARMUP_FRACTION = 0.2;

const root = join(__dirname, '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;

function unwrap<T>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`${ack.error.code}: ${ack.error.message}`);
  return ack.data;
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './bench/soak-probe.mjs',
      'server/main.ts',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--fresh',
      '--no-next',
      '--visdom-port',
      'off',
      '--storage-budget-mb',
      String(BUDGET_MB),
    ],
    { cwd: root, env: { ...process.env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  return { child, url: await readyUrl(child) };
}

function serverMemory(child: ChildProcess): Promise<MemorySample> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as MemorySample));
    child.send('memory');
  });
}

async function getJson<T>(url: string): Promise<T> {
  return unwrap((await (await fetch(url)).json()) as Ack<T>);
}

function fileBytes(dataDir: string): number {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      total += statSync(join(dataDir, `engram.sqlite${suffix}`)).size;
    } catch {
      // Not there (yet).
    }
  }
  return total;
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'engram-soak-'));
  const { child, url } = await startServer(dataDir);
  const socket: Client = connect(url, { transports: ['websocket'], parser: socketParser, forceNew: true });
  let framesReceived = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    socket.on('memory:frame', (frame) => {
      framesReceived++;
      socket.emit('frame:ack', { runId: frame.runId, iteration: frame.iteration });
    });
    const run = unwrap(
      await socket.emitWithAck('run:create', { config: { task: 'copy', summarize_freq: 1 }, name: 'soak' }),
    ) as RunSummary;
    unwrap(await socket.emitWithAck('run:subscribe', { runId: run.id }));
    console.log(`soak: run ${run.id} (copy, summarize_freq 1) for ${MINUTES} min, a sample every ${INTERVAL_S} s`);

    const samples: Sample[] = [];
    const started = Date.now();
    const end = started + MINUTES * 60_000;
    for (;;) {
      const wait = Math.min(INTERVAL_S * 1000, end - Date.now());
      if (wait > 0) await sleep(wait);
      const memory = await serverMemory(child);
      const summary = await getJson<RunSummary>(`${url}${routePath('getRun', { id: run.id })}`);
      const usage = await getJson<StorageUsage>(`${url}${routePath('storage')}`);
      const frames = await getJson<{ iterations: number[] }>(`${url}${routePath('frames', { id: run.id })}`);
      const share = usage.perRun.find((r) => r.runId === run.id);
      const sample: Sample = {
        seconds: Math.round((Date.now() - started) / 1000),
        iteration: summary.iteration,
        rssMb: mb(memory.rss),
        heapMb: mb(memory.heapUsed),
        sqliteBytes: fileBytes(dataDir),
        usedBytes: usage.usedBytes,
        nonFrameBytes: usage.usedBytes - (share?.frameBytes ?? 0) - (share?.checkpointBytes ?? 0),
        storedFrames: frames.iterations.length,
      };
      samples.push(sample);
      console.log(
        `t=${sample.seconds}s it=${sample.iteration} rss=${sample.rssMb}MB heap=${sample.heapMb}MB ` +
          `sqlite=${mb(sample.sqliteBytes)}MB used=${mb(sample.usedBytes)}MB ` +
          `non-frame=${mb(sample.nonFrameBytes)}MB frames=${sample.storedFrames} ` +
          `load=${loadavg()[0].toFixed(2)}`,
      );
      if (Date.now() >= end) break;
    }
    unwrap(await socket.emitWithAck('training:pause', { runId: run.id }));

    const warm = samples.slice(Math.max(1, Math.floor(samples.length * WARMUP_FRACTION)));
    const hours = warm.map((s) => s.seconds / 3600);
    const first = samples[0];
    const last = samples[samples.length - 1];
    // Frames stay within their budget; what grows without bound is the metric points (and page overhead).
    const perIteration = (last.nonFrameBytes - first.nonFrameBytes) / Math.max(1, last.iteration - first.iteration);
    const budgetBytes = BUDGET_MB * 1024 * 1024;
    console.log(
      JSON.stringify({
        bench: 'soak',
        minutes: MINUTES,
        intervalS: INTERVAL_S,
        samples: samples.length,
        warmupSamples: samples.length - warm.length,
        iterations: last.iteration,
        itPerSec: Math.round((last.iteration / last.seconds) * 10) / 10,
        framesReceived,
        rssMb: {
          first: first.rssMb,
          afterWarmup: warm[0]?.rssMb ?? null,
          last: last.rssMb,
          maxAfterWarmup: Math.max(...warm.map((s) => s.rssMb)),
          slopeMbPerHourAfterWarmup:
            Math.round(
              slope(
                hours,
                warm.map((s) => s.rssMb),
              ) * 10,
            ) / 10,
        },
        heapMb: {
          afterWarmup: warm[0]?.heapMb ?? null,
          last: last.heapMb,
          slopeMbPerHourAfterWarmup:
            Math.round(
              slope(
                hours,
                warm.map((s) => s.heapMb),
              ) * 10,
            ) / 10,
        },
        disk: {
          sqliteBytes: last.sqliteBytes,
          usedBytes: last.usedBytes,
          budgetBytes,
          withinBudget: last.usedBytes <= budgetBytes,
          nonFrameBytes: last.nonFrameBytes,
          nonFrameBytesPerIteration: Math.round(perIteration * 10) / 10,
          mbPerHourProjected: Math.round((((perIteration * last.iteration) / last.seconds) * 3600) / 1024 / 102.4) / 10,
        },
        storedFrames: last.storedFrames,
        loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      }),
    );
  } finally {
    socket.disconnect();
    await stopServer(child, dataDir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
