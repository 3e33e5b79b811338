/**
 * `npm run bench:stream`: how the server streams. Starts the server (bench/support.ts) as a child process (API +
 * socket.io, no Next) on a fresh data dir and measures:
 *  1. frames per second and capture-to-receipt latency (p50/p95) of 256×256 frames at 20 Hz to 1 and to 4 clients
 *     (synthetic frame source in a worker; clients decode each frame and ack it, as the dashboard does);
 *  2. training it/s of a real engine run headless vs with one client attached (goal: within 10%);
 *  3. server RSS while 10,000 frames of 256×256 stream through at full speed (flat once the frame budget is full).
 * Prints the figures, then a JSON summary as the last line.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import {
  MAX_METRICS_PAGE_POINTS,
  type Ack,
  type ClientToServerEvents,
  type MetricPoint,
  type RunSummary,
  type ServerToClientEvents,
} from '../server/protocol';
import { socketParser } from '../server/protocol/transport';
import { decodeFrame } from '../server/protocol/frames';
import { percentile, startServer, stopServer } from './support';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const quick = process.argv.includes('--quick');
const STREAM_SECONDS = quick ? 3 : 8;
const TRAIN_SECONDS = quick ? 4 : 10;
const RSS_FRAMES = quick ? 2000 : 10_000;

function unwrap<T>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`${ack.error.code}: ${ack.error.message}`);
  return ack.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function client(url: string): Promise<Client> {
  const socket: Client = connect(url, {
    transports: ['websocket'],
    parser: socketParser,
    forceNew: true,
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number((status.match(/VmRSS:\s+(\d+)/) as RegExpMatchArray)[1]);
  return Math.round(kb / 102.4) / 10;
}

/** Stream 256×256 frames at 20 Hz to `count` acking clients; per-client fps and latency over all clients. */
async function streamFrames(url: string, count: number) {
  const control = await client(url);
  const run = unwrap(
    await control.emitWithAck('run:create', {
      config: {
        _trainer: 'synthetic',
        _frame_cells: 256,
        _frame_width: 256,
        _frame_steps: 1,
        _step_ms: 50,
        summarize_freq: 1,
      },
    }),
  );
  const clients = await Promise.all(Array.from({ length: count }, () => client(url)));
  const latencies: number[] = [];
  const received = clients.map(() => 0);
  let measuring = false;
  clients.forEach((socket, i) => {
    socket.on('memory:frame', (frame) => {
      const decoded = decodeFrame(frame);
      if (measuring) {
        latencies.push(Date.now() - decoded.capturedAt);
        received[i] += 1;
      }
      socket.emit('frame:ack', { runId: frame.runId, iteration: frame.iteration });
    });
  });
  await Promise.all(clients.map((socket) => socket.emitWithAck('run:subscribe', { runId: run.id })));
  await sleep(1000); // warm-up: worker start and the first frames
  const startIteration = unwrap(await control.emitWithAck('run:subscribe', { runId: run.id })).run.iteration;
  measuring = true;
  const started = Date.now();
  await sleep(STREAM_SECONDS * 1000);
  measuring = false;
  const seconds = (Date.now() - started) / 1000;
  const produced = unwrap(await control.emitWithAck('run:subscribe', { runId: run.id })).run.iteration - startIteration;
  unwrap(await control.emitWithAck('training:stop', { runId: run.id }));
  for (const socket of [control, ...clients]) socket.disconnect();
  latencies.sort((a, b) => a - b);
  return {
    clients: count,
    sourceHz: round(produced / seconds),
    fpsPerClient: received.map((n) => round(n / seconds)),
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
  };
}

/** it/s of a real engine run over a window, from its metric points' wall-clock times. */
async function trainingRate(url: string) {
  const control = await client(url);
  const config = {
    task: 'copy',
    mem_slot: 32,
    mem_size: 16,
    read_heads: 2,
    nhid: 32,
    batch_size: 4,
    sequence_max_length: 4,
    summarize_freq: 1,
  };
  const run = unwrap(await control.emitWithAck('run:create', { config }));
  const rateOver = async (seconds: number): Promise<number> => {
    const first = (await metricsSince(control, run.id, 0)).at(-1);
    await sleep(seconds * 1000);
    const points = await metricsSince(control, run.id, first?.iteration ?? 0);
    if (first === undefined || points.length === 0) return Number.NaN;
    const last = points[points.length - 1];
    return (last.iteration - first.iteration) / ((last.t - first.t) / 1000);
  };
  await sleep(quick ? 4000 : 10_000); // warm-up: backend init and first iterations
  const viewer = await client(url);
  let frames = 0;
  viewer.on('memory:frame', (frame) => {
    decodeFrame(frame);
    frames += 1;
    viewer.emit('frame:ack', { runId: frame.runId, iteration: frame.iteration });
  });
  // Alternating windows (headless, attached, headless, attached) so a drifting training speed hits both alike.
  const rates = { headless: [] as number[], attached: [] as number[] };
  for (let pass = 0; pass < 4; pass++) {
    rates.headless.push(round(await rateOver(TRAIN_SECONDS / 2)));
    unwrap(await viewer.emitWithAck('run:subscribe', { runId: run.id }));
    rates.attached.push(round(await rateOver(TRAIN_SECONDS / 2)));
    unwrap(await viewer.emitWithAck('run:unsubscribe', { runId: run.id }));
  }
  unwrap(await control.emitWithAck('training:stop', { runId: run.id }));
  control.disconnect();
  viewer.disconnect();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const headless = median(rates.headless);
  const attached = median(rates.attached);
  return {
    config,
    windows: rates,
    headlessItPerSec: round(headless),
    attachedItPerSec: round(attached),
    attachedOverHeadless: round(attached / headless),
    framesToViewer: frames,
  };
}

/** Every stored point after `since`, page by page (a reply holds at most a page). */
async function metricsSince(socket: Client, runId: string, since: number): Promise<MetricPoint[]> {
  const points: MetricPoint[] = [];
  for (let after = since; ; ) {
    const page = unwrap(
      await socket.emitWithAck('metrics:get', { runId, since: after, limit: MAX_METRICS_PAGE_POINTS }),
    );
    points.push(...page);
    if (page.length < MAX_METRICS_PAGE_POINTS) return points;
    after = page[page.length - 1].iteration;
  }
}

/** Server RSS while frames stream at full speed to one acking client. */
async function rssUnderLoad(url: string, pid: number) {
  const control = await client(url);
  const run: RunSummary = unwrap(
    await control.emitWithAck('run:create', {
      config: {
        _trainer: 'synthetic',
        _frame_cells: 256,
        _frame_width: 256,
        _frame_steps: 1,
        summarize_freq: 1,
        iterations: RSS_FRAMES,
      },
    }),
  );
  let received = 0;
  let stored = 0;
  control.on('memory:frame', (frame) => {
    received += 1;
    control.emit('frame:ack', { runId: frame.runId, iteration: frame.iteration });
  });
  control.on('frames:stored', (payload) => (stored = payload.frameIterations.length));
  unwrap(await control.emitWithAck('run:subscribe', { runId: run.id }));
  const samples: { iteration: number; rssMb: number }[] = [];
  const started = Date.now();
  let nextSample = 0;
  for (;;) {
    const current = unwrap(await control.emitWithAck('run:subscribe', { runId: run.id })).run;
    if (current.iteration >= nextSample) {
      samples.push({ iteration: current.iteration, rssMb: rssMb(pid) });
      nextSample = current.iteration + RSS_FRAMES / 10;
    }
    if (current.state !== 'running') break;
    await sleep(200);
  }
  samples.push({ iteration: RSS_FRAMES, rssMb: rssMb(pid) });
  const frameIterations = unwrap(await control.emitWithAck('run:subscribe', { runId: run.id })).frameIterations;
  control.disconnect();
  return {
    frames: RSS_FRAMES,
    seconds: round((Date.now() - started) / 1000),
    framesToClient: received,
    storedFrames: frameIterations.length,
    lastStoredNotice: stored,
    samples,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'engram-bench-'));
  const { child, url } = await startServer(dataDir, { next: false });
  try {
    const pid = child.pid as number;
    console.log(`server ${url} (pid ${pid}), rss at start ${rssMb(pid)} MB`);
    const one = await streamFrames(url, 1);
    console.log(
      `256×256 @ 20 Hz → 1 client: source ${one.sourceHz} Hz, ${one.fpsPerClient.join('/')} fps, latency p50 ` +
        `${one.latencyMs.p50} ms, p95 ${one.latencyMs.p95} ms`,
    );
    const four = await streamFrames(url, 4);
    console.log(
      `256×256 @ 20 Hz → 4 clients: source ${four.sourceHz} Hz, ${four.fpsPerClient.join('/')} fps, latency p50 ` +
        `${four.latencyMs.p50} ms, p95 ${four.latencyMs.p95} ms`,
    );
    const training = await trainingRate(url);
    console.log(
      `training it/s (N=32, W=16, R=2, frame every iteration): median of 4 alternating windows: headless ` +
        `${training.headlessItPerSec} [${training.windows.headless.join(', ')}], one client ` +
        `${training.attachedItPerSec} [${training.windows.attached.join(', ')}] (ratio ` +
        `${training.attachedOverHeadless})`,
    );
    const rss = await rssUnderLoad(url, pid);
    console.log(
      `RSS over ${rss.frames} frames of 256×256 (${rss.seconds} s, ${rss.framesToClient} reached the acking client, ` +
        `${rss.storedFrames} kept):`,
    );
    console.log(`  ${rss.samples.map((s) => `${s.iteration}: ${s.rssMb} MB`).join(', ')}`);
    console.log(JSON.stringify({ bench: 'stream', stream1: one, stream4: four, training, rss }));
  } finally {
    await stopServer(child, dataDir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
