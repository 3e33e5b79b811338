/**
 * `npm run bench:visdom`: what the Visdom routes cost the server. Starts the server (bench/support.ts, with the node
 * flags of `npm run dev`) as a child process (no Next, Visdom port off: the routes under /visdom) on a fresh data
 * dir, sends the bodies the Visdom Python client sends (Python's `json.dumps` layout, full-precision floats) over
 * keep-alive HTTP, and measures:
 *  1. server CPU ms per 256×256 `heatmap` call (pytorch-dnc's grouped titles; goal ≤ 5 ms);
 *  2. server CPU ms per `line(update='append')` call at 500, 5,000 and 50,000 points of history (goal: flat);
 *  3. server RSS during 10,000 heatmap calls (`--quick`: 2,000), which must level off once the frame budget is full.
 * Server CPU is the time every thread of the server process spent on a CPU (the sum of
 * `/proc/<pid>/task/<tid>/schedstat`, nanoseconds: the main thread, V8's GC helpers, libuv's pool), read before and
 * after each batch of calls; a figure is the median batch's time per call, so a batch that caught a collection of
 * earlier garbage or a stall of this shared machine does not move it. The bodies of a batch are built before its
 * clock starts. Prints the figures, then a JSON summary as the last line.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, stopServer } from './support';

const quick = process.argv.includes('--quick');
/** Heatmap calls are measured in BATCHES batches of BATCH_CALLS calls; appends in BATCHES batches of APPEND_CALLS. */
const BATCHES = quick ? 5 : 9;
const BATCH_CALLS = quick ? 30 : 50;
const RSS_CALLS = quick ? 2000 : 10_000;
const APPEND_CALLS = quick ? 40 : 100;
const SIZE = 256;

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POST a body to a Visdom route; throws on anything but 200. */
async function send(base: string, route: string, body: string): Promise<string> {
  const res = await post(`${base}${route}`, body);
  if (res.status !== 200) throw new Error(`${route}: ${res.status} ${res.text}`);
  return res.text;
}

/**
 * Milliseconds the process's threads have spent on a CPU, from each thread's schedstat (nanoseconds; /proc/<pid>/stat
 * counts 10 ms ticks, too coarse for a batch of calls). A thread that exits between two reads takes its time along.
 */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited while we listed them
    }
  }
  return ns / 1e6;
}

/** Server CPU ms per call over `batches` batches: the median batch's, and the lowest and highest. */
async function perCall(
  pid: number,
  batches: number,
  prepare: (batch: number) => (() => Promise<void>)[],
): Promise<{ median: number; min: number; max: number; wallMs: number }> {
  const perBatch: number[] = [];
  const wall: number[] = [];
  for (let b = 0; b < batches; b++) {
    const calls = prepare(b);
    const cpu0 = cpuMs(pid);
    const wall0 = performance.now();
    for (const call of calls) await call();
    perBatch.push((cpuMs(pid) - cpu0) / calls.length);
    wall.push((performance.now() - wall0) / calls.length);
  }
  const sorted = [...perBatch].sort((a, b) => a - b);
  return {
    median: median(perBatch),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    wallMs: median(wall),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number((status.match(/VmRSS:\s+(\d+)/) as RegExpMatchArray)[1]);
  return Math.round(kb / 102.4) / 10;
}

/** A number as Python's repr writes a float (JS's shortest round-trip form, plus `.0` for integral values). */
function pyFloat(v: number): string {
  const text = String(v);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

/** The body `viz.heatmap(X, opts=dict(... title=f"Memory, t: {t}, loss: {loss:.4f}" ...))` sends. */
function heatmapBody(t: number, seed: number): string {
  let state = seed;
  const rows: string[] = [];
  for (let r = 0; r < SIZE; r++) {
    const row: string[] = [];
    for (let c = 0; c < SIZE; c++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      row.push(pyFloat(state / 2147483648));
    }
    rows.push(`[${row.join(', ')}]`);
  }
  const title = `Memory, t: ${t}, loss: ${(0.7 / (1 + t / 100)).toFixed(4)}`;
  return (
    `{"data": [{"z": [${rows.join(', ')}], "x": null, "y": null, "zmin": null, "zmax": null, "type": "heatmap", ` +
    `"colorscale": "Viridis"}], "win": "window_${(0x3fd30d4ace607e + t).toString(16)}", "eid": "bench", ` +
    `"layout": {"showlegend": false, "title": "${title}", "margin": {"l": 60, "r": 60, "t": 60, "b": 60}}, ` +
    `"opts": {"xtickstep": 10, "ytickstep": 2, "title": "${title}", "ylabel": "layer * time", ` +
    `"xlabel": "mem_slot * mem_size", "colormap": "Viridis"}}`
  );
}

function lineBody(x: number[], y: number[]): string {
  return (
    `{"data": [{"x": [${x.map(pyFloat).join(', ')}], "y": [${y.map(pyFloat).join(', ')}], "name": "1", ` +
    `"type": "scatter", "mode": "lines", "textposition": "right", "line": {}, "marker": {"size": 10, ` +
    `"symbol": "dot", "line": {"color": "#000000", "width": 0.5}}}], "win": "loss", "eid": "bench", "layout": {}, ` +
    `"opts": {"markers": false, "fillarea": false, "mode": "lines", "markersymbol": "dot", "markersize": 10, ` +
    `"markerborderwidth": 0.5}, "name": null, "append": true}`
  );
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'engram-bench-visdom-'));
  const { child, url } = await startServer(dataDir, { next: false, args: ['--visdom-port', 'off'] });
  const pid = child.pid as number;
  const base = `${url}/visdom`;
  try {
    await send(base, '/env/bench', '{"eid": "bench"}');
    const bodies = Array.from({ length: 8 }, (_, i) => heatmapBody(i, i + 1));
    const bodyBytes = Buffer.byteLength(bodies[0]);

    // 1. heatmap calls: warm up, then measure three ways, so the figure can be read: receiving the body alone (an
    //    unknown route: read, then 404), a call into a window at the same iteration (parse and window state; the
    //    frame is rewritten at most every 100 ms), and a call at a new iteration each time (a stored frame per call).
    const caller = (route: string) => (body: string) => async () => {
      const res = await post(`${base}${route}`, body);
      if (res.status !== (route === '/nowhere' ? 404 : 200)) throw new Error(`${route}: ${res.status} ${res.text}`);
    };
    let t = 100;
    const measure = async (route: string, body: (i: number) => string) => {
      const call = caller(route);
      for (let i = 0; i < 10; i++) await call(body(i))();
      return perCall(pid, BATCHES, () => Array.from({ length: BATCH_CALLS }, (_, i) => call(body(i))));
    };
    const receive = await measure('/nowhere', (i) => bodies[i % bodies.length]);
    const sameIteration = await measure('/events', () => bodies[0]);
    const newIteration = await measure('/events', (i) => bodies[i % bodies.length].replace(/t: \d+/g, `t: ${t++}`));
    const heatmapCpuMs = newIteration.median;
    const heatmapWallMs = newIteration.wallMs;
    const spread = (m: { min: number; max: number }) => `(batches ${m.min.toFixed(2)}–${m.max.toFixed(2)})`;
    console.log(
      `heatmap ${SIZE}×${SIZE}, ${(bodyBytes / 1e6).toFixed(2)} MB body, ${BATCHES} batches of ${BATCH_CALLS} calls ` +
        'each, median batch:',
    );
    console.log(
      `  receiving the body only:        server CPU ${receive.median.toFixed(2)} ms per call ${spread(receive)}`,
    );
    console.log(
      `  same window, same iteration:    server CPU ${sameIteration.median.toFixed(2)} ms per call ` +
        spread(sameIteration),
    );
    console.log(
      `  a new iteration (frame stored): server CPU ${heatmapCpuMs.toFixed(2)} ms per call ${spread(newIteration)}, ` +
        `round trip ${heatmapWallMs.toFixed(2)} ms`,
    );

    // 2. line appends at growing history lengths.
    await send(base, '/events', lineBody([0], [1]).replace(', "name": null, "append": true', ''));
    let points = 1;
    const appendCpuMs: Record<string, number> = {};
    for (const history of [500, 5000, 50_000]) {
      while (points < history) {
        const n = Math.min(1000, history - points);
        const x = Array.from({ length: n }, (_, i) => points + i);
        await send(
          base,
          '/update',
          lineBody(
            x,
            x.map((v) => 1 / (v + 1)),
          ),
        );
        points += n;
      }
      const append = await perCall(pid, BATCHES, () =>
        Array.from({ length: APPEND_CALLS }, () => {
          const body = lineBody([points], [1 / (points + 1)]);
          points++;
          return async () => {
            await send(base, '/update', body);
          };
        }),
      );
      appendCpuMs[String(history)] = append.median;
      console.log(
        `line append at ${history} points: server CPU ${append.median.toFixed(3)} ms per call ${spread(append)}, ` +
          `round trip ${append.wallMs.toFixed(2)} ms`,
      );
    }

    // 3. RSS over many heatmap calls (new iterations each time, so the frame budget fills and thins).
    const rss: { calls: number; rssMb: number }[] = [{ calls: 0, rssMb: rssMb(pid) }];
    const every = RSS_CALLS / 10;
    for (let i = 1; i <= RSS_CALLS; i++) {
      await send(base, '/events', bodies[i % bodies.length].replace(/t: \d+/g, `t: ${1000 + i}`));
      if (i % every === 0) {
        rss.push({ calls: i, rssMb: rssMb(pid) });
        console.log(`after ${i} heatmap calls: server RSS ${rss[rss.length - 1].rssMb} MB`);
      }
    }
    const half = rss[Math.floor(rss.length / 2)].rssMb;
    const last = rss[rss.length - 1].rssMb;
    const summary = {
      bench: 'visdom',
      heatmap: {
        size: SIZE,
        bodyBytes,
        batches: BATCHES,
        callsPerBatch: BATCH_CALLS,
        serverCpuMsPerCall: round(heatmapCpuMs, 2),
        serverCpuMsPerCallBatchRange: [round(newIteration.min, 2), round(newIteration.max, 2)],
        receiveOnlyCpuMs: round(receive.median, 2),
        sameIterationCpuMs: round(sameIteration.median, 2),
      },
      serverCpu: 'median over batches of (CPU time of all server threads, /proc schedstat) / calls in the batch',
      heatmapRoundTripMs: round(heatmapWallMs, 2),
      lineAppendServerCpuMsPerCall: Object.fromEntries(Object.entries(appendCpuMs).map(([k, v]) => [k, round(v, 3)])),
      lineAppendRatio50kTo500: round(appendCpuMs['50000'] / appendCpuMs['500'], 2),
      rss: { calls: RSS_CALLS, atHalfMb: half, atEndMb: last, growthSecondHalfMb: round(last - half, 1) },
      goals: { heatmapCpuMs: 5, appendFlat: true },
    };
    console.log(JSON.stringify(summary));
  } finally {
    await stopServer(child, dataDir);
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
