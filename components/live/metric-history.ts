/**
 * The open run's whole metric history, for exports: what the page holds when that is all of it, otherwise every
 * stored point fetched page by page (`metrics:get` with `limit`; a full page means more may follow). Curves never
 * need this: they draw the server's overview and fetch detail per zoomed range.
 */
import { MAX_METRICS_PAGE_POINTS, type Ack, type MetricPoint } from '../../server/protocol';
import { command } from './commands';

export async function fullMetricHistory(state: {
  runId: string | null;
  metrics: readonly MetricPoint[];
  metricCount: number;
}): Promise<Ack<MetricPoint[]>> {
  const { runId } = state;
  if (runId === null || state.metricCount <= state.metrics.length) return { ok: true, data: state.metrics.slice() };
  const points: MetricPoint[] = [];
  let since = -1;
  for (;;) {
    const page = await command('metrics:get', { runId, since, limit: MAX_METRICS_PAGE_POINTS });
    if (!page.ok) return page;
    for (const p of page.data) points.push(p);
    if (page.data.length < MAX_METRICS_PAGE_POINTS) return { ok: true, data: points };
    since = page.data[page.data.length - 1].iteration;
  }
}
