/**
 * Entry point behind `npm run dev` and `npm start`: one http.Server on 127.0.0.1:3000 (by default) carrying Next's
 * request handler, socket.io and the HTTP API. See `cli-options.ts` for flags and environment variables.
 */
import { createEngramServer } from './app';
import { CliError, parseCliOptions } from './cli-options';

/** Longest a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

async function main(): Promise<void> {
  const options = parseCliOptions(process.argv.slice(2), process.env);
  const server = await createEngramServer({
    port: options.port,
    host: options.host,
    dataDir: options.dataDir,
    token: options.token,
    fresh: options.fresh,
    testHooks: options.testHooks,
    checkpointIntervalMs: options.checkpointIntervalMs,
    frameBudget: {
      ...(options.maxFrames === undefined ? {} : { maxFrames: options.maxFrames }),
      ...(options.maxFrameMb === undefined ? {} : { maxBytes: options.maxFrameMb * 1024 * 1024 }),
    },
    ...(options.next ? {} : { next: false as const }),
    visdomPort: options.visdomPort,
  });
  console.log(
    `Engram ready: open ${server.url}${options.token === undefined ? '' : '/?token=<ENGRAM_TOKEN>'} (data in ` +
      `${options.dataDir})`,
  );
  console.log(
    `Visdom scripts: Visdom(port=${server.port}, base_url='/visdom')` +
      (server.visdomPort === null ? '' : ` or Visdom() (port ${server.visdomPort})`),
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1); // a second Ctrl-C means now
    stopping = true;
    console.log(`[engram] ${signal}: checkpointing runs and closing`);
    // Checkpoints are written within seconds; a hung handle must not keep the port's process (and Next's lock) alive.
    setTimeout(() => {
      console.error('[engram] shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof CliError ? `engram: ${error.message}` : error);
  process.exit(error instanceof CliError ? 2 : 1);
});
