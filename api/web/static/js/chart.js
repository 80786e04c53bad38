// Learning curves with uPlot (vendored, a global): training solid, validation dashed, one
// colour per metric pair, as in the notebooks and fitq's PNG plots.

/* global uPlot */

// matplotlib's default colours (tab10), the ones fitq's PNG plots use.
export const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

/** "val_loss" -> {base: "loss", validation: true}. */
export function splitMetric(name) {
  return name.startsWith("val_")
    ? { base: name.slice(4), validation: true }
    : { base: name, validation: false };
}

/** TensorBoard's smoothing: a debiased exponential moving average (weight 0: none); gaps and
 * non-finite values stay as they are and do not enter the average. */
export function smooth(values, weight) {
  if (!weight) return values.slice();
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    count += 1;
    last = last * weight + (1 - weight) * v;
    return last / (1 - weight ** count);
  });
}

/**
 * A uPlot chart in `el`. series: [{label, color, dash, width, alpha}] (y series only);
 * data: [xs, ys1, ys2, ...]. Returns the uPlot instance (setData to update) and keeps its
 * width to its container's.
 */
export function lineChart(el, { series, data, logY = false, height = 320, xLabel = "epoch",
                                yLabel = "", bands = [] }) {
  const options = {
    width: Math.max(el.clientWidth, 320),
    height,
    scales: { x: { time: false }, y: { distr: logY ? 3 : 1 } },
    axes: [{ label: xLabel }, { label: yLabel }],
    legend: { live: true },
    bands,
    series: [
      { label: xLabel },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.alpha === undefined ? s.color : withAlpha(s.color, s.alpha),
        width: s.width ?? 1.5,
        dash: s.dash ? [6, 4] : undefined,
        fill: s.fill,
        spanGaps: true,
        points: { show: false },
        show: s.show ?? true,
      })),
    ],
  };
  const chart = new uPlot(options, data, el);
  const resize = new ResizeObserver(() => {
    chart.setSize({ width: Math.max(el.clientWidth, 320), height });
  });
  resize.observe(el);
  const destroy = chart.destroy.bind(chart);
  chart.destroy = () => { resize.disconnect(); destroy(); };
  return chart;
}

/** "#1f77b4" at `alpha` as rgba(). */
export function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
