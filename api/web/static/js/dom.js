// Small DOM helpers shared by the views: no framework, nothing to build.

/** h("a", {href: "#/"}, "Runs"): an element; attributes starting with "on" are listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** A number as people read metrics: 4 significant digits, "–" for none. */
export function fmt(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3)
    ? value.toExponential(3)
    : String(Number(value.toPrecision(4)));
}

/** A status as a badge, coloured by the stylesheet (.status-running, ...). */
export function statusBadge(status) {
  return h("span", { class: `status status-${status}`, dataset: { status } }, status);
}

/** An error box naming what the API said: one line per problem. */
export function errorBox(error) {
  const lines = error?.detail
    ? error.detail.map((d) => `${d.path}: ${d.msg}`)
    : [String(error?.message ?? error)];
  return h("div", { class: "error-box", role: "alert" }, ...lines.map((l) => h("p", {}, l)));
}
