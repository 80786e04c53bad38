// The runs view: experiments and studies, newest first, filtered by the API (status, tag,
// name). The filters live in the hash's query (#/?status=running&tag=x) so a reload or a
// shared link keeps them; the tables refresh while anything listed is queued or running.

import { api } from "../api.js";
import { errorBox, fmt, h, statusBadge } from "../dom.js";

const PAGE = 50;
const MAX_LIMIT = 200; // the list routes' largest page
const REFRESH_MS = 3000;
const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];
const ACTIVE = new Set(["queued", "running"]);

/** The filters in the hash: {status, tags, name}. */
function readFilters() {
  const query = new URLSearchParams(window.location.hash.split("?")[1] ?? "");
  return {
    status: STATUSES.includes(query.get("status")) ? query.get("status") : "",
    tag: query.get("tag") ?? "",
    name: query.get("name") ?? "",
  };
}

/** Writes the filters back into the hash without a new history entry or a new render. */
function writeFilters(filters) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  const text = query.toString();
  window.history.replaceState(null, "", `#/${text ? `?${text}` : ""}`);
}

/** The list routes' query: several tags (comma separated) all have to be carried. */
function listQuery(filters, { withStatus, limit, offset }) {
  const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (withStatus && filters.status) query.set("status", filters.status);
  for (const tag of filters.tag.split(",").map((t) => t.trim()).filter(Boolean)) {
    query.append("tag", tag);
  }
  if (filters.name.trim()) query.set("name", filters.name.trim());
  return query.toString();
}

/** "Dec 6, 23:21" in the browser's time zone (the year too when it is not this one). */
function when(iso) {
  const d = new Date(iso);
  const options = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (d.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
  return h("time", { datetime: iso, title: d.toString() }, d.toLocaleString("en", options));
}

function progress(done, total, label) {
  const share = total ? Math.min(1, done / total) : 0;
  return h("div", { class: "progress", title: label },
    h("div", { class: "progress-bar" },
      h("div", { class: "progress-fill", style: `width: ${(share * 100).toFixed(1)}%` })),
    h("span", { class: "progress-text" }, label));
}

/** "0.123 / 0.456": training, then validation (muted) when the run validates. */
function pair(metrics, base) {
  const train = metrics[base];
  const val = metrics[`val_${base}`];
  if (train === undefined && val === undefined) return "–";
  return h("span", { class: "pair" }, fmt(train),
    val === undefined ? null : h("span", { class: "val" }, ` / ${fmt(val)}`));
}

/** The metric to show beside the loss: accuracy when recorded, else the first other one. */
function otherMetric(metrics) {
  const bases = Object.keys(metrics)
    .map((k) => k.replace(/^val_/, ""))
    .filter((k) => k !== "loss" && k !== "epoch");
  return bases.includes("accuracy") ? "accuracy" : bases.sort()[0];
}

export async function render(main, { signal }) {
  const filters = readFilters();
  const state = {
    experiments: { items: [], total: 0, error: null },
    studies: { items: [], total: 0, error: null },
  };
  let generation = 0; // answers to an older filter are dropped
  let timer = null;

  const status = h("select", { id: "filter-status", "aria-label": "Status" },
    h("option", { value: "" }, "any status"),
    ...STATUSES.map((s) => h("option", { value: s, selected: s === filters.status }, s)));
  const tag = h("input", {
    id: "filter-tag", type: "search", placeholder: "tag (a, b: both)", value: filters.tag,
    "aria-label": "Tag",
  });
  const name = h("input", {
    id: "filter-name", type: "search", placeholder: "name contains", value: filters.name,
    "aria-label": "Name",
  });
  const clear = h("button", { type: "button", class: "link", id: "filter-clear" }, "clear filters");
  const experimentsBox = h("section", { id: "experiments" });
  const studiesBox = h("section", { id: "studies" });

  main.append(
    h("h1", {}, "Runs"),
    h("div", { class: "toolbar filters" }, status, tag, name, clear),
    experimentsBox,
    studiesBox,
  );

  const filtered = () => Boolean(filters.status || filters.tag.trim() || filters.name.trim());
  clear.hidden = !filtered();

  function setFilter(key, value) {
    filters[key] = value;
    clear.hidden = !filtered();
    writeFilters(filters);
    reload();
  }
  let typing = null;
  const debounced = (key, input) => input.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => setFilter(key, input.value), 300);
  });
  debounced("tag", tag);
  debounced("name", name);
  status.addEventListener("change", () => setFilter("status", status.value));
  clear.addEventListener("click", () => {
    status.value = tag.value = name.value = "";
    Object.assign(filters, { status: "", tag: "", name: "" });
    clear.hidden = true;
    writeFilters(filters);
    reload();
  });
  const byTag = (t) => {
    tag.value = t;
    setFilter("tag", t);
  };

  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    clearTimeout(typing);
  });

  /** Fetches `limit` items from `offset` of both lists (null: that list unchanged). */
  async function fetchLists(which) {
    const get = async (path) => {
      try {
        return await api(path, { signal });
      } catch (error) {
        if (error.name === "AbortError") throw error;
        return { error };
      }
    };
    const [experiments, studies] = await Promise.all([
      which.experiments
        ? get(`/experiments?${listQuery(filters, { withStatus: true, ...which.experiments })}`)
        : null,
      which.studies
        ? get(`/studies?${listQuery(filters, { withStatus: false, ...which.studies })}`)
        : null,
    ]);
    return { experiments, studies };
  }

  function merge(key, page, { append }) {
    if (!page) return;
    const list = state[key];
    if (page.error) {
      list.error = page.error;
      return;
    }
    list.error = null;
    list.total = page.total;
    // A refresh re-reads the first items and keeps what was loaded past them; a run that
    // arrived at the top shifts the pages, so an id is kept once.
    const [first, rest] = append
      ? [list.items, page.items]
      : [page.items, list.items.slice(page.items.length)];
    const ids = new Set(first.map((i) => i.id));
    list.items = first.concat(rest.filter((i) => !ids.has(i.id)));
  }

  async function load({ append = null, fresh = false } = {}) {
    clearTimeout(timer);
    const mine = ++generation;
    if (fresh) {
      state.experiments = { items: [], total: 0, error: null };
      state.studies = { items: [], total: 0, error: null };
    }
    const span = (key) => ({
      limit: Math.min(MAX_LIMIT, Math.max(PAGE, state[key].items.length)), offset: 0,
    });
    const which = append
      ? { [append]: { limit: PAGE, offset: state[append].items.length } }
      : { experiments: span("experiments"), studies: span("studies") };
    let answers;
    try {
      answers = await fetchLists(which);
    } catch (error) {
      if (error.name === "AbortError") return;
      throw error;
    }
    if (mine !== generation || signal.aborted) return;
    merge("experiments", answers.experiments, { append: append === "experiments" });
    merge("studies", answers.studies, { append: append === "studies" });
    draw();
    const busy = state.experiments.items.some((e) => ACTIVE.has(e.status))
      || state.studies.items.some((s) => ACTIVE.has(s.status));
    if (busy) timer = setTimeout(() => load(), REFRESH_MS);
  }
  const reload = () => load({ fresh: true });

  function more(key) {
    const list = state[key];
    if (list.items.length >= list.total) return null;
    return h("button", {
      type: "button", class: "more", dataset: { list: key },
      onclick: (event) => {
        event.target.disabled = true;
        load({ append: key });
      },
    }, `Load more (${list.total - list.items.length} left)`);
  }

  function draw() {
    const present = (nodes) => nodes.filter((n) => n !== null);
    experimentsBox.replaceChildren(...present(experimentsTable()));
    studiesBox.replaceChildren(...present(studiesTable()));
  }

  function heading(text, list) {
    return h("h2", {}, text, list.items.length || list.total
      ? h("span", { class: "count muted" }, ` ${list.total}`)
      : null);
  }

  function experimentsTable() {
    const list = state.experiments;
    const head = heading("Experiments", list);
    if (list.error) return [head, errorBox(list.error)];
    if (!list.items.length) {
      return [head, h("p", { class: "empty muted" }, filtered()
        ? "No experiment matches these filters."
        : h("span", {}, "No experiments yet: ", h("a", { href: "#/submit" }, "submit one"), "."))];
    }
    // The metric beside the loss is named in the header when every run shows the same one
    // (the usual case), else in each cell.
    const others = new Set(list.items.map((e) => otherMetric(e.latest_metrics ?? {})));
    others.delete(undefined);
    const shared = others.size === 1 ? [...others][0] : null;
    const rows = list.items.map((e) => {
      const metrics = e.latest_metrics ?? {};
      const other = otherMetric(metrics);
      const done = `${e.current_epoch} / ${e.epochs_total}`;
      return h("tr", { dataset: { id: e.id, status: e.status } },
        h("td", {}, h("a", { href: `#/experiments/${e.id}` }, `#${e.id}`)),
        h("td", { class: "name" }, e.name ?? h("span", { class: "muted" }, "–")),
        h("td", { class: "tags" }, ...e.tags.map((t) => h("button", {
          type: "button", class: "tag", title: `only runs tagged ${t}`, onclick: () => byTag(t),
        }, t))),
        h("td", {}, statusBadge(e.status)),
        h("td", {}, progress(e.current_epoch, e.epochs_total, done)),
        h("td", { class: "num" }, pair(metrics, "loss")),
        h("td", { class: "num" }, other
          ? h("span", {}, other === shared ? null : h("span", { class: "metric-name muted" }, `${other} `),
            pair(metrics, other))
          : "–"),
        h("td", { class: "when muted" }, when(e.created_at)));
    });
    return [head, h("div", { class: "table-scroll" }, h("table", { class: "runs-table", id: "experiments-table" },
      h("thead", {}, h("tr", {},
        h("th", {}, "ID"), h("th", {}, "Name"), h("th", {}, "Tags"), h("th", {}, "Status"),
        h("th", {}, "Epochs"),
        h("th", { class: "num", title: "At the latest epoch" }, "Loss ",
          h("span", { class: "sub" }, "train / val")),
        h("th", { class: "num", title: "At the latest epoch" }, shared ?? "Metric", " ",
          h("span", { class: "sub" }, "train / val")),
        h("th", {}, "Created"))),
      h("tbody", {}, ...rows))), more("experiments")];
  }

  function studiesTable() {
    const list = state.studies;
    const head = heading("Studies", list);
    const note = filters.status
      ? h("p", { class: "muted note" }, "The status filter applies to experiments only.")
      : null;
    if (list.error) return [head, errorBox(list.error)];
    if (!list.items.length) {
      return [head, note, h("p", { class: "empty muted" }, filtered()
        ? "No study matches these filters."
        : h("span", {}, "No studies yet: a ", h("a", { href: "#/submit" }, "recipe"),
          " or a spec with a \"base\" makes one."))];
    }
    const rows = list.items.map((s) => {
      const finished = ["succeeded", "failed", "cancelled"]
        .reduce((sum, key) => sum + (s.counts[key] ?? 0), 0);
      return h("tr", { dataset: { id: s.id, status: s.status } },
        h("td", {}, h("a", { href: `#/studies/${s.id}` }, `#${s.id}`)),
        h("td", { class: "name" }, s.name ?? h("span", { class: "muted" }, "–")),
        h("td", {}, statusBadge(s.status)),
        h("td", {}, progress(finished, s.experiments, `${finished} / ${s.experiments} runs`)),
        h("td", { class: "muted" }, `${s.variants.length} variant${s.variants.length === 1 ? "" : "s"}`
          + (s.repeats > 1 ? ` × ${s.repeats}` : "")),
        h("td", { class: "when muted" }, when(s.created_at)));
    });
    return [head, note, h("table", { class: "runs-table", id: "studies-table" },
      h("thead", {}, h("tr", {},
        h("th", {}, "ID"), h("th", {}, "Name"), h("th", {}, "Status"),
        h("th", {}, "Finished"), h("th", {}, "Variants"), h("th", {}, "Created"))),
      h("tbody", {}, ...rows)), more("studies")];
  }

  await load();
}
