#!/usr/bin/env node
// `npm test`: the one command that runs every test on a fresh machine.
// 1. Makes sure Debian's Chromium is there for Playwright (installs it when root, else prints the command), and that
//    Dawn finds a Vulkan driver for the webgpu tests (Mesa's lavapipe from bookworm-backports when root; Debian 12's
//    own Mesa 22 is rejected by Dawn). Without one the webgpu tests skip, saying why.
// 2. Type-checks every folder (tsc --noEmit), runs Biome (format + lint) and checks the import rules.
// 3. Runs the unit and integration tests (node:test, via tsx), then the browser tests (Playwright).
// Ends with one line `total: N passed, N failed`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const CHROMIUM = process.env.ENGRAM_CHROMIUM || '/usr/bin/chromium';
const args = new Set(process.argv.slice(2));
const only = args.has('--unit') ? 'unit' : args.has('--e2e') ? 'e2e' : 'all';

function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  const command = 'apt-get update && apt-get install -y chromium';
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    console.log(`[test] Chromium not found at ${CHROMIUM}; installing Debian's package: ${command}`);
    const res = spawnSync('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${command}`], { stdio: 'inherit' });
    if (res.status === 0 && existsSync(CHROMIUM)) return;
    console.error(`[test] installing Chromium failed (exit ${res.status}).`);
  } else {
    console.error(`[test] Chromium is missing at ${CHROMIUM}. Install it with:\n  sudo ${command}`);
  }
  process.exit(1);
}

/** Whether Dawn offers a WebGPU adapter here (scripts/webgpu-probe.mjs, about a second). */
function probeWebGpu() {
  const res = spawnSync(process.execPath, [join(root, 'scripts', 'webgpu-probe.mjs')], { encoding: 'utf8' });
  try {
    return JSON.parse(res.stdout.trim().split('\n').pop());
  } catch {
    return { available: false, reason: `the probe failed (exit ${res.status})` };
  }
}

const BACKPORTS_LINE = 'deb http://deb.debian.org/debian bookworm-backports main';

/** Install Mesa's Vulkan drivers from bookworm-backports when no adapter is found (root on Debian 12 only). */
function ensureWebGpuDriver() {
  const probe = probeWebGpu();
  if (probe.available) {
    console.log(`[test] WebGPU adapter: ${probe.vendor} ${probe.architecture} (${probe.description || probe.device})`);
    return;
  }
  const install = 'apt-get install -y -t bookworm-backports mesa-vulkan-drivers';
  const release = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !/^VERSION_CODENAME=bookworm$/m.test(release) || !existsSync('/usr/bin/apt-get')) {
    console.log(
      `[test] no WebGPU adapter (${probe.reason}); the webgpu tests will skip. On Debian 12, as root: add ` +
        `'${BACKPORTS_LINE}' to apt's sources, apt-get update, ${install}`,
    );
    return;
  }
  const sourcesDir = '/etc/apt/sources.list.d';
  const sources = ['/etc/apt/sources.list', ...readdirSync(sourcesDir).map((f) => join(sourcesDir, f))]
    .filter((f) => existsSync(f) && statSync(f).isFile() && !/\.disabled/.test(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  if (!/bookworm-backports/.test(sources))
    writeFileSync(join(sourcesDir, 'bookworm-backports.list'), `${BACKPORTS_LINE}\n`);
  console.log(`[test] no WebGPU adapter (${probe.reason}); installing Mesa's Vulkan drivers: ${install}`);
  const res = spawnSync('bash', ['-c', `DEBIAN_FRONTEND=noninteractive apt-get update && ${install}`], {
    stdio: 'inherit',
  });
  const after = probeWebGpu();
  if (res.status !== 0 || !after.available)
    console.log(`[test] still no WebGPU adapter (${after.reason ?? `apt exit ${res.status}`}); webgpu tests will skip`);
}

function findTests(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (/\.test\.tsx?$/.test(entry)) out.push(relative(root, path));
  }
  return out;
}

/** Run a command, echo its output, and count passes/failures from its summary with `parse`. */
function run(label, cmd, cmdArgs, parse, env = {}) {
  return new Promise((resolve) => {
    console.log(`\n[test] ${label}: ${cmd} ${cmdArgs.join(' ')}`);
    const child = spawn(cmd, cmdArgs, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      text += d;
    });
    child.stderr.on('data', (d) => {
      process.stderr.write(d);
      text += d;
    });
    child.on('close', (code) => resolve({ code: code ?? 1, ...parse(text, code ?? 1) }));
  });
}

const totals = { passed: 0, failed: 0, skipped: 0 };
let exitCode = 0;
function add(label, res) {
  totals.passed += res.passed;
  totals.failed += res.failed;
  totals.skipped += res.skipped ?? 0;
  if (res.code !== 0) {
    exitCode = 1;
    if (res.failed === 0) totals.failed += 1; // a runner that died without counting still fails the run
    console.log(`[test] ${label} exited with ${res.code}`);
  }
}

const num = (text, re) => {
  const m = [...text.matchAll(re)].pop();
  return m ? Number(m[1]) : 0;
};

/** The Python client's tests need python3 with numpy: install Debian's packages when root, else they skip. */
function ensurePythonNumpy() {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  if (probe.status === 0) return;
  const command = 'apt-get update && apt-get install -y python3 python3-numpy';
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    console.log(`[test] python3 with numpy not found; installing Debian's packages: ${command}`);
    spawnSync('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${command}`], { stdio: 'inherit' });
  } else {
    console.error(`[test] python3 with numpy is missing; the Python client tests will skip. Install: sudo ${command}`);
  }
}

if (only !== 'unit') ensureChromium();
if (only !== 'e2e') ensurePythonNumpy();
if (only !== 'e2e') ensureWebGpuDriver();

if (only === 'all') {
  add(
    'typecheck',
    await run('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'], () => ({ passed: 0, failed: 0 })),
  );
  // Formatting and lint (Biome): a file that is not formatted, or any lint warning, fails the run.
  add(
    'lint',
    await run('lint', 'npx', ['biome', 'check', '--error-on-warnings', '.'], () => ({ passed: 0, failed: 0 })),
  );
}
if (only !== 'e2e') {
  const files = ['engine', 'server', 'components', 'scripts', 'app', 'clients'].flatMap((d) =>
    findTests(join(root, d)),
  );
  add(
    'unit',
    await run(
      'unit',
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
      (text) => ({
        passed: num(text, /^ℹ pass (\d+)/gm),
        failed: num(text, /^ℹ fail (\d+)/gm),
        skipped: num(text, /^ℹ skipped (\d+)/gm),
      }),
    ),
  );
}
if (only !== 'unit') {
  add(
    'e2e',
    await run('e2e', 'npx', ['playwright', 'test'], (text) => ({
      passed: num(text, /^\s*(\d+) passed/gm),
      failed: num(text, /^\s*(\d+) failed/gm) + num(text, /^\s*(\d+) flaky/gm),
      skipped: num(text, /^\s*(\d+) skipped/gm),
    })),
  );
}

console.log(
  `\ntotal: ${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`,
);
process.exit(exitCode || (totals.failed > 0 ? 1 : 0));
