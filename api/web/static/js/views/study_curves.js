// A study's learning curves on one chart, fed live by its event stream: one colour per
// variant, training solid and validation dashed, and over repeats the mean line inside a
// band of ± 1 sample standard deviation (as GET /studies/{id}/plot.png draws them).
// Events only store numbers and mark their variant dirty; the chart is recomputed and
// redrawn at most once a frame, so thousands of catch-up epochs do not freeze the page.

import { PALETTE, lineChart, smooth, splitMetric, withAlpha } from "../chart.js";
import { h } from "../dom.js";

const NOT_METRICS = new Set(["epoch", "experiment_id"]);
const RAW_ALPHA = 0.3; // the unsmoothed mean, kept faint behind the smoothed one
const BAND_ALPHA = 0.15;

export const variantColor = (index) => PALETTE[index % PALETTE.length];

/** Mean and sample sd over the repeats at each epoch index; a repeat without a finite
 * value there (not reached yet, stopped early) does not count. */
function meanBand(arrays, length) {
  const mean = new Array(length).fill(null);
  const hi = new Array(length).fill(null);
  const lo = new Array(length).fill(null);
  for (let i = 0; i < length; i += 1) {
    let n = 0;
    let sum = 0;
    for (const values of arrays) {
      const v = values[i];
      if (v !== null && v !== undefined && Number.isFinite(v)) { n += 1; sum += v; }
    }
    if (n === 0) continue;
    const m = sum / n;
    mean[i] = m;
    if (n < 2) continue;
    let squares = 0;
    for (const values of arrays) {
      const v = values[i];
      if (v !== null && v !== undefined && Number.isFinite(v)) squares += (v - m) ** 2;
    }
    const sd = Math.sqrt(squares / (n - 1));
    hi[i] = m + sd;
    lo[i] = m - sd;
  }
  return { mean, hi, lo };
}

/** Every run's recorded values, by variant: what the chart is computed from. */
export class CurveStore {
  constructor(variants) {
    this.variants = variants; // names, in the study's order (their colours follow it)
    this.runs = new Map(); // experiment_id -> {variant, repeat, values: Map(key -> [by epoch - 1])}
    this.keys = new Set(); // every metric key recorded, val_ ones included
    this.maxEpoch = 0;
  }

  addRun(experimentId, variant, repeat) {
    if (!this.runs.has(experimentId)) {
      this.runs.set(experimentId, { variant, repeat, values: new Map() });
    }
  }

  /** Stores one `epoch` event's row; the variant it changed, or null for an unknown run. */
  addEpoch(row) {
    const run = this.runs.get(row.experiment_id);
    if (!run || !(row.epoch >= 1)) return null;
    const index = row.epoch - 1;
    for (const [key, value] of Object.entries(row)) {
      if (NOT_METRICS.has(key) || (typeof value !== "number" && value !== null)) continue;
      let values = run.values.get(key);
      if (!values) {
        values = [];
        run.values.set(key, values);
        this.keys.add(key);
      }
      values[index] = value;
    }
    this.maxEpoch = Math.max(this.maxEpoch, row.epoch);
    return run.variant;
  }

  /** Base metric names (loss, accuracy, ...), loss first. */
  metrics() {
    const bases = [...new Set([...this.keys].map((k) => splitMetric(k).base))].sort();
    return bases.includes("loss") ? ["loss", ...bases.filter((b) => b !== "loss")] : bases;
  }

  /** One variant's curve of `key`: mean and band over its repeats, epochs 1..maxEpoch. */
  curve(variant, key) {
    const arrays = [];
    for (const run of this.runs.values()) {
      if (run.variant === variant && run.values.has(key)) arrays.push(run.values.get(key));
    }
    return arrays.length ? { ...meanBand(arrays, this.maxEpoch), repeats: arrays.length } : null;
  }

  repeatsOf(variant) {
    let count = 0;
    for (const run of this.runs.values()) if (run.variant === variant) count += 1;
    return count;
  }
}

/** The chart with its controls. `options.defaultMetric` is picked once it is recorded. */
export class CurvesPanel {
  constructor(store, { defaultMetric = "loss", onMetric = () => {} } = {}) {
    this.store = store;
    this.defaultMetric = defaultMetric;
    this.onMetric = onMetric;
    this.metric = null;
    this.logY = false;
    this.smoothing = 0;
    this.chart = null;
    this.layoutKey = "";
    this.cache = new Map(); // variant -> {train, val} curves of the current metric
    this.hidden = new Set(); // means hidden in the legend ("wide val"), kept across rebuilds
    this.dirty = new Set(store.variants);
    this.frame = 0;
    this.timer = 0;
    this.nextDraw = 0;
    this.needed = false;

    this.metricSelect = h("select", { "aria-label": "Metric", onchange: () => this.setMetric(this.metricSelect.value) });
    this.logBox = h("input", { type: "checkbox", onchange: () => { this.logY = this.logBox.checked; this.reset(); } });
    this.smoothInput = h("input", {
      type: "range", min: "0", max: "0.95", step: "0.05", value: "0", "aria-label": "Smoothing",
      oninput: () => {
        this.smoothing = Number(this.smoothInput.value);
        this.smoothLabel.textContent = this.smoothing.toFixed(2);
        this.reset();
      },
    });
    this.smoothLabel = h("span", { class: "muted" }, "0.00");
    this.plot = h("div", { class: "study-chart", dataset: { variants: "0", epochs: "0", bands: "0" } });
    this.caption = h("p", { class: "muted study-caption" });
    this.el = h("section", { class: "panel study-curves" },
      h("div", { class: "toolbar" },
        h("label", {}, "Metric ", this.metricSelect),
        h("label", {}, this.logBox, " log scale"),
        h("label", {}, "Smoothing ", this.smoothInput, " ", this.smoothLabel)),
      this.plot,
      this.caption);
    this.setCaption();
  }

  /** A variant got new numbers: recompute it on the next frame. */
  touched(variant) {
    this.dirty.add(variant);
    this.schedule();
  }

  setMetric(metric) {
    this.metric = metric;
    this.metricSelect.value = metric;
    this.onMetric(metric);
    this.reset();
  }

  /** Everything to recompute (metric, scale or smoothing changed). */
  reset() {
    this.cache.clear();
    this.store.variants.forEach((v) => this.dirty.add(v));
    this.layoutKey = ""; // rebuild the chart: its series or scale changed
    this.schedule();
  }

  /** One redraw per frame at most, and after a redraw an idle time of twice its cost, so
   * a big study's redraws never take more than a third of the page's time. */
  schedule() {
    this.needed = true;
    if (this.frame || this.timer) return; // the pending redraw, or the one after it, will do
    const request = () => {
      this.timer = 0;
      this.frame = requestAnimationFrame(() => {
        const started = performance.now();
        this.draw();
        this.needed = false; // what was asked during the draw (a metric picked) is drawn
        this.frame = 0;
        // The canvas is rasterized after this callback, with the frame: a task queued now
        // runs after that, so it times the whole redraw.
        this.timer = setTimeout(() => {
          this.timer = 0;
          this.nextDraw = performance.now() + 2 * (performance.now() - started);
          if (this.needed) this.schedule();
        }, 0);
      });
    };
    const wait = this.nextDraw - performance.now();
    if (wait > 0) this.timer = setTimeout(request, wait);
    else request();
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    clearTimeout(this.timer);
    this.chart?.destroy();
    this.chart = null;
  }

  syncMetricOptions() {
    const metrics = this.store.metrics();
    const shown = [...this.metricSelect.options].map((o) => o.value);
    if (metrics.join() !== shown.join()) {
      this.metricSelect.replaceChildren(...metrics.map((m) => h("option", { value: m }, m)));
    }
    if (this.metric === null && metrics.length) {
      this.setMetric(metrics.includes(this.defaultMetric) ? this.defaultMetric : metrics[0]);
    } else if (this.metric !== null) {
      this.metricSelect.value = this.metric;
    }
  }

  /** A curve as drawn: smoothed when asked, positive only on a log scale. */
  shape(values, weight = this.smoothing) {
    const out = weight ? smooth(values, weight) : values.slice();
    if (this.logY) for (let i = 0; i < out.length; i += 1) if (!(out[i] > 0)) out[i] = null;
    return out;
  }

  draw() {
    this.syncMetricOptions();
    if (this.metric === null) return;
    const store = this.store;
    for (const variant of this.dirty) {
      this.cache.set(variant, {
        train: store.curve(variant, this.metric),
        val: store.curve(variant, `val_${this.metric}`),
      });
    }
    this.dirty.clear();

    // The series: per variant with data, its mean lines, then (smoothing) the raw means,
    // then (repeats) the band edges. Their set changes rarely; the numbers every frame.
    const series = [];
    const data = [Array.from({ length: store.maxEpoch }, (_, i) => i + 1)];
    const bands = [];
    const helpers = []; // series drawn but not in the legend: [index, index of its mean]
    let groups = 0;
    store.variants.forEach((variant, index) => {
      const curves = this.cache.get(variant);
      const splits = [["train", curves?.train, false], ["val", curves?.val, true]]
        .filter(([, curve]) => curve);
      if (!splits.length) return;
      groups += 1;
      const color = variantColor(index);
      for (const [word, curve, dash] of splits) {
        const mean = series.length + 1;
        const label = `${variant} ${word}`;
        const show = !this.hidden.has(label);
        series.push({ label, color, dash, width: 2, show });
        data.push(this.shape(curve.mean));
        if (this.smoothing) {
          helpers.push([series.length + 1, mean]);
          series.push({ label: `${label} raw`, color, dash, width: 1, alpha: RAW_ALPHA, show });
          data.push(this.shape(curve.mean, 0));
        }
        if (store.repeatsOf(variant) > 1) {
          const hi = series.length + 1;
          helpers.push([hi, mean], [hi + 1, mean]);
          series.push({ label: `${label} +sd`, color, alpha: 0, width: 0, show });
          series.push({ label: `${label} −sd`, color, alpha: 0, width: 0, show });
          data.push(this.shape(curve.hi), this.shape(curve.lo));
          bands.push({ series: [hi, hi + 1], fill: withAlpha(color, BAND_ALPHA) });
        }
      }
    });
    this.plot.dataset.variants = String(groups);
    this.plot.dataset.epochs = String(store.maxEpoch);
    this.plot.dataset.bands = String(bands.length);
    const layoutKey = JSON.stringify([series.map((s) => s.label), this.logY]);
    if (layoutKey !== this.layoutKey || !this.chart) {
      this.chart?.destroy();
      this.plot.replaceChildren();
      this.layoutKey = layoutKey;
      this.chart = lineChart(this.plot, {
        series, data, bands, logY: this.logY, height: 380, yLabel: this.metric,
      });
      this.hideHelpers(helpers);
    } else {
      this.chart.setData(data);
    }
    this.setCaption();
  }

  /** Band edges and raw means stay out of the legend, and follow their mean when the
   * legend hides or shows it; what is hidden stays hidden when the chart is rebuilt. */
  hideHelpers(helpers) {
    const rows = this.chart.root.querySelectorAll(".u-legend .u-series");
    for (const [index] of helpers) if (rows[index]) rows[index].style.display = "none";
    this.chart.hooks.setSeries = [(chart, index, change) => {
      if (!change || change.show === undefined) return;
      const label = chart.series[index].label;
      if (change.show) this.hidden.delete(label);
      else this.hidden.add(label);
      for (const [helper, mean] of helpers) {
        if (mean === index) chart.setSeries(helper, { show: change.show }, false);
      }
    }];
  }

  setCaption() {
    const banded = this.store.variants.some((v) => this.store.repeatsOf(v) > 1);
    const parts = ["Training solid, validation dashed; one colour per variant."];
    if (banded) parts.push("Over repeats: the mean line in a band of ± 1 sample standard deviation.");
    if (this.smoothing) parts.push(`Means smoothed (${this.smoothing.toFixed(2)}), raw means faint.`);
    this.caption.textContent = parts.join(" ");
  }
}
