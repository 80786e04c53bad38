// The diagnosis panel of an experiment: the verdict of GET /experiments/{id}/diagnosis, the
// evidence it rests on (best epoch, generalization gaps, trends) and its remedies. Shown once
// the run has ended: while it runs the verdict is provisional and changes epoch by epoch.

import { api } from "../api.js";
import { errorBox, fmt, h } from "../dom.js";

const VERDICTS = {
  good_fit: "Good fit",
  overfitting: "Overfitting",
  underfitting: "Underfitting",
  still_improving: "Still improving",
  diverged: "Diverged",
  insufficient_data: "Insufficient data",
};

export function diagnosisPanel(experimentId) {
  const body = h("div", {});
  const el = h("section", { class: "panel diagnosis", id: "diagnosis" },
    h("h2", {}, "Diagnosis"), body);

  function pending() {
    body.replaceChildren(h("p", { class: "muted" }, "Available when the run ends."));
  }

  /** Reads and shows the diagnosis; returns it (null when the API refused). */
  async function load(signal) {
    body.replaceChildren(h("p", { class: "muted" }, "Reading the history…"));
    try {
      const diagnosis = await api(`/experiments/${experimentId}/diagnosis`, { signal });
      // replaceChildren would write a null as the text "null": leave the absent parts out.
      body.replaceChildren(...render(diagnosis).filter(Boolean));
      return diagnosis;
    } catch (error) {
      if (error.name === "AbortError") throw error;
      body.replaceChildren(errorBox(error));
      return null;
    }
  }

  return { el, pending, load };
}

function render(d) {
  const facts = [
    ["Epochs", d.epochs_total ? `${d.epochs} of ${d.epochs_total}` : String(d.epochs)],
    ["Monitored", d.monitor + (d.has_validation ? "" : " (no validation data)")],
    d.best_epoch !== null && ["Best epoch", `${d.best_epoch} (${d.monitor} ${fmt(d.best_value)})`],
    d.overfitting_from_epoch !== null && ["Overfitting from", `epoch ${d.overfitting_from_epoch}`],
    d.diverged_epoch !== null && ["Diverged at", `epoch ${d.diverged_epoch}`],
    d.train_drop !== null && ["Training loss", trend(d.train_drop, d.rules.steep_window)],
    d.val_drop !== null && ["Validation loss", trend(d.val_drop, d.rules.steep_window)],
    d.loss_reference !== null && ["Loss reference", `${fmt(d.loss_reference)} (${
      d.loss_reference_kind === "chance" ? "chance level" : "epoch 1"})`],
  ].filter(Boolean);
  return [
    h("p", { class: "verdict-line" },
      h("span", { class: `verdict verdict-${d.verdict}`, dataset: { verdict: d.verdict } },
        VERDICTS[d.verdict] ?? d.verdict),
      d.finished ? null : h("span", { class: "muted" }, " provisional: the run did not finish")),
    h("p", { class: "diagnosis-summary" }, d.summary),
    h("div", { class: "diagnosis-evidence" },
      h("dl", {}, ...facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
      gapsTable(d)),
    d.notes.length ? h("ul", { class: "diagnosis-notes muted" },
      ...d.notes.map((note) => h("li", {}, note))) : null,
    h("h3", {}, "Remedies"),
    d.remedies.length
      ? h("ol", { class: "remedies" }, ...d.remedies.map((r) =>
        h("li", { dataset: { code: r.code } }, r.text)))
      : h("p", { class: "muted" }, "None needed."),
  ];
}

/** The mean change a epoch over the last epochs, as a share of epoch 1's value. */
function trend(drop, window) {
  const way = drop >= 0 ? "falling" : "rising";
  return `${way} ${fmt(Math.abs(drop) * 100)}% of epoch 1's value an epoch (last ${window})`;
}

/** Generalization gaps at the best and the last epoch: positive is worse on validation. */
function gapsTable(d) {
  const metrics = [...new Set([...Object.keys(d.at_best?.gaps ?? {}),
    ...Object.keys(d.at_last?.gaps ?? {})])];
  if (!metrics.length) return null;
  const head = ["Gap (validation worse when > 0)",
    d.at_best && `best epoch ${d.at_best.epoch}`, d.at_last && `last epoch ${d.at_last.epoch}`];
  return h("table", { class: "gaps" },
    h("thead", {}, h("tr", {}, ...head.filter(Boolean).map((t, i) =>
      h("th", { class: i ? "num" : null }, t)))),
    h("tbody", {}, ...metrics.map((m) => h("tr", {},
      h("td", {}, m),
      d.at_best ? h("td", { class: "num" }, fmt(d.at_best.gaps[m])) : null,
      d.at_last ? h("td", { class: "num" }, fmt(d.at_last.gaps[m])) : null))));
}
