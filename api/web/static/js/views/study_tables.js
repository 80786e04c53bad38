// The study view's tables: each run's progress (live from the stream) and the summary per
// variant (mean ± sd over its succeeded repeats, as GET /studies/{id} gives it).

import { fmt, h, statusBadge } from "../dom.js";
import { variantColor } from "./study_curves.js";

export const FINAL = new Set(["succeeded", "failed", "cancelled"]);

const swatch = (index) => h("span", { class: "swatch", style: `background:${variantColor(index)}` });

/** One row per run: variant, repeat, status, epoch k of N, a link to the experiment. Stream
 * events change its state; the DOM follows once a frame. */
export class RunsTable {
  constructor(variants, study) {
    this.variants = variants;
    this.runs = new Map(); // experiment_id -> {variant, repeat, status, epoch, total, error, row}
    this.dirty = new Set();
    this.frame = 0;
    this.body = h("tbody");
    for (const summary of study.summary) {
      for (const run of summary.per_run) {
        this.runs.set(run.experiment_id, {
          variant: summary.variant, repeat: run.repeat, status: run.status,
          epoch: run.epochs, total: null, error: null,
        });
      }
    }
    const order = [...this.runs.entries()].sort(([, a], [, b]) =>
      variants.indexOf(a.variant) - variants.indexOf(b.variant) || a.repeat - b.repeat);
    for (const [id, run] of order) {
      run.statusCell = h("td");
      run.progress = h("progress", { max: "1", value: "0" });
      run.epochText = h("span");
      run.row = h("tr", { dataset: { experiment: String(id), variant: run.variant } },
        h("td", {}, swatch(variants.indexOf(run.variant)), run.variant),
        h("td", { class: "num" }, String(run.repeat)),
        run.statusCell,
        h("td", { class: "progress-cell" }, run.progress, " ", run.epochText),
        h("td", {}, h("a", { href: `#/experiments/${id}` }, `#${id}`)));
      this.body.append(run.row);
      this.paint(run);
    }
    this.el = h("table", { class: "study-runs" },
      h("thead", {}, h("tr", {},
        h("th", {}, "Variant"), h("th", { class: "num" }, "Repeat"), h("th", {}, "Status"),
        h("th", {}, "Progress"), h("th", {}, "Experiment"))),
      this.body);
  }

  /** A `status` event. */
  status(data) {
    const run = this.runs.get(data.experiment_id);
    if (!run) return;
    run.status = data.status;
    run.epoch = Math.max(run.epoch ?? 0, data.current_epoch ?? 0);
    run.total = data.epochs_total ?? run.total;
    run.error = data.error;
    this.touch(data.experiment_id);
  }

  /** An `epoch` event. */
  epoch(data) {
    const run = this.runs.get(data.experiment_id);
    if (!run) return;
    run.epoch = Math.max(run.epoch ?? 0, data.epoch);
    this.touch(data.experiment_id);
  }

  touch(id) {
    this.dirty.add(id);
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        for (const dirty of this.dirty) this.paint(this.runs.get(dirty));
        this.dirty.clear();
      });
    }
  }

  paint(run) {
    if (run.statusCell.dataset.status !== run.status) {
      run.statusCell.dataset.status = run.status;
      run.statusCell.replaceChildren(statusBadge(run.status));
      run.row.dataset.status = run.status;
    }
    run.statusCell.title = run.error ?? "";
    run.progress.max = run.total || 1;
    run.progress.value = Math.min(run.epoch ?? 0, run.total || 1);
    run.epochText.textContent = run.total ? `epoch ${run.epoch ?? 0} of ${run.total}`
      : `epoch ${run.epoch ?? 0}`;
  }

  /** How many runs are in each state: {finished, active, total}. */
  counts() {
    let finished = 0;
    for (const run of this.runs.values()) if (FINAL.has(run.status)) finished += 1;
    return { finished, active: this.runs.size - finished, total: this.runs.size };
  }

  destroy() {
    cancelAnimationFrame(this.frame);
  }
}

/** "0.512 ± 0.013" for a Stat; the mean alone with one repeat. */
export function meanSd(stat) {
  if (!stat || stat.mean === null) return "–";
  return stat.std === null ? fmt(stat.mean) : `${fmt(stat.mean)} ± ${fmt(stat.std)}`;
}

/** The summary per variant, for one base metric (the chart's): the best epoch, validation
 * at the best epoch, and the final training and validation values. */
export function summaryTable(study, variants, metric) {
  const val = `val_${metric}`;
  const rows = study.summary.map((s) => {
    const index = variants.indexOf(s.variant);
    const verdict = s.diagnosis?.verdict;
    return h("tr", { dataset: { variant: s.variant } },
      h("td", {}, swatch(index), s.variant),
      h("td", { class: "num" }, `${s.succeeded} of ${s.runs}`),
      h("td", { class: "num" }, meanSd(s.best_epoch)),
      h("td", { class: "num", dataset: { cell: "at_best" } }, meanSd(s.at_best[val] ?? s.at_best[metric])),
      h("td", { class: "num", dataset: { cell: "final_train" } }, meanSd(s.final_train[metric])),
      h("td", { class: "num", dataset: { cell: "final_validation" } }, meanSd(s.final_validation[val])),
      h("td", { title: s.diagnosis?.summary ?? "" },
        verdict ? h("span", { class: `verdict verdict-${verdict}` }, verdict.replace(/_/g, " ")) : "–"));
  });
  const monitor = study.summary.find((s) => s.monitor)?.monitor ?? "val_loss";
  return h("table", { class: "study-summary" },
    h("thead", {},
      h("tr", {},
        h("th", { rowspan: "2" }, "Variant"),
        h("th", { rowspan: "2", class: "num" }, "Succeeded"),
        h("th", { rowspan: "2", class: "num", title: `Lowest ${monitor}` }, "Best epoch"),
        h("th", { class: "group" }, "At the best epoch"),
        h("th", { colspan: "2", class: "group" }, "At the last epoch"),
        h("th", { rowspan: "2", title: "The diagnosis of the variant's mean curve" }, "Diagnosis")),
      h("tr", {},
        h("th", { class: "num" }, val),
        h("th", { class: "num" }, metric),
        h("th", { class: "num" }, val))),
    h("tbody", {}, rows));
}
