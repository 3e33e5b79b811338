'use client';
/**
 * The runs list's "disk used" figure: what the server's database holds against its global storage budget
 * (`GET /api/storage`), polled while connected; its tooltip gives each run's share. Red once thinning frames can no
 * longer keep the data under the budget.
 */
import { useEffect, useState } from 'react';
import type { Ack, StorageUsage } from '../../server/protocol';
import { routePath } from '../../server/protocol/http';
import { connectionSelectors, runsSelectors } from '../state/store';
import { useDashboardStore } from '../state/StoreProvider';
import { diskUsageLabel } from './format';

const DISK_POLL_MS = 5000;

export function DiskUsage() {
  const connection = useDashboardStore(connectionSelectors.connection);
  const runs = useDashboardStore(runsSelectors.runs);
  const [usage, setUsage] = useState<StorageUsage | null>(null);

  useEffect(() => {
    if (connection !== 'connected') return;
    let stopped = false;
    const poll = async () => {
      try {
        const res = await fetch(routePath('storage'), { cache: 'no-store' });
        const body = (await res.json()) as Ack<StorageUsage>;
        if (!stopped && body.ok) setUsage(body.data);
      } catch {
        // The next poll tries again; the figure keeps its last value meanwhile.
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), DISK_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [connection]);

  if (usage === null) return null;
  const names = Object.fromEntries(Object.values(runs).map((r) => [r.id, r.name]));
  const label = diskUsageLabel(usage, names);
  return (
    <span
      className={`muted disk-used${label.over ? ' disk-over' : ''}`}
      title={label.title}
      data-testid="disk-used"
      data-used-bytes={usage.usedBytes}
    >
      {label.text}
    </span>
  );
}
