/**
 * What the benchmarks that drive a real server share: starting it as a child process on a free port (through
 * `server/testing/test-main.ts`, `server/main.ts` with the test seam, so runs can use the synthetic trainer) and
 * reading percentiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

/**
 * The node flags `npm run dev` gives the server (`tsx <flags> server/main.ts` in package.json), so a benchmark's
 * server runs as the user's does (the old-space floor there changes how often V8 collects: docs/visdom.md#speed).
 */
export function serverNodeFlags(): string[] {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const words = scripts.dev.split(/\s+/);
  return words.slice(words.indexOf('tsx') + 1).filter((w) => w.startsWith('--'));
}

/**
 * Start the server on port 0 with a fresh data dir (or, `fresh: false`, on what a previous server left there) and
 * resolve with its URL from the console line.
 * `next: false` serves the API and socket.io only; `detached` puts it in its own process group, so the caller can
 * stop Next's children with it (`process.kill(-child.pid)`).
 * `BENCH_NODE_ARGS` adds node flags for looking inside the server (`--trace-gc`, `--trace-incremental-marking`);
 * its output then goes to this process's stderr.
 */
export async function startServer(
  dataDir: string,
  options: {
    next: boolean;
    detached?: boolean;
    args?: readonly string[];
    fresh?: boolean;
    /** Node flags for the server process (e.g. `--cpu-prof`), before its entry script. */
    nodeArgs?: readonly string[];
    /** Set on top of this process's environment (e.g. NODE_ENV=production to serve the built pages). */
    env?: Readonly<Record<string, string>>;
  },
): Promise<{ child: ChildProcess; url: string }> {
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((w) => w !== '');
  const args = [
    ...serverNodeFlags(),
    ...(options.nodeArgs ?? []),
    ...extra,
    '--import',
    'tsx',
    'server/testing/test-main.ts',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    ...(options.fresh === false ? [] : ['--fresh']),
    ...(options.next ? [] : ['--no-next']),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: options.detached ?? false,
  });
  if (extra.length > 0) child.stdout?.pipe(process.stderr);
  return { child, url: await readyUrl(child) };
}

/** The URL a starting server prints in its ready line (rejects when it exits first). */
export function readyUrl(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = text.match(/open (http:\/\/[^\s/]+)/);
      if (match !== null) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/**
 * Stop a server started here (its whole process group when started `detached`, so Next's children go too), wait
 * for it to exit, and remove its data dir.
 */
export async function stopServer(child: ChildProcess, dataDir: string): Promise<void> {
  const exited = child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-(child.pid as number), 'SIGTERM');
  } catch {
    child.kill('SIGTERM'); // not a group leader: started without `detached`
  }
  await exited;
  rmSync(dataDir, { recursive: true, force: true });
}

/** The p-th percentile (0–100) of ascending `sorted`, NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
