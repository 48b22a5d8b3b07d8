// A small uPlot line chart that fills its container's width. Created once per set of series
// names; new data only calls setData, so a chart updating every second stays cheap. A missing
// value (null) is bridged by the line, never drawn as 0; the time axis has as many labels as its
// width holds (web/src/chart-data.ts), so two never print over each other.

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { timeLabel, timeTicks } from '../chart-data';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

const COLORS = ['#2f7ed8', '#e4572e', '#17a589', '#a05eb5', '#f1a208', '#5c6bc0', '#8d6e63'];

export function colorOf(i: number): string {
  return COLORS[i % COLORS.length]!;
}

export function Chart(props: {
  title: string;
  unit: string;
  x: number[];
  series: ChartSeries[];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const names = props.series.map((s) => s.label).join('\n');
  const data = [props.x, ...props.series.map((s) => s.values)] as uPlot.AlignedData;
  const dataRef = useRef(data);
  dataRef.current = data;

  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuilt only when the series change
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const axis = {
      stroke: '#888',
      grid: { stroke: 'rgba(128,128,128,0.18)' },
      ticks: { stroke: 'rgba(128,128,128,0.3)' },
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 150,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          ...axis,
          // bbox is in device pixels; labels need CSS pixels of room.
          splits: (u, _i, min, max) => timeTicks(min, max, u.bbox.width / uPlot.pxRatio),
          values: (_u, ticks) => ticks.map(timeLabel),
        },
        {
          ...axis,
          size: 64,
          values: (_u, ticks) => ticks.map((t) => `${+t.toFixed(2)}${props.unit}`),
        },
      ],
      series: [
        {},
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: colorOf(i),
          width: 2,
          spanGaps: true,
        })),
      ],
    };
    const p = new uPlot(opts, dataRef.current, el);
    plot.current = p;
    const ro = new ResizeObserver(() =>
      p.setSize({ width: Math.max(200, el.clientWidth), height: props.height ?? 150 }),
    );
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
  }, [names, props.unit]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} />
    </figure>
  );
}
