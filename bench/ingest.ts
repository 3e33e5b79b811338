/**
 * `npm run bench:ingest [-- --frames N --seconds S]`: external-run ingest on a real server (API only, child process).
 *  1. one client streams 256×256 float32 frames plus a metric point per iteration over HTTP, as fast as the server
 *     answers, while a socket.io subscriber (standing in for the dashboard) decodes and acks every frame it gets:
 *     frames/s accepted and stored, p50/p95 from the server receiving a frame to the subscriber having decoded it,
 *     server RSS after warm-up and at the end, and stored frames (bounded by the per-run budget);
 *  2. eight clients at once, 64×64 frames at 50/s each: frames accepted per client (none starves) and the
 *     training-side send latency p95.
 * The browser's drawing is not part of this number (bench:ui measures it). Prints a JSON summary as the last line.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import {
  decodeFrame,
  socketParser,
  type Ack,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../server/protocol';
import type { Socket } from 'socket.io-client';
import { percentile, startServer } from './support';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const FRAMES = flag('frames', 10_000);
const SECONDS = flag('seconds', 10);

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

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function single(url: string, pid: number) {
  const runId = await create(url, 'bench-single');
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
  const warmup = Math.min(1000, Math.floor(FRAMES / 5));
  let rssWarm = Number.NaN;
  const started = performance.now();
  let warmStarted = started;
  for (let it = 1; it <= FRAMES; it++) {
    await post(`${url}/api/runs/${runId}/metrics`, { points: [{ iteration: it, loss: 1 / it }] });
    await post(`${url}/api/runs/${runId}/frames`, frameBody(it, 256));
    if (it === warmup) {
      rssWarm = rssMb(pid);
      warmStarted = performance.now();
    }
  }
  const seconds = (performance.now() - warmStarted) / 1000;
  const rssEnd = rssMb(pid);
  const stored = (await (await fetch(`${url}/api/runs/${runId}/frames`)).json()) as Ack<{ iterations: number[] }>;
  viewer.close();
  latencies.sort((a, b) => a - b);
  return {
    frames: FRAMES,
    framesPerSec: Number(((FRAMES - warmup) / seconds).toFixed(1)),
    totalSeconds: Number(((performance.now() - started) / 1000).toFixed(2)),
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
  const dataDir = mkdtempSync(join(tmpdir(), 'engram-bench-ingest-'));
  const { child, url } = await startServer(dataDir, { next: false });
  try {
    const one = await single(url, child.pid as number);
    console.log('one client, 256×256 float32 + a metric point per iteration:', JSON.stringify(one));
    const many = await eight(url);
    console.log('eight clients, 64×64 at 50/s each:', JSON.stringify(many));
    console.log(JSON.stringify({ bench: 'ingest', single: one, eight: many }));
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
