/**
 * `npm run bench:fuzz [-- --cases N --seed S]`: the HTTP and socket fuzzers of `server/testing/fuzz.ts` against the
 * real server (API only, synthetic runs), N cases each (default 2000, seed 13). Prints every broken promise (a 5xx,
 * an untyped or missing answer, a server that stops answering) and a JSON summary as the last line; exits 1 when
 * anything broke. `npm test` runs the same fuzzers with a few hundred cases.
 */
import { fuzzHttp, fuzzSocket } from '../server/testing/fuzz';
import { startTestServer } from '../server/testing/test-server';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} needs a non-negative integer`);
  return value;
}

async function main(): Promise<void> {
  const cases = flag('cases', 2000);
  const seed = flag('seed', 13);
  const server = await startTestServer();
  const started = Date.now();
  try {
    const http = await fuzzHttp(server.url, seed, cases);
    const socket = await fuzzSocket(await server.client(), seed, cases);
    for (const failure of [...http.failures, ...socket.failures]) console.log(`FAIL ${failure}`);
    const failures = http.failureCount + socket.failureCount;
    console.log(
      JSON.stringify({
        bench: 'fuzz',
        seed,
        cases,
        seconds: (Date.now() - started) / 1000,
        failures,
        http: { outcomes: http.outcomes, failures: http.failureCount },
        socket: { outcomes: socket.outcomes, failures: socket.failureCount },
      }),
    );
    process.exitCode = failures > 0 ? 1 : 0;
  } finally {
    await server.teardown();
  }
}

void main();
