/**
 * `npm run bench:python-loop [-- --seconds S]`: what obeying pause and step exactly costs a training loop. A tiny
 * Python loop (`wait()`, `log()`, no work) streams into a real server (API only, child process) for S seconds per
 * mode: `exact` (controls pause/step/stop/lr: `wait()` asks the server before every iteration on a kept-alive
 * connection) and `free` (controls stop/lr: `wait()` answers from the sender's last reply, as every loop did before
 * pause became exact). A real loop's iteration takes milliseconds, so the per-iteration cost is the figure to read.
 * Needs python3 with numpy. Prints the figures, then a JSON summary as the last line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, stopServer } from './support';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const SECONDS = flag('seconds', 5);
const PYTHON = process.env.ENGRAM_PYTHON ?? 'python3';

const LOOP = `
import json, sys, time
sys.path.insert(0, sys.argv[1])
import engram
url, seconds, mode = sys.argv[2], float(sys.argv[3]), sys.argv[4]
controls = engram.ALL_CONTROLS if mode == "exact" else ("stop", "lr")
run = engram.Run(url, name=f"bench-{mode}", controls=controls, raise_errors=True)
it = 0
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    if not run.wait():
        break
    it += 1
    run.log(it, loss=1.0 / it)
elapsed = time.perf_counter() - start
run.close()
print(json.dumps({"iterations": it, "itPerSec": round(it / elapsed), "usPerIteration": round(1e6 * elapsed / it, 1)}))
`;

function loop(url: string, mode: 'exact' | 'free') {
  const res = spawnSync(PYTHON, ['-c', LOOP, join(__dirname, '..', 'clients', 'python'), url, String(SECONDS), mode], {
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`python loop (${mode}) failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop() as string) as {
    iterations: number;
    itPerSec: number;
    usPerIteration: number;
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'engram-bench-python-'));
  const { child, url } = await startServer(dataDir, { next: false });
  try {
    const free = loop(url, 'free');
    console.log('free (stop/lr only, no question per iteration):', JSON.stringify(free));
    const exact = loop(url, 'exact');
    console.log('exact (pause/step: wait() asks the server each iteration):', JSON.stringify(exact));
    const addedUs = Number((exact.usPerIteration - free.usPerIteration).toFixed(1));
    console.log(JSON.stringify({ bench: 'python-loop', seconds: SECONDS, free, exact, addedUsPerIteration: addedUs }));
  } finally {
    await stopServer(child, dataDir);
  }
}

void main();
