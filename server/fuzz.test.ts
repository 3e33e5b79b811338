// The HTTP and socket fuzzers (server/testing/fuzz.ts) with a fixed seed and a bounded number of cases: no 5xx, no
// internal error, every answer typed, every command with an ack answered, and the server still serving afterwards.
// Longer runs: `npm run bench:fuzz -- --cases N [--seed S]`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzHttp, fuzzSocket, isTypedAck, seededRandom } from './testing/fuzz';
import { startTestServer, type TestServer } from './testing/test-server';

const SEED = 13;
const CASES = 250;

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.teardown());

test(`HTTP fuzz, ${CASES} cases, seed ${SEED}`, async () => {
  const summary = await fuzzHttp(server.url, SEED, CASES);
  assert.deepEqual(summary.failures, []);
  assert.ok(Object.keys(summary.outcomes).length >= 4, `varied answers: ${JSON.stringify(summary.outcomes)}`);
});

test(`socket fuzz, ${CASES} cases, seed ${SEED}`, async () => {
  const summary = await fuzzSocket(await server.client(), SEED, CASES);
  assert.deepEqual(summary.failures, []);
  assert.ok(
    (summary.outcomes.bad_request ?? 0) > 0 && (summary.outcomes.ok ?? 0) > 0,
    JSON.stringify(summary.outcomes),
  );
});

test('the fuzzers replay from their seed, and the typed-answer check refuses what it should', () => {
  const a = seededRandom(SEED);
  const b = seededRandom(SEED);
  assert.deepEqual([a(), a(), a()], [b(), b(), b()]);
  assert.ok(isTypedAck({ ok: true, data: null }));
  assert.ok(isTypedAck({ ok: false, error: { code: 'bad_request', message: 'x' } }));
  assert.ok(!isTypedAck({ ok: false, error: { code: 'oops', message: 'x' } }));
  assert.ok(!isTypedAck({ ok: false, error: { code: 'bad_request', message: 'x'.repeat(2000) } }));
  assert.ok(!isTypedAck({ ok: true }));
  assert.ok(!isTypedAck('internal server error'));
});
