// A grid study's sweep chart: GET /studies/{id}/grid.png (the best validation value per swept
// value, ± 1 sd). The PNG needs the key, so it is fetched and shown as an object URL; each
// replaced URL is revoked so a long watch does not pile up images in memory.

import { blobURL } from "../api.js";
import { errorBox, h } from "../dom.js";

export class GridChart {
  constructor(studyId, grid, { signal }) {
    this.studyId = studyId;
    this.signal = signal;
    this.fields = Object.keys(grid);
    this.metric = "val_loss";
    this.url = null;
    this.status = null;
    this.loads = 0; // a newer load wins over a slower older one
    this.img = h("img", { class: "study-grid", alt: "Best validation value per swept value" });
    this.note = h("div");
    this.fieldSelect = h("select", { "aria-label": "Swept field", onchange: () => this.load() },
      this.fields.map((f) => h("option", { value: f }, f)));
    this.el = h("section", { class: "panel" },
      h("h2", {}, "Grid"),
      this.fields.length > 1 ? h("div", { class: "toolbar" }, h("label", {}, "Field ", this.fieldSelect)) : null,
      this.note, this.img);
    this.img.hidden = true;
    signal.addEventListener("abort", () => this.revoke(), { once: true });
  }

  /** Follows the chart's metric: the grid compares its validation values. */
  setMetric(metric) {
    const next = metric.startsWith("val_") ? metric : `val_${metric}`;
    if (next === this.metric && this.url) return;
    this.metric = next;
    this.load();
  }

  /** Draws the grid again; `status`, the study's as last read, is kept on the image
   * (data-status) to say which state of the study it shows. */
  async load(status = this.status) {
    this.status = status;
    const ticket = ++this.loads;
    const query = new URLSearchParams({ metric: this.metric, width: "900", height: "450" });
    if (this.fields.length > 1) query.set("field", this.fieldSelect.value);
    try {
      const url = await blobURL(`/studies/${this.studyId}/grid.png?${query}`,
        { accept: "image/png", signal: this.signal });
      if (ticket !== this.loads || this.signal.aborted) {
        URL.revokeObjectURL(url);
        return;
      }
      this.revoke();
      this.url = url;
      this.img.src = url;
      this.img.hidden = false;
      this.img.dataset.status = status ?? "";
      this.note.replaceChildren();
    } catch (error) {
      if (error.name === "AbortError" || ticket !== this.loads) return;
      // 409: no run has finished an epoch yet; the chart comes with the first ones.
      this.note.replaceChildren(error.status === 409
        ? h("p", { class: "muted" }, "The grid chart appears once runs have recorded epochs.")
        : errorBox(error));
    }
  }

  revoke() {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
  }
}
