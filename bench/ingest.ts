/**
 * `npm run bench:ingest [-- --frames N --seconds S --no-browser --prod --profile DIR --transport http|socket]`:
 * external-run ingest on a real server (child process, Next included unless `--no-browser`). The page is served by
 * Next in development mode, as `npm run dev` (the README's quick start) serves it; `--prod` serves the production
 * build instead, as `npm run build && npm start` does (running `next build` first when .next is missing or older than
 * its sources). The summary's `mode` says which. `--profile DIR` writes the server's V8 CPU profile there.
 *  1. one client streams 256×256 float32 frames plus a metric point per iteration, as fast as the server answers:
 *     over HTTP (the default; two requests per iteration, each awaited, as the Python client's sender thread does)
 *     or, with `--transport socket`, over one socket.io connection with up to `SOCKET_WINDOW` calls unanswered
 *     (socket.io keeps their order; a streaming client need not wait for each ack). The run's dashboard page is open
 *     in headless Chromium, and a socket.io subscriber decodes and acks every frame it gets. Reported: frames/s
 *     accepted and stored; p50/p95 from the server receiving a frame to the browser's pixels (the page's
 *     `window.__engramFrameTimings` probe: the animation frame after the canvas draw, for every frame the page drew)
 *     and to the subscriber having decoded it; server RSS after warm-up and at the end, and the server's CPU time
 *     per iteration; stored frames (bounded by the per-run budget);
 *  2. eight clients at once, 64×64 frames at 50/s each: frames accepted per client (none starves) and the
 *     training-side send latency p95.
 * Prints a JSON summary as the last line.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { io } from 'socket.io-client';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../server/protocol';
import { socketParser } from '../server/protocol/transport';
import { decodeFrame } from '../server/protocol/frames';
import type { Socket } from 'socket.io-client';
import { ensureProductionBuild } from '../scripts/production-build';
import { percentile, startServer, stopServer } from './support';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const FRAMES = flag('frames', 10_000);
const SECONDS = flag('seconds', 10);
const BROWSER = !process.argv.includes('--no-browser');
const PRODUCTION = process.argv.includes('--prod');
const TRANSPORT = (() => {
  const at = process.argv.indexOf('--transport');
  const value = at === -1 ? 'http' : process.argv[at + 1];
  if (value !== 'http' && value !== 'socket')
    throw new Error(`bench:ingest: --transport is http or socket, got ${value}`);
  return value;
})();
/** Calls a socket client may have unanswered before it waits for the oldest ack. */
const SOCKET_WINDOW = 8;
const PROFILE_DIR = (() => {
  const at = process.argv.indexOf('--profile');
  return at === -1 ? null : process.argv[at + 1];
})();

interface FrameTiming {
  iteration: number;
  capturedAt: number;
  receivedAt: number;
  drawnAt: number;
}

function frameBody(iteration: number, side: number): Buffer {
  const header = Buffer.from(
    JSON.stringify({ iteration, tensors: [{ name: 'memory', shape: [side, side], axes: ['cell', 'word'] }] }),
  );
  const values = new Float32Array(side * side);
  for (let i = 0; i < values.length; i += 97) values[i] = Math.sin(iteration + i);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length, 0);
  return Buffer.concat([length, header, Buffer.from(values.buffer)]);
}

async function post(url: string, body: Buffer | object): Promise<void> {
  const binary = Buffer.isBuffer(body);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': binary ? 'application/octet-stream' : 'application/json' },
    body: binary ? (body as unknown as BodyInit) : JSON.stringify(body),
  });
  const ack = (await res.json()) as Ack<unknown>;
  if (!ack.ok) throw new Error(`${url}: ${ack.error.message}`);
}

async function create(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/api/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ external: true, name }),
  });
  const ack = (await res.json()) as Ack<{ id: string }>;
  if (!ack.ok) throw new Error(ack.error.message);
  return ack.data.id;
}

/** CPU seconds (user + system, every thread) the process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Linux's USER_HZ, the unit of /proc's CPU times: 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** The run page with the timing probe armed, hydrated (its header names the run) before the stream starts. */
async function openDashboard(browser: Browser, url: string, runId: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.addInitScript(() => {
    window.__engramFrameTimings = [];
  });
  await page.goto(`${url}/runs/${runId}`, { waitUntil: 'commit', timeout: 180_000 });
  await page.getByText('bench-single').first().waitFor({ timeout: 180_000 });
  return page;
}

interface Sender {
  /** Hand over iteration `it`'s metric point and frame; resolves when the client may go on to the next. */
  iteration(it: number): Promise<void>;
  /** Every call answered. */
  drain(): Promise<void>;
  close(): void;
}

function httpSender(url: string, runId: string): Sender {
  return {
    async iteration(it) {
      await post(`${url}/api/runs/${runId}/metrics`, { points: [{ iteration: it, loss: 1 / it }] });
      await post(`${url}/api/runs/${runId}/frames`, frameBody(it, 256));
    },
    async drain() {},
    close() {},
  };
}

async function socketSender(url: string, runId: string): Promise<Sender> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
    transports: ['websocket'],
    parser: socketParser,
  });
  const check = (ack: Ack<unknown>) => {
    if (!ack.ok) throw new Error(`ingest over socket.io: ${ack.error.message}`);
  };
  check(await socket.emitWithAck('ingest:attach', { runId }));
  const pending: Promise<void>[] = [];
  return {
    async iteration(it) {
      pending.push(
        socket.emitWithAck('ingest:metrics', { runId, points: [{ iteration: it, loss: 1 / it }] }).then(check),
      );
      const body = frameBody(it, 256);
      const headerLength = body.readUInt32LE(0);
      const header = JSON.parse(body.subarray(4, 4 + headerLength).toString('utf8'));
      pending.push(
        socket.emitWithAck('ingest:frame', { runId, header, data: body.subarray(4 + headerLength) }).then(check),
      );
      while (pending.length > SOCKET_WINDOW) await pending.shift();
    },
    async drain() {
      await Promise.all(pending.splice(0));
    },
    close() {
      socket.close();
    },
  };
}

async function single(url: string, pid: number, browser: Browser | null) {
  const runId = await create(url, 'bench-single');
  const page = browser === null ? null : await openDashboard(browser, url, runId);
  const viewer: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
    transports: ['websocket'],
    parser: socketParser,
  });
  const latencies: number[] = [];
  viewer.on('memory:frame', (frame) => {
    const decoded = decodeFrame(frame);
    latencies.push(Date.now() - decoded.capturedAt);
    viewer.emit('frame:ack', { runId, iteration: frame.iteration });
  });
  await viewer.emitWithAck('run:subscribe', { runId });
  const send = TRANSPORT === 'socket' ? await socketSender(url, runId) : httpSender(url, runId);
  const warmup = Math.min(1000, Math.floor(FRAMES / 5));
  let rssWarm = Number.NaN;
  let cpuWarm = Number.NaN;
  const started = performance.now();
  let warmStarted = started;
  for (let it = 1; it <= FRAMES; it++) {
    await send.iteration(it);
    if (it === warmup) {
      rssWarm = rssMb(pid);
      cpuWarm = cpuSeconds(pid);
      warmStarted = performance.now();
      latencies.length = 0;
      await page?.evaluate(() => {
        window.__engramFrameTimings = [];
      });
    }
  }
  await send.drain();
  const seconds = (performance.now() - warmStarted) / 1000;
  const rssEnd = rssMb(pid);
  const cpuEnd = cpuSeconds(pid);
  // The last frames may still be on their way to the page: give it a moment, then read what it drew.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const timings: FrameTiming[] = page === null ? [] : await page.evaluate(() => window.__engramFrameTimings ?? []);
  const shown = page === null ? null : await page.getAttribute('[data-testid="heatmap-memory"]', 'data-shape');
  if (page !== null && shown !== '256x256') throw new Error(`the memory panel shows ${shown}, expected 256x256`);
  await page?.close();
  send.close();
  const pixels = timings.map((t) => t.drawnAt - t.capturedAt).sort((a, b) => a - b);
  const stored = (await (await fetch(`${url}/api/runs/${runId}/frames`)).json()) as Ack<{ iterations: number[] }>;
  viewer.close();
  latencies.sort((a, b) => a - b);
  return {
    frames: FRAMES,
    framesPerSec: Number(((FRAMES - warmup) / seconds).toFixed(1)),
    // The server's own CPU per iteration (frame + metric point + the live view), less sensitive than frames/s to
    // what else the machine runs.
    serverCpuMsPerFrame: Number((((cpuEnd - cpuWarm) * 1000) / (FRAMES - warmup)).toFixed(2)),
    totalSeconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    receiveToPixelsMs:
      page === null ? null : { p50: percentile(pixels, 50), p95: percentile(pixels, 95), framesDrawn: pixels.length },
    receiveToSubscriberMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), n: latencies.length },
    rssMb: { afterWarmup: Number(rssWarm.toFixed(1)), end: Number(rssEnd.toFixed(1)) },
    storedFrames: stored.ok ? stored.data.iterations.length : null,
  };
}

async function eight(url: string) {
  const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => create(url, `bench-eight-${i}`)));
  const deadline = performance.now() + SECONDS * 1000;
  const results = await Promise.all(
    clients.map(async (runId) => {
      const sends: number[] = [];
      let next = performance.now();
      for (let it = 1; performance.now() < deadline; it++) {
        const t0 = performance.now();
        await post(`${url}/api/runs/${runId}/metrics`, { points: [{ iteration: it, loss: 1 / it }] });
        await post(`${url}/api/runs/${runId}/frames`, frameBody(it, 64));
        sends.push(performance.now() - t0);
        next += 20; // 50 frames/s
        const wait = next - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      return sends;
    }),
  );
  const all = results.flat().sort((a, b) => a - b);
  return {
    seconds: SECONDS,
    targetPerClient: 50 * SECONDS,
    framesPerClient: results.map((r) => r.length),
    sendLatencyMs: { p50: Number(percentile(all, 50).toFixed(2)), p95: Number(percentile(all, 95).toFixed(2)) },
  };
}

async function main(): Promise<void> {
  const build = PRODUCTION && BROWSER ? ensureProductionBuild(join(__dirname, '..')) : null;
  const dataDir = mkdtempSync(join(tmpdir(), 'engram-bench-ingest-'));
  const { child, url } = await startServer(dataDir, {
    next: BROWSER,
    detached: true,
    nodeArgs: PROFILE_DIR === null ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR],
    env: { NODE_ENV: PRODUCTION ? 'production' : 'development' },
  });
  const browser = BROWSER
    ? await chromium.launch({
        executablePath: process.env.ENGRAM_CHROMIUM ?? '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      })
    : null;
  try {
    const one = await single(url, child.pid as number, browser);
    console.log('one client, 256×256 float32 + a metric point per iteration:', JSON.stringify(one));
    const many = await eight(url);
    console.log('eight clients, 64×64 at 50/s each:', JSON.stringify(many));
    const goal = {
      framesPerSec: one.framesPerSec >= 200,
      pixelsP95: one.receiveToPixelsMs === null ? null : one.receiveToPixelsMs.p95 <= 150,
      rssFlat: one.rssMb.end - one.rssMb.afterWarmup < 50,
    };
    console.log(
      JSON.stringify({
        bench: 'ingest',
        // How the page was served: Next's production build (`--prod`), its dev mode (the default, as `npm run dev`),
        // or not at all (`--no-browser`).
        mode: !BROWSER ? 'api-only' : PRODUCTION ? 'production' : 'development',
        transport: TRANSPORT,
        build,
        loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
        goal,
        single: one,
        eight: many,
      }),
    );
  } finally {
    await browser?.close();
    await stopServer(child, dataDir);
  }
}

void main();
