/**
 * `npm run bench:metrics [-- --points N]`: what opening a long run costs. A real server (API only, child process)
 * gets one external run of N metric points (default 1,000,000, loss and one named scalar each, sent over HTTP in
 * 10,000-point batches), then:
 *  1. `run:subscribe`: ack bytes, points and time (median of 5), the whole-history overview a page opens with;
 *  2. the same after a server restart: the first subscribe reads every stored point once to build the run's
 *     summary (later ones are as fast as in 1);
 *  3. the full series paged with `metrics:get` (50,000 points per page): total bytes and time — what the ack used to
 *     carry whole;
 *  4. zoomed ranges answered as 2,000-point overviews: the middle fifth (from the run's summary) and the middle
 *     fiftieth (every point in it streamed).
 * Prints the figures, then a JSON summary as the last line.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import {
  MAX_METRICS_PAGE_POINTS,
  type Ack,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../server/protocol';
import { socketParser } from '../server/protocol/transport';
import { startServer } from './support';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const POINTS = flag('points', 1_000_000);
const BATCH = 10_000;

function unwrap<T>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`${ack.error.code}: ${ack.error.message}`);
  return ack.data;
}

async function post(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return unwrap((await res.json()) as Ack<unknown>);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value: number) => Math.round(value * 10) / 10;

/** Time one command and the JSON size of its answer. */
async function timed<T>(send: () => Promise<Ack<T>>): Promise<{ ms: number; bytes: number; data: T }> {
  const t0 = performance.now();
  const ack = await send();
  const ms = performance.now() - t0;
  return { ms, bytes: Buffer.byteLength(JSON.stringify(ack)), data: unwrap(ack) };
}

async function connectTo(url: string): Promise<Client> {
  const socket: Client = connect(url, { transports: ['websocket'], parser: socketParser, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** A zoomed range of the middle `fraction` of the history, as a 2,000-point overview. */
async function zoom(socket: Client, runId: string, fraction: number) {
  const since = Math.round(POINTS * (0.5 - fraction / 2));
  const until = Math.round(POINTS * (0.5 + fraction / 2));
  const answer = await timed(() => socket.emitWithAck('metrics:get', { runId, since, until, max_points: 2000 }));
  return { rangePoints: until - since, ms: round(answer.ms), bytes: answer.bytes, points: answer.data.length };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'engram-bench-metrics-'));
  let { child, url } = await startServer(dataDir, { next: false });
  let socket = await connectTo(url);
  try {
    const { id: runId } = (await post(`${url}/api/runs`, { external: true, name: 'long', controls: [] })) as {
      id: string;
    };
    const t0 = performance.now();
    for (let start = 1; start <= POINTS; start += BATCH) {
      const points = Array.from({ length: Math.min(BATCH, POINTS - start + 1) }, (_, k) => {
        const iteration = start + k;
        return { iteration, loss: 1 / Math.sqrt(iteration), grad_norm: (iteration % 97) / 97, t: iteration * 18 };
      });
      await post(`${url}/api/runs/${runId}/metrics`, { points });
    }
    const ingestSeconds = round((performance.now() - t0) / 1000);
    console.log(`stored ${POINTS} points in ${ingestSeconds} s`);

    const subscribes = [];
    for (let i = 0; i < 5; i++) {
      subscribes.push(await timed(() => socket.emitWithAck('run:subscribe', { runId })));
      unwrap(await socket.emitWithAck('run:unsubscribe', { runId }));
    }
    const subscribe = {
      ms: round(median(subscribes.map((s) => s.ms))),
      bytes: subscribes[0].bytes,
      points: subscribes[0].data.metrics.length,
      metricCount: subscribes[0].data.metricCount,
    };
    console.log('run:subscribe (median of 5):', JSON.stringify(subscribe));

    let since = -1;
    let pages = 0;
    let fullBytes = 0;
    let fullPoints = 0;
    const tFull = performance.now();
    for (;;) {
      const page = await timed(() =>
        socket.emitWithAck('metrics:get', { runId, since, limit: MAX_METRICS_PAGE_POINTS }),
      );
      pages += 1;
      fullBytes += page.bytes;
      fullPoints += page.data.length;
      if (page.data.length < MAX_METRICS_PAGE_POINTS) break;
      since = page.data[page.data.length - 1].iteration;
    }
    const full = { ms: round(performance.now() - tFull), bytes: fullBytes, points: fullPoints, pages };
    console.log('full series, paged:', JSON.stringify(full));

    const zoomSummary = await zoom(socket, runId, 0.2);
    console.log('zoom into the middle fifth:', JSON.stringify(zoomSummary));
    const zoomStreamed = await zoom(socket, runId, 0.02);
    console.log('zoom into the middle fiftieth:', JSON.stringify(zoomStreamed));

    socket.disconnect();
    await stop(child);
    ({ child, url } = await startServer(dataDir, { next: false, fresh: false }));
    socket = await connectTo(url);
    const first = await timed(() => socket.emitWithAck('run:subscribe', { runId }));
    unwrap(await socket.emitWithAck('run:unsubscribe', { runId }));
    const second = await timed(() => socket.emitWithAck('run:subscribe', { runId }));
    const afterRestart = { firstMs: round(first.ms), secondMs: round(second.ms), points: first.data.metrics.length };
    console.log('after a restart, first and second subscribe:', JSON.stringify(afterRestart));

    console.log(
      JSON.stringify({
        bench: 'metrics',
        points: POINTS,
        ingestSeconds,
        subscribe,
        full,
        ackVsFullSeries: round(full.bytes / subscribe.bytes),
        zoomSummary,
        zoomStreamed,
        afterRestart,
      }),
    );
  } finally {
    socket.disconnect();
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
