// A small uPlot line with no axes, for issue rows and single stats.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export function Sparkline(props: { times: number[]; values: (number | null)[]; width?: number; height?: number; color?: string; bars?: boolean; label?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || props.times.length === 0) return;
    const color = props.color ?? "#3d7fd9";
    const u = new uPlot(
      {
        width: props.width ?? 120,
        height: props.height ?? 28,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: false }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
        series: [
          {},
          {
            stroke: color,
            fill: color + "33",
            width: 1.25,
            points: { show: false },
            paths: props.bars ? uPlot.paths.bars!({ size: [0.9, 8] }) : undefined,
          },
        ],
      },
      [props.times, props.values],
      box.current,
    );
    return () => u.destroy();
  }, [props.times, props.values, props.width, props.height, props.color]);
  return <div class="sparkline" ref={box} role="img" aria-label={props.label ?? "trend"} />;
}
