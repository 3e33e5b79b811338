/**
 * Commands to the server over the socket the LiveConnection owns. The connection registers its socket here
 * (module-level, one per page) so controls anywhere in the tree can send commands without prop drilling;
 * every command resolves to the server's `Ack`, or to a local `internal` error when the socket is missing or the
 * server does not answer in time.
 */
import type { Ack, ClientToServerEvents } from '../../server/protocol';

/** Events that take `(payload, ack)`. */
export type CommandEvent = {
  [E in keyof ClientToServerEvents]: Parameters<ClientToServerEvents[E]> extends [unknown, (res: infer R) => void]
    ? R extends Ack<unknown>
      ? E
      : never
    : never;
}[keyof ClientToServerEvents];

export type CommandPayload<E extends CommandEvent> = Parameters<ClientToServerEvents[E]>[0];
export type CommandData<E extends CommandEvent> = Parameters<ClientToServerEvents[E]>[1] extends (
  res: Ack<infer T>,
) => void
  ? T
  : never;

/** The slice of a socket.io client socket that commands need; socket.io's own typing of acks under `timeout()`
 *  loses the payload type, so this narrow shape is what the connection registers. */
export interface CommandSocket {
  connected: boolean;
  timeout(ms: number): {
    emit(event: string, payload: unknown, callback: (err: Error | null, res: unknown) => void): void;
  };
  emit(event: string, payload: unknown): unknown;
}

let active: CommandSocket | null = null;

export function setCommandSocket(socket: CommandSocket | null): void {
  active = socket;
}

export const COMMAND_TIMEOUT_MS = 15_000;

function isAck(value: unknown): value is Ack<unknown> {
  if (typeof value !== 'object' || value === null || !('ok' in value)) return false;
  const ok = (value as { ok: unknown }).ok;
  return ok === true || (ok === false && typeof (value as { error?: unknown }).error === 'object');
}

export function command<E extends CommandEvent>(event: E, payload: CommandPayload<E>): Promise<Ack<CommandData<E>>> {
  const socket = active;
  if (!socket)
    return Promise.resolve({
      ok: false,
      error: { code: 'internal', message: `${event}: not connected to the server` },
    });
  return new Promise((resolve) => {
    socket.timeout(COMMAND_TIMEOUT_MS).emit(event, payload, (err, res) => {
      if (err)
        resolve({
          ok: false,
          error: {
            code: 'internal',
            message: `${event}: no answer from the server within ${COMMAND_TIMEOUT_MS / 1000} s`,
          },
        });
      else if (isAck(res)) resolve(res as Ack<CommandData<E>>);
      else resolve({ ok: false, error: { code: 'internal', message: `${event}: malformed answer from the server` } });
    });
  });
}

/** Fire-and-forget events (frame acknowledgements). */
export function notify(event: 'frame:ack', payload: Parameters<ClientToServerEvents['frame:ack']>[0]): void {
  active?.emit(event, payload);
}
