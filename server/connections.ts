/**
 * The TCP connections the server must be able to end itself: upgraded sockets (Next's HMR) leave http.Server's own
 * tracking, so `close()` ends them here; and socket.io's transports, which a test hook cuts to look like a restart.
 */
import type { Duplex } from 'node:stream';

export class ConnectionTracker {
  private readonly sockets = new Set<Duplex>();

  track(socket: Duplex): void {
    if (this.sockets.has(socket)) return;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
