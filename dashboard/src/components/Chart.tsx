import type { Attempt, AttemptSeries } from '../api';

const WIDTH = 1200;
const HEIGHT = 150;
const PAD_LEFT = 34;
const PAD_BOTTOM = 18;
const PLOT_W = WIDTH - PAD_LEFT - 4;
const PLOT_H = HEIGHT - PAD_BOTTOM - 6;

/** What both charts draw around their bars: the x axis, the y axis' ticks (max and 0), the x axis' two ends. */
function Axes(props: { max: number; left: string; right: string }) {
  return (
    <>
      <line x1={PAD_LEFT} y1={6 + PLOT_H} x2={WIDTH - 4} y2={6 + PLOT_H} class="axis" />
      <text x={PAD_LEFT - 4} y={12} class="tick" text-anchor="end">
        {props.max}
      </text>
      <text x={PAD_LEFT - 4} y={6 + PLOT_H} class="tick" text-anchor="end">
        0
      </text>
      <text x={PAD_LEFT} y={HEIGHT - 4} class="tick">
        {props.left}
      </text>
      <text x={WIDTH - 4} y={HEIGHT - 4} class="tick" text-anchor="end">
        {props.right}
      </text>
    </>
  );
}

/** Succeeded (green) and failed (red) attempts per interval, stacked bars, as plain SVG. */
export function ThroughputChart(props: { series: AttemptSeries | undefined }) {
  const data = props.series?.data ?? [];
  const max = Math.max(1, ...data.map((d) => d.success + d.fail));
  const slot = data.length > 0 ? PLOT_W / data.length : PLOT_W;
  const bar = Math.max(1, slot - 2);
  const y = (v: number) => (v / max) * PLOT_H;
  const totals = data.reduce((t, d) => ({ success: t.success + d.success, fail: t.fail + d.fail }), { success: 0, fail: 0 });
  const minutes = props.series ? Math.round((new Date(props.series.until).getTime() - new Date(props.series.since).getTime()) / 60000) : 60;
  return (
    <figure class="chart" data-testid="chart">
      <figcaption>
        Attempts per {props.series ? props.series.intervalSeconds / 60 : 1} min, last {minutes} min:{' '}
        <span class="legend legend-success">{totals.success} succeeded</span> <span class="legend legend-fail">{totals.fail} failed</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Attempts over time: succeeded and failed">
        {data.map((d, i) => {
          const x = PAD_LEFT + i * slot + 1;
          const hs = y(d.success);
          const hf = y(d.fail);
          return (
            <g key={d.start}>
              <title>{`${new Date(d.start).toLocaleTimeString()}: ${d.success} succeeded, ${d.fail} failed`}</title>
              {d.success > 0 && <rect x={x} y={6 + PLOT_H - hs} width={bar} height={hs} class="bar-success" />}
              {d.fail > 0 && <rect x={x} y={6 + PLOT_H - hs - hf} width={bar} height={hf} class="bar-fail" />}
            </g>
          );
        })}
        <Axes max={max} left={`${minutes} min ago`} right="now" />
      </svg>
    </figure>
  );
}

/** Each attempt's duration, oldest left, green when it succeeded and red when it failed (plain SVG). */
export function LatencyChart(props: { attempts: Attempt[] }) {
  const data = [...props.attempts].reverse();
  const max = Math.max(1, ...data.map((a) => a.responseDurationMs));
  const slot = data.length > 0 ? PLOT_W / data.length : PLOT_W;
  const bar = Math.max(1, Math.min(40, slot - 2));
  return (
    <figure class="chart" data-testid="latency-chart">
      <figcaption>
        Duration of the last {data.length} attempt{data.length === 1 ? '' : 's'} (ms): <span class="legend legend-success">succeeded</span>{' '}
        <span class="legend legend-fail">failed</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Attempt durations, oldest first">
        {data.map((a, i) => {
          const h = Math.max(1, (a.responseDurationMs / max) * PLOT_H);
          return (
            <rect key={a.id} x={PAD_LEFT + i * slot + 1} y={6 + PLOT_H - h} width={bar} height={h} class={a.statusText === 'success' ? 'bar-success' : 'bar-fail'}>
              <title>{`${new Date(a.timestamp).toLocaleTimeString()}: ${a.responseDurationMs} ms, ${a.responseStatusCode || 'no response'}`}</title>
            </rect>
          );
        })}
        <Axes max={max} left="older" right="newest" />
      </svg>
    </figure>
  );
}
