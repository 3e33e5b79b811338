// The Python client (clients/python/engram.py) against the real server: runs its unittest suite with ENGRAM_URL
// pointing at a test server. Skipped, saying why, where python3 or numpy is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startTestServer } from '../../server/testing/test-server';

const PYTHON = process.env.ENGRAM_PYTHON ?? 'python3';
const probe = spawnSync(PYTHON, ['-c', 'import numpy, sys; assert sys.version_info >= (3, 9)'], { encoding: 'utf8' });
const missing =
  probe.error !== undefined || probe.status !== 0
    ? `${PYTHON} with numpy (Python >= 3.9) is not available: install python3 and python3-numpy to run these tests`
    : false;

test('the Python client streams, obeys pause/step/stop and survives a vanished server', { skip: missing }, async () => {
  const server = await startTestServer({ clientTimeoutMs: 5000 });
  try {
    const child = spawn(PYTHON, ['-m', 'unittest', '-v', 'test_engram'], {
      cwd: join(__dirname),
      env: { ...process.env, ENGRAM_URL: server.url, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, output);
    assert.match(output, /Ran 8 tests/);
  } finally {
    await server.teardown();
  }
});
