// The experiment view (#/experiments/ID): its header (status, progress, what ran it), its
// learning curves fed by the event stream, the diagnosis once it has ended, the spec, and
// the actions (cancel, CSV and PNG downloads). The stream alone brings the history: it
// starts from epoch 0 and then sends each epoch as it lands.

import { api, download } from "../api.js";
import { metricPairs } from "../chart.js";
import { errorBox, fmt, h, statusBadge } from "../dom.js";
import { streamEvents } from "../sse.js";
import { liveCurves } from "./curves.js";
import { diagnosisPanel } from "./diagnosis.js";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const STREAM_TEXT = {
  connecting: "connecting…", live: "live", reconnecting: "reconnecting…", finished: "finished",
};

export async function render(main, { params, signal }) {
  const id = Number(params[0]);
  let exp = await api(`/experiments/${id}`, { signal });
  let drawnEpoch = 0;
  let latest = null;
  let diagnosisAsked = false;

  // Elements that stay; update() rewrites their contents from `exp`.
  const title = h("h1", {});
  const badge = h("span", { class: "exp-badge" });
  const progressText = h("span", { class: "exp-progress" });
  const progressBar = h("progress", { max: "1", value: "0" });
  const stream = h("span", { class: "stream", dataset: { state: "connecting" } });
  const meta = h("div", { class: "exp-meta" });
  const notices = h("div", { class: "exp-notices" });
  const latestTable = h("table", { class: "exp-latest" });
  const cancel = h("button", { type: "button", class: "danger", id: "cancel" }, "Cancel");
  const actionError = h("div", { class: "exp-action-error" });
  const curves = liveCurves({ syncKey: `experiment-${id}`, onDraw });
  const diagnosis = diagnosisPanel(id);
  const spec = h("pre", { class: "exp-spec-json" });
  const notes = h("section", { class: "panel exp-notes" });

  main.append(
    h("section", { class: "exp-header", id: "exp-header" },
      h("div", { class: "exp-title" }, title,
        h("div", { class: "exp-state" }, badge, progressText, progressBar, stream),
        meta, notices),
      latestTable),
    h("div", { class: "toolbar exp-actions" },
      cancel,
      h("button", { type: "button", id: "download-csv", onclick: () => act(() =>
        download(`/experiments/${id}/history.csv`, `experiment-${id}.csv`, "text/csv")) },
      "Download CSV"),
      h("button", { type: "button", id: "download-png", onclick: () => act(() =>
        download(`/experiments/${id}/plot.png?metric=loss`, `experiment-${id}-loss.png`,
          "image/png")) }, "Download PNG")),
    actionError,
    curves.el,
    diagnosis.el,
    notes,
    h("details", { class: "exp-spec" }, h("summary", {}, "Spec"), spec),
  );

  cancel.addEventListener("click", () => act(async () => {
    cancel.disabled = true;
    accept(await api(`/experiments/${id}/cancel`, { method: "POST" }));
  }));
  signal.addEventListener("abort", () => curves.destroy(), { once: true });

  /** Takes a newer read of the experiment, unless the stream has already told its end: an
   * answer sent before that (a cancel's, a refresh's) must not bring "running" back. */
  function accept(fresh) {
    if (!FINAL.has(exp.status) || FINAL.has(fresh.status)) exp = fresh;
  }

  /** Runs a button's action; its error (a 409, a lost connection) shows under the buttons. */
  async function act(action) {
    actionError.replaceChildren();
    try {
      await action();
    } catch (error) {
      actionError.replaceChildren(errorBox(error));
    }
    update();
  }

  function update() {
    title.replaceChildren(exp.name ?? `experiment ${id}`);
    if (exp.name) title.append(h("span", { class: "muted exp-id" }, ` #${id}`));
    badge.replaceChildren(statusBadge(exp.status));
    const running = !FINAL.has(exp.status);
    cancel.hidden = !running;
    cancel.disabled = exp.cancel_requested;
    cancel.textContent = exp.cancel_requested ? "Cancelling…" : "Cancel";
    meta.replaceChildren(...metaOf(exp));
    notices.replaceChildren(...noticesOf(exp, running));
    spec.textContent = JSON.stringify(exp.spec, null, 2);
    notes.hidden = !exp.notes;
    notes.replaceChildren(h("h2", {}, "Notes"),
      h("p", { class: "exp-notes-text" }, exp.notes ?? ""));
    updateProgress();
    renderLatest();
  }

  function updateProgress() {
    const done = Math.max(drawnEpoch, exp.current_epoch);
    const count = (n) => n.toLocaleString("en");
    progressText.textContent = `epoch ${count(done)} of ${count(exp.epochs_total)}`;
    progressBar.max = exp.epochs_total || 1;
    progressBar.value = done;
  }

  function onDraw(count, last) {
    drawnEpoch = last.epoch;
    latest = last;
    updateProgress();
    renderLatest();
  }

  /** The last epoch's metrics, a row per pair, and the held-out test's when there is one. */
  function renderLatest() {
    const row = latest ?? exp.latest_metrics;
    if (!row) {
      latestTable.replaceChildren();
      return;
    }
    const test = exp.test_metrics;
    const pairs = metricPairs(Object.keys(row));
    latestTable.replaceChildren(
      h("thead", {}, h("tr", {}, h("th", {}, latest ? `epoch ${latest.epoch}` : "latest"),
        h("th", { class: "num" }, "training"), h("th", { class: "num" }, "validation"),
        test ? h("th", { class: "num" }, "test") : null)),
      h("tbody", {}, ...pairs.map((p) => h("tr", {},
        h("td", {}, p.base),
        h("td", { class: "num" }, p.train ? fmt(row[p.train]) : "–"),
        h("td", { class: "num" }, p.validation ? fmt(row[p.validation]) : "–"),
        test ? h("td", { class: "num" }, fmt(test[p.base])) : null))));
  }

  function setStream(state) {
    stream.dataset.state = state;
    stream.textContent = STREAM_TEXT[state] ?? state;
  }

  /** Reads the experiment again for what the stream does not carry (trainer, stop reason). */
  async function refresh() {
    try {
      accept(await api(`/experiments/${id}`, { signal }));
    } catch (error) {
      if (error.name === "AbortError") return;
    }
    update();
  }

  async function showDiagnosis() {
    if (diagnosisAsked) return;
    diagnosisAsked = true;
    const found = await diagnosis.load(signal);
    if (found?.best_epoch) {
      curves.setMarkers([{ x: found.best_epoch, label: `best epoch ${found.best_epoch}` }]);
    }
  }

  function onEvent({ event, data }) {
    if (event === "epoch") {
      curves.add(data);
    } else if (event === "status") {
      exp = { ...exp, ...data };
      update();
      refresh();
    } else if (event === "end") {
      setStream("finished");
      if (data?.status === "deleted") {
        notices.replaceChildren(errorBox("This experiment was deleted."));
        cancel.hidden = true;
        return;
      }
      exp = { ...exp, ...data };
      update();
      refresh().then(showDiagnosis).catch(() => {});
    }
  }

  update();
  setStream("connecting");
  if (FINAL.has(exp.status)) showDiagnosis().catch(() => {});
  else diagnosis.pending();
  // Not awaited: the view is ready while the stream runs until the run ends.
  streamEvents(`/experiments/${id}/events`, onEvent, { signal, onState: setStream })
    .catch((error) => {
      if (error.name === "AbortError" || signal.aborted) return;
      setStream("disconnected");
      actionError.replaceChildren(errorBox(error));
    });
}

function metaOf(exp) {
  const parts = [];
  if (exp.tags.length) {
    const tags = exp.tags.map((t) => h("span", { class: "tag" }, t));
    parts.push(h("span", { class: "tags" }, ...tags));
  }
  if (exp.backend) parts.push(h("span", {}, exp.backend));
  if (exp.trainer) {
    const how = exp.trainer.name === "compiled" ? "compiled trainer" : "Keras fit";
    const program = exp.trainer.program ? ` (program ${exp.trainer.program})` : "";
    // Repeats trained as one program with it (docs/compiled-trainer.md, "Packed repeats").
    const packed = exp.trainer.packed;
    const pack = packed ? `, packed ×${packed.length}` : "";
    const title = exp.trainer.fallback ?? (packed ? `with experiments ${packed.join(", ")}` : "");
    parts.push(h("span", { title }, how + program + pack));
  }
  if (exp.attempts > 1) parts.push(h("span", {}, `resumed: attempt ${exp.attempts}`));
  if (exp.started_at && exp.finished_at) {
    const seconds = (Date.parse(exp.finished_at) - Date.parse(exp.started_at)) / 1000;
    parts.push(h("span", {}, `ran ${fmt(seconds)} s`));
  } else if (exp.started_at) {
    parts.push(h("span", {}, `started ${new Date(exp.started_at).toLocaleTimeString()}`));
  } else {
    parts.push(h("span", {}, `submitted ${new Date(exp.created_at).toLocaleTimeString()}`));
  }
  return parts;
}

function noticesOf(exp, running) {
  const out = [];
  if (exp.status === "failed" && exp.error) out.push(errorBox(exp.error));
  if (exp.stop_reason) {
    out.push(h("p", { class: "exp-stop-reason" },
      `Stopped early at epoch ${exp.stopped_epoch}: ${exp.stop_reason}`));
  }
  if (running && exp.cancel_requested) {
    out.push(h("p", { class: "muted" }, "Cancel requested: it stops within an epoch or two."));
  }
  return out;
}
