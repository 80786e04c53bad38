// An experiment's learning curves, fed row by row from its event stream: one chart per metric
// pair (training solid, validation dashed, one colour a pair, as in the notebooks), a choice
// of pairs, log scale, smoothing that keeps the raw curve faint. Rows are only stored as they
// arrive; drawing waits for the next animation frame, so the hundreds of epochs a compiled fit
// lands at once (or a 4,000-epoch catch-up) cost one redraw, not one each.

import { PALETTE, lineChart, metricPairs, smooth } from "../chart.js";
import { fmt, h } from "../dom.js";

const HEIGHT = 300;
const RAW_ALPHA = 0.25;
// Charted by default next to the loss: the notebooks' second plot.
const ACCURACY_LIKE = /acc|auc|precision|recall/i;

/**
 * The curves' element (`el`, with `data-epochs`: the epochs drawn) and what feeds it.
 * onDraw(rows drawn, last row) runs after each redraw.
 */
export function liveCurves({ syncKey, onDraw = () => {} }) {
  const xs = [];
  const columns = new Map(); // metric name -> values, aligned with xs
  let pairs = [];
  let selected = null; // the bases charted; null until the first row says which exist
  let logY = false;
  let weight = 0;
  let markers = [];
  let charts = []; // [{pair, chart}]
  let rebuild = true;
  let frame = 0;

  const controls = h("div", { class: "toolbar curves-controls" });
  const grid = h("div", { class: "curves-grid" });
  const waiting = h("p", { class: "muted curves-waiting" }, "Waiting for the first epoch…");
  const el = h("section", { class: "curves", id: "curves", dataset: { epochs: "0" } },
    controls, waiting, grid);

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  /** One history row ({epoch, loss, val_loss, ...}); later epochs only, as the stream sends. */
  function add(row) {
    if (xs.length && row.epoch <= xs[xs.length - 1]) return;
    for (const name of Object.keys(row)) {
      if (name !== "epoch" && !columns.has(name)) {
        columns.set(name, new Array(xs.length).fill(null)); // a metric that appears late
        rebuild = true;
      }
    }
    xs.push(row.epoch);
    for (const [name, values] of columns) values.push(row[name] ?? null);
    schedule();
  }

  /** New arrays each time: uPlot keeps what it is given, and xs and the columns grow. */
  function dataOf(pair) {
    const names = [pair.train, pair.validation].filter(Boolean);
    // A log axis cannot show zero or below: those points become gaps.
    const shown = (values) => (logY ? values.map((v) => (v > 0 ? v : null)) : values.slice());
    const raw = names.map((name) => shown(columns.get(name)));
    const smoothed = weight ? names.map((name) => shown(smooth(columns.get(name), weight))) : [];
    return [xs.slice(), ...raw, ...smoothed];
  }

  function seriesOf(pair, color) {
    const lines = [[pair.train, false], [pair.validation, true]].filter(([name]) => name);
    const plain = lines.map(([name, dash]) => ({ label: name, color, dash, width: 1.75 }));
    if (!weight) return plain;
    const raw = lines.map(([name, dash]) => ({
      label: `${name} (raw)`, color, dash, alpha: RAW_ALPHA, width: 1,
    }));
    return [...raw, ...plain];
  }

  function build() {
    charts.forEach(({ chart }) => chart.destroy());
    charts = [];
    grid.replaceChildren();
    pairs = metricPairs([...columns.keys()]);
    if (selected === null) {
      const second = pairs.find((p) => p.base !== "loss" && ACCURACY_LIKE.test(p.base));
      selected = new Set([pairs[0]?.base, second?.base].filter(Boolean));
    }
    renderControls();
    pairs.forEach((pair, index) => {
      if (!selected.has(pair.base)) return;
      const color = PALETTE[index % PALETTE.length];
      const plot = h("div", { class: "curves-plot" });
      const title = pair.base.charAt(0).toUpperCase() + pair.base.slice(1).replaceAll("_", " ");
      grid.append(h("figure", { class: "curves-chart", dataset: { metric: pair.base } },
        h("figcaption", {}, title), plot));
      const chart = lineChart(plot, {
        series: seriesOf(pair, color), data: dataOf(pair), logY, height: HEIGHT,
        yLabel: pair.base, sync: syncKey, markers, legendLast: true,
      });
      charts.push({ pair, chart });
    });
    rebuild = false;
  }

  function draw() {
    frame = 0;
    if (!xs.length) return;
    waiting.remove();
    if (rebuild) {
      build();
    } else {
      for (const { pair, chart } of charts) {
        // Keep a zoom the user chose (drag to zoom, double-click to reset); else follow.
        const old = chart.data[0];
        const { min, max } = chart.scales.x;
        const zoomed = old.length > 1 && (min > old[0] || max < old[old.length - 1]);
        chart.setData(dataOf(pair), !zoomed);
      }
    }
    el.dataset.epochs = String(xs.length);
    const last = Object.fromEntries([["epoch", xs[xs.length - 1]],
      ...[...columns].map(([name, values]) => [name, values[values.length - 1]])]);
    onDraw(xs.length, last);
  }

  function renderControls() {
    const choices = pairs.map((pair, index) => h("label", { class: "curves-choice" },
      h("input", {
        type: "checkbox", name: "metric", value: pair.base, checked: selected.has(pair.base),
        onchange: (event) => {
          if (event.target.checked) selected.add(pair.base);
          else selected.delete(pair.base);
          rebuild = true;
          schedule();
        },
      }),
      h("span", { class: "swatch", style: `background:${PALETTE[index % PALETTE.length]}` }),
      pair.base));
    const value = h("output", { class: "curves-weight" }, fmt(weight));
    controls.replaceChildren(
      h("span", { class: "curves-group" }, h("span", { class: "muted" }, "Metrics"), ...choices),
      h("label", { class: "curves-choice" }, h("input", {
        type: "checkbox", name: "log", checked: logY,
        onchange: (event) => { logY = event.target.checked; rebuild = true; schedule(); },
      }), "log scale"),
      h("label", { class: "curves-group" }, h("span", { class: "muted" }, "Smoothing"),
        h("input", {
          type: "range", name: "smoothing", min: "0", max: "0.99", step: "0.01",
          value: String(weight),
          oninput: (event) => {
            const next = Number(event.target.value);
            // The raw curve joins (or leaves) the chart only when smoothing starts or stops.
            if (Boolean(next) !== Boolean(weight)) rebuild = true;
            weight = next;
            value.textContent = fmt(weight);
            schedule();
          },
        }), value),
      h("span", { class: "muted curves-hint" }, "drag to zoom, double-click to reset"),
    );
  }

  /** Vertical lines on every chart, e.g. the best epoch: [{x, label, color}]. */
  function setMarkers(list) {
    markers = list;
    charts.forEach(({ chart }) => chart.setMarkers(list));
  }

  function destroy() {
    if (frame) cancelAnimationFrame(frame);
    charts.forEach(({ chart }) => chart.destroy());
    charts = [];
  }

  return { el, add, setMarkers, destroy, count: () => xs.length };
}
