import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, createZip } from './zip';

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test("crc32 agrees with zlib's, which checkpoints use: one CRC-32 across the repo", () => {
  let seed = 7;
  for (const length of [1, 3, 255, 4096]) {
    const bytes = Uint8Array.from({ length }, () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    });
    assert.equal(crc32(bytes), zlibCrc32(bytes), `length ${length}`);
  }
});

/** Read a stored zip back through its central directory (independent of the writer's layout choices). */
function readZip(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = bytes.length - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'end of central directory found');
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    assert.equal(view.getUint32(p, true), 0x02014b50);
    const crc = view.getUint32(p + 16, true);
    const size = view.getUint32(p + 20, true);
    const nameLength = view.getUint16(p + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength));
    const local = view.getUint32(p + 42, true);
    assert.equal(view.getUint32(local, true), 0x04034b50);
    const localName = view.getUint16(local + 26, true);
    const localExtra = view.getUint16(local + 28, true);
    const data = bytes.subarray(local + 30 + localName + localExtra, local + 30 + localName + localExtra + size);
    assert.equal(crc32(data), crc, `crc of ${name}`);
    files.set(name, data);
    p += 46 + nameLength;
  }
  return files;
}

test('entries round-trip through the central directory with their CRCs', () => {
  const blob = new Uint8Array(1000).map((_, i) => (i * 37) & 255);
  const zip = createZip([
    { name: 'manifest.json', data: '{"schemaVersion":1}' },
    { name: 'panels/memory.npy', data: blob },
    { name: 'ünïcode.txt', data: 'ok' },
  ]);
  const files = readZip(zip);
  assert.deepEqual([...files.keys()], ['manifest.json', 'panels/memory.npy', 'ünïcode.txt']);
  assert.equal(new TextDecoder().decode(files.get('manifest.json')), '{"schemaVersion":1}');
  assert.deepEqual(files.get('panels/memory.npy'), blob);
});

test('bad and duplicate names are refused', () => {
  assert.throws(() => createZip([{ name: '../x', data: '' }]), /bad entry name "\.\.\/x"/);
  assert.throws(
    () =>
      createZip([
        { name: 'a', data: '' },
        { name: 'a', data: '' },
      ]),
    /duplicate entry name "a"/,
  );
});

test('the system unzip accepts the archive, when it is installed', (t) => {
  const probe = spawnSync('unzip', ['-v'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip('unzip is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'engram-zip-'));
  try {
    const file = join(dir, 'a.zip');
    writeFileSync(
      file,
      createZip([
        { name: 'a/b.txt', data: 'hello' },
        { name: 'c.bin', data: new Uint8Array([0, 1, 2]) },
      ]),
    );
    const res = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /No errors detected/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
