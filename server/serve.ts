/**
 * What `npm run dev` and `npm start` do (server/main.ts): one http.Server on 127.0.0.1:3000 (by default) carrying
 * Next's request handler, socket.io and the HTTP API. See `cli-options.ts` for flags and environment variables.
 */
import { networkInterfaces } from 'node:os';
import { createEngramServer, type EngramServerOptions } from './app';
import { CliError, parseCliOptions } from './cli-options';
import { StartupError } from './errors';
import { closeOnSignals } from './shutdown';

async function serve(extra: EngramServerOptions): Promise<void> {
  const options = parseCliOptions(process.argv.slice(2), process.env);
  const server = await createEngramServer({
    port: options.port,
    host: options.host,
    dataDir: options.dataDir,
    token: options.token,
    fresh: options.fresh,
    checkpointIntervalMs: options.checkpointIntervalMs,
    commandTimeoutMs: options.commandTimeoutMs,
    stopGraceMs: options.stopGraceMs,
    frameBudget: {
      ...(options.maxFrames === undefined ? {} : { maxFrames: options.maxFrames }),
      ...(options.maxFrameMb === undefined ? {} : { maxBytes: options.maxFrameMb * 1024 * 1024 }),
      ...(options.frameLimitMb === undefined ? {} : { maxFrameBytes: options.frameLimitMb * 1024 * 1024 }),
    },
    ...(options.storageBudgetMb === undefined ? {} : { storageBudgetBytes: options.storageBudgetMb * 1024 * 1024 }),
    ...(options.next ? {} : { next: false as const }),
    visdomPort: options.visdomPort,
    memoryBudgetMb: options.memoryBudgetMb,
    maxTraining: options.maxTraining,
    ...extra,
  });
  console.log(
    `Engram ready: open ${server.url}${options.token === undefined ? '' : '/?token=<ENGRAM_TOKEN>'} (data in ` +
      `${options.dataDir})`,
  );
  if (options.host === '0.0.0.0' || options.host === '::') {
    // Listening on every interface: the loopback URL works here; these are the ones for other machines.
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((net) => net !== undefined && !net.internal && net.family === 'IPv4')
      .map((net) => `http://${net?.address}:${server.port}/?token=<ENGRAM_TOKEN>`);
    if (external.length > 0) console.log(`From other machines: ${external.join(' or ')}`);
  }
  console.log(
    `Visdom scripts: Visdom(port=${server.port}, base_url='/visdom')` +
      (server.visdomPort === null ? '' : ` or Visdom() (port ${server.visdomPort})`),
  );
  const { maxTraining, memoryBudgetMb } = server.admission;
  console.log(
    `Training: at most ${maxTraining} engine run(s) at once within a ${memoryBudgetMb} MB memory budget ` +
      '(--max-training, --memory-budget-mb); more wait queued',
  );
  closeOnSignals(server);
}

/**
 * Start the server from this process's command line and environment, with `extra` options on top; a refused option
 * or a failed start ends the process with one line.
 */
export function serveFromCommandLine(extra: EngramServerOptions = {}): void {
  serve(extra).catch((error: unknown) => {
    const expected = error instanceof CliError || error instanceof StartupError;
    console.error(expected ? `engram: ${error.message}` : error);
    process.exit(error instanceof CliError ? 2 : 1);
  });
}
