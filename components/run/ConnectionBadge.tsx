'use client';
/** Server connection state; says when the page is reconnecting by itself. */
import { connectionSelectors } from '../state/store';
import { useDashboardStore } from '../state/StoreProvider';

export function ConnectionBadge() {
  const connection = useDashboardStore(connectionSelectors.connection);
  const error = useDashboardStore(connectionSelectors.connectionError);
  const label =
    connection === 'connected' ? 'connected' : connection === 'connecting' ? 'connecting…' : 'reconnecting…';
  return (
    <span
      className={`conn conn-${connection}`}
      data-testid="connection"
      data-state={connection}
      title={error ?? undefined}
    >
      <i />
      {label}
    </span>
  );
}
