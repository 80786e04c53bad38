// A JSON text box that can point at lines: a line-number gutter, and for each problem a band
// behind its line with the message at the line's end. Plain <textarea> underneath (no
// editor library): lines do not wrap, so line k is always row k and the marks line up.

import { h } from "../dom.js";

/**
 * editor = jsonEditor({value, rows, label, onInput}); editor.el goes in the page.
 * editor.mark([{line, message, start, end}]) shows problems (first one selected);
 * editor.clear() removes them.
 */
export function jsonEditor({ value = "", rows = 24, label = "JSON", onInput } = {}) {
  const gutter = h("div", { class: "json-gutter", "aria-hidden": "true" });
  const marks = h("div", { class: "json-marks", "aria-hidden": "true" });
  const area = h("textarea", {
    class: "json-text", rows, wrap: "off", spellcheck: "false", autocomplete: "off",
    autocapitalize: "off", "aria-label": label,
  });
  area.value = value;
  const el = h("div", { class: "json-editor" }, gutter, h("div", { class: "json-body" }, marks, area));
  let problems = [];

  function drawGutter() {
    const lines = area.value.split("\n").length;
    const bad = new Map(problems.map((p) => [p.line, p.message]));
    const numbers = [];
    for (let n = 1; n <= lines; n += 1) {
      numbers.push(h("div", {
        class: bad.has(n) ? "bad" : undefined, title: bad.get(n), dataset: { line: n },
      }, String(n)));
    }
    gutter.replaceChildren(...numbers);
    sync();
  }

  function drawMarks() {
    marks.replaceChildren(...problems.map((p) => h("div", {
      class: "json-mark", dataset: { line: p.line }, style: `--line: ${p.line - 1}`,
    }, h("span", { class: "json-mark-text" }, p.message))));
    sync();
  }

  // The gutter and the marks follow the text's scrolling.
  function sync() {
    gutter.scrollTop = area.scrollTop;
    marks.style.setProperty("--scroll", `${area.scrollTop}px`);
  }

  area.addEventListener("scroll", sync);
  area.addEventListener("input", () => {
    // An edit may move the lines: old marks would point at the wrong ones.
    if (problems.length) {
      problems = [];
      drawMarks();
    }
    drawGutter();
    onInput?.(area.value);
  });
  drawGutter();

  return {
    el,
    area,
    get text() { return area.value; },
    set text(text) {
      area.value = text;
      problems = [];
      drawMarks();
      drawGutter();
    },
    mark(list) {
      problems = list.filter((p) => p.line);
      drawMarks();
      drawGutter();
      if (problems.length) this.select(problems[0]);
    },
    clear() { this.mark([]); },
    /** Selects [start, end) and scrolls its line into view, as a click on an error does. */
    select({ start, end, line }) {
      area.focus({ preventScroll: true });
      if (start !== undefined) area.setSelectionRange(start, end ?? start);
      const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 20;
      const top = (line - 1) * lineHeight;
      if (top < area.scrollTop || top > area.scrollTop + area.clientHeight - 2 * lineHeight) {
        area.scrollTop = Math.max(0, top - area.clientHeight / 3);
      }
      sync();
    },
  };
}
