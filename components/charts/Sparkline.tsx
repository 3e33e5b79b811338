/** A loss sparkline (log scale) for the runs table: an inline SVG polyline, no plotly. */
import type { MetricPoint } from '../../server/protocol';
import { sparklinePath } from './traces';

export function Sparkline({
  points,
  width = 120,
  height = 26,
}: {
  points: readonly MetricPoint[];
  width?: number;
  height?: number;
}) {
  const path = sparklinePath(points, width, height);
  return (
    <svg
      className="sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      aria-label="loss sparkline"
    >
      {path ? (
        <polyline points={path} fill="none" stroke="currentColor" strokeWidth={1.25} />
      ) : (
        <line x1={0} x2={width} y1={height / 2} y2={height / 2} stroke="#333a46" strokeDasharray="2 3" />
      )}
    </svg>
  );
}
