/**
 * How the process behind `npm run dev` / `npm start` ends on SIGINT/SIGTERM: close the server (runs checkpoint, then
 * sockets and storage close), exit 0; a second signal or a close that hangs past a bound exits 1 at once.
 */

/** Longest a graceful shutdown may take before the process exits anyway. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

export function closeOnSignals(server: { close(): Promise<void> }, exit: (code: number) => void = process.exit): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) exit(1); // a second Ctrl-C means now
    stopping = true;
    console.log(`[engram] ${signal}: checkpointing runs and closing`);
    // Checkpoints are written within seconds; a hung handle must not keep the port's process (and Next's lock) alive.
    setTimeout(() => {
      console.error('[engram] shutdown took too long; exiting');
      exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    server.close().then(
      () => exit(0),
      (error: unknown) => {
        console.error(error);
        exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
