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

/** The metric pairs of a history's columns, "loss" first, then in the order first seen:
 * [{base, train, validation}] with the column names (null where one side is missing). */
export function metricPairs(names) {
  const pairs = new Map();
  for (const name of names) {
    if (name === "epoch") continue;
    const { base, validation } = splitMetric(name);
    if (!pairs.has(base)) pairs.set(base, { base, train: null, validation: null });
    pairs.get(base)[validation ? "validation" : "train"] = name;
  }
  const list = [...pairs.values()];
  return [...list.filter((p) => p.base === "loss"), ...list.filter((p) => p.base !== "loss")];
}

/**
 * A uPlot chart in `el`. series: [{label, color, dash, width, alpha}] (y series only);
 * data: [xs, ys1, ys2, ...]. Returns the uPlot instance (setData to update) and keeps its
 * width to its container's. Optional: `sync`, a key shared by charts whose cursors move
 * together; `markers`, vertical lines [{x, label, color}] (chart.setMarkers replaces them);
 * `legendLast`, the legend shows the last point's values while the pointer is elsewhere.
 */
export function lineChart(el, { series, data, logY = false, height = 320, xLabel = "epoch",
                                yLabel = "", bands = [], sync = null, markers = [],
                                legendLast = false }) {
  let shown = markers;
  const options = {
    width: Math.max(el.clientWidth, 320),
    height,
    scales: { x: { time: false }, y: { distr: logY ? 3 : 1 } },
    axes: [{ label: xLabel }, { label: yLabel }],
    legend: { live: true },
    cursor: sync ? { sync: { key: sync } } : {},
    hooks: {
      draw: [(u) => drawMarkers(u, shown)],
      ...(legendLast ? { setCursor: [showLast], setData: [showLast] } : {}),
    },
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
  if (legendLast) showLast(chart);
  const resize = new ResizeObserver(() => {
    chart.setSize({ width: Math.max(el.clientWidth, 320), height });
  });
  resize.observe(el);
  const destroy = chart.destroy.bind(chart);
  chart.destroy = () => { resize.disconnect(); destroy(); };
  chart.setMarkers = (list) => { shown = list; chart.redraw(false, false); };
  return chart;
}

/** The legend at the last point when the pointer is not over the plot: not "--" values. */
function showLast(u) {
  const count = u.data[0].length;
  if (u.cursor.idx == null && count) u.setLegend({ idx: count - 1 }, false);
}

/** Dotted vertical lines with a label at the top, inside the plotting area. */
function drawMarkers(u, markers) {
  if (!markers.length) return;
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const ratio = window.devicePixelRatio || 1;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.font = `${11 * ratio}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  for (const { x, label = "", color = "#5f6b76" } of markers) {
    const px = Math.round(u.valToPos(x, "x", true));
    if (px < left || px > left + width) continue;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = ratio;
    ctx.setLineDash([2 * ratio, 3 * ratio]);
    ctx.beginPath();
    ctx.moveTo(px, top);
    ctx.lineTo(px, top + height);
    ctx.stroke();
    // The label on the side with room for it.
    const textWidth = ctx.measureText(label).width;
    const right = px + 4 * ratio + textWidth < left + width;
    ctx.textAlign = right ? "left" : "right";
    ctx.fillText(label, right ? px + 4 * ratio : px - 4 * ratio, top + 4 * ratio);
  }
  ctx.restore();
}

/** "#1f77b4" at `alpha` as rgba(). */
export function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
