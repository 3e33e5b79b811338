'use client';
/** An external run's trainer: connected or not, and whether it is blocked waiting for a command. */
import type { ExternalClientInfo } from '../../server/protocol';

export function ClientBadge({ client }: { client: ExternalClientInfo }) {
  const state = !client.connected ? 'disconnected' : client.waiting ? 'waiting' : 'connected';
  const label = !client.connected ? 'trainer disconnected' : client.waiting ? 'trainer waiting' : 'trainer connected';
  return (
    <span
      className={`conn conn-${client.connected ? 'connected' : 'reconnecting'}`}
      data-testid="client-state"
      data-state={state}
      title={client.lastSeen === null ? 'not heard from since the server started' : undefined}
    >
      <i />
      {label}
    </span>
  );
}
