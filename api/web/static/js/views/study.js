// The study view (#/studies/ID): its variants' curves on one chart, live from
// GET /studies/{id}/events, each run's progress, the summary per variant (mean ± sd over
// repeats) and, for a grid study, the grid chart. The stream carries every epoch and status
// change; GET /studies/{id} is read again only when a run's status changes and at the end.

import { api, download } from "../api.js";
import { errorBox, h, statusBadge } from "../dom.js";
import { streamEvents } from "../sse.js";
import { CurveStore, CurvesPanel } from "./study_curves.js";
import { GridChart } from "./study_grid.js";
import { RunsTable, summaryTable } from "./study_tables.js";

const REFRESH_MS = 400; // runs finishing together cost one read of the study

/** The loss function's own metric when recorded (binary_crossentropy, say), as the study
 * PNG picks: `loss` adds L1/L2 penalties, which would tilt a comparison of regularized and
 * plain models. */
function defaultMetric(study) {
  const loss = study.definition?.base?.compile?.loss;
  return typeof loss === "string" ? loss : "loss";
}

export async function render(main, { params: [id], signal }) {
  let study = await api(`/studies/${id}`, { signal });
  const variants = study.variants;

  const store = new CurveStore(variants);
  for (const summary of study.summary) {
    for (const run of summary.per_run) store.addRun(run.experiment_id, summary.variant, run.repeat);
  }
  const runs = new RunsTable(variants, study);
  const grid = study.definition?.grid ? new GridChart(id, study.definition.grid, { signal }) : null;
  const summaryBox = h("div");
  const curves = new CurvesPanel(store, {
    defaultMetric: defaultMetric(study),
    onMetric: (metric) => {
      summaryBox.replaceChildren(summaryTable(study, variants, metric));
      grid?.setMetric(metric);
    },
  });
  summaryBox.append(summaryTable(study, variants, defaultMetric(study)));

  // The header: name, status, runs finished, tags, actions.
  const badge = h("span");
  const counts = h("span", { class: "study-counts" });
  const tags = h("span", { class: "tags" });
  const streamState = h("span", { class: "muted stream-state" });
  const notice = h("div");
  const cancel = h("button", { type: "button", class: "danger", onclick: cancelAll }, "Cancel all runs");
  const csv = h("button", {
    type: "button",
    onclick: () => download(`/studies/${id}/history.csv`, `study-${id}-history.csv`, "text/csv")
      .catch((error) => notice.replaceChildren(errorBox(error))),
  }, "Download CSV");
  const title = h("h1", {});
  const root = h("div", { class: "study-view", dataset: { study: String(id) } },
    h("div", { class: "study-head" }, title, badge),
    h("div", { class: "toolbar" }, counts, tags, h("span", { class: "spacer" }), streamState, cancel, csv),
    notice,
    curves.el,
    h("h2", {}, "Summary"),
    h("p", { class: "muted" },
      "Mean ± sample standard deviation over each variant's succeeded repeats (the mean alone with one)."),
    summaryBox,
    grid?.el,
    h("h2", {}, "Runs"),
    runs.el);
  main.append(root);

  function showStudy() {
    title.textContent = study.name ?? `Study ${id}`;
    badge.replaceChildren(statusBadge(study.status));
    root.dataset.status = study.status;
    if (curves.metric) summaryBox.replaceChildren(summaryTable(study, variants, curves.metric));
  }

  function showCounts() {
    const { finished, active, total } = runs.counts();
    counts.textContent = `${finished} of ${total} runs finished`;
    cancel.hidden = active === 0;
  }

  let refreshTimer = 0;
  let reads = 0; // a read answered after a newer one is stale: only the newest is shown
  function refreshSoon(delay = REFRESH_MS) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      const ticket = ++reads;
      try {
        const fresh = await api(`/studies/${id}`, { signal });
        if (ticket !== reads) return;
        study = fresh;
        showStudy();
        grid?.load(study.status);
      } catch (error) {
        if (error.name !== "AbortError") notice.replaceChildren(errorBox(error));
      }
    }, delay);
  }

  async function cancelAll() {
    cancel.disabled = true;
    try {
      const ticket = ++reads;
      const fresh = await api(`/studies/${id}/cancel`, { method: "POST", signal });
      if (ticket === reads) {
        study = fresh;
        showStudy();
      }
    } catch (error) {
      if (error.status !== 409) notice.replaceChildren(errorBox(error)); // 409: all done already
    } finally {
      cancel.disabled = false;
    }
  }

  signal.addEventListener("abort", () => {
    clearTimeout(refreshTimer);
    curves.destroy();
    runs.destroy();
  }, { once: true });

  showStudy();
  showCounts();
  curves.schedule();
  grid?.load(study.status);
  // Tags live on the runs (PATCH sets them on every one): the first run's are the study's.
  const first = study.summary[0]?.per_run[0]?.experiment_id;
  if (first !== undefined) {
    api(`/experiments/${first}`, { signal })
      .then((run) => tags.replaceChildren(...run.tags.map((t) => h("span", { class: "tag" }, t))))
      .catch(() => {});
  }

  function onEvent({ event, data }) {
    if (event === "epoch") {
      const variant = store.addEpoch(data);
      if (variant !== null) curves.touched(variant);
      runs.epoch(data);
    } else if (event === "status") {
      const before = runs.runs.get(data.experiment_id)?.status;
      store.addRun(data.experiment_id, data.variant, data.repeat);
      runs.status(data);
      showCounts();
      // The study's status and summary follow its runs': read them again (one read for
      // changes close together); the first events repeat what the first read said.
      if (data.status !== before) refreshSoon();
    } else if (event === "end" && data.status === "deleted") {
      notice.replaceChildren(errorBox("This study was deleted."));
    } else if (event === "end") {
      badge.replaceChildren(statusBadge(data.status));
      root.dataset.status = data.status;
      showCounts();
      refreshSoon(0); // the final summary
    }
  }

  const states = { live: "● live", reconnecting: "reconnecting…" };
  try {
    await streamEvents(`/studies/${id}/events`, onEvent, {
      signal,
      onState: (state) => {
        streamState.textContent = states[state] ?? state;
        streamState.dataset.state = state;
      },
    });
    if (!signal.aborted) streamState.textContent = "";
  } catch (error) {
    if (error.name === "AbortError" || signal.aborted) return;
    streamState.textContent = "";
    notice.replaceChildren(errorBox(error));
  }
}
