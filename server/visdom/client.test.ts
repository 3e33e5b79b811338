// End to end with the real Visdom Python client (a visdom source snapshot is not part of this repository): runs
// testdata/record.py's calls against a real Engram server under /visdom and compares what every call returned with
// what it returned against the recording server. Skipped, saying why, where Debian's python3 with numpy,
// requests, websocket-client and PIL, or the snapshot (VISDOM_SNAPSHOT, default ~/visdom) is missing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../testing/test-server';

const PYTHON = '/usr/bin/python3';
const snapshot = process.env.VISDOM_SNAPSHOT ?? join(homedir(), 'visdom');
const clientDir = join(snapshot, 'py');

function skipReason(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  if (!existsSync(join(clientDir, 'visdom', '__init__.py')))
    return `no visdom snapshot at ${snapshot} (set VISDOM_SNAPSHOT to a checkout of fossasia/visdom)`;
  const probe = spawnSync(PYTHON, ['-c', 'import numpy, requests, websocket, PIL'], { encoding: 'utf8' });
  if (probe.status !== 0) return `python3 lacks numpy/requests/websocket/PIL: ${probe.stderr.trim().split('\n').pop()}`;
  return null;
}

interface Result {
  call: string;
  result: unknown;
}

/** Client-made window ids differ per run; JSON text answers may differ in spacing only. */
function normalise(results: readonly Result[]): Result[] {
  return results.map(({ call, result }) => {
    if (typeof result !== 'string') return { call, result };
    if (/^window_[0-9a-f]+$/.test(result)) return { call, result: 'window_*' };
    if (result.startsWith('[')) return { call, result: JSON.parse(result) as unknown };
    return { call, result };
  });
}

const reason = skipReason();
let server: TestServer;
before(async () => {
  if (reason === null) server = await startTestServer();
});
after(async () => {
  if (reason === null) await server.teardown();
});

test('the real Visdom client gets, call for call, what it got from Visdom', { skip: reason ?? false }, async () => {
  const recorded = JSON.parse(readFileSync(join(__dirname, 'testdata', 'recordings.json'), 'utf8')) as {
    results: Result[];
  };
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      PYTHON,
      [join(__dirname, 'testdata', 'record.py'), '--drive', server.url, '--base-url', '/visdom'],
      { env: { ...process.env, PYTHONPATH: clientDir }, timeout: 60_000, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
  const results = JSON.parse(output.trim().split('\n').pop() ?? '[]') as Result[];
  assert.deepEqual(normalise(results), normalise(recorded.results));
});
