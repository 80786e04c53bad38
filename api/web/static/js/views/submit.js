// The submit view: a spec (an experiment, or a study with "base") pasted or started from an
// example, validated or submitted; a recipe applied to a dataset. The API's 422 is shown at
// the field it names: listed under the editor, and marked on its line in the text.

import { api } from "../api.js";
import { errorBox, h } from "../dom.js";
import { jsonEditor } from "./json_editor.js";
import { locate, parseJSON } from "./json_where.js";

// The repository's examples/circles_*.json, copied into the page's files (a test keeps the
// copies equal): the API serves no example specs of its own.
const EXAMPLES = {
  "circles_dropout": { label: "Example: circles with dropout", file: "circles_dropout.json" },
  "circles_overfit": { label: "Example: circles that overfit", file: "circles_overfit.json" },
  "study_dropout": { label: "Study: circles with and without dropout" },
};
const DRAFT = "fitq.submitDraft"; // the text and mode survive leaving the view, for the tab
const DEFAULT_DATASET = { name: "circles", n_samples: 100, noise: 0.1, random_state: 1, n_train: 30 };

async function example(name, signal) {
  const load = async (file) => {
    const response = await fetch(`/ui/examples/${file}`, { signal });
    if (!response.ok) throw new Error(`${file}: ${response.status} ${response.statusText}`);
    return response.json();
  };
  if (name !== "study_dropout") return load(EXAMPLES[name].file);
  // The notebooks' comparison as one study: the overfitting model, and the same with dropout.
  const [overfit, dropout] = await Promise.all(
    [load("circles_overfit.json"), load("circles_dropout.json")],
  );
  return {
    name: "circles: dropout or not",
    base: overfit,
    variants: [
      { name: "no dropout" },
      { name: "dropout 0.4", override: { model: dropout.model } },
    ],
    repeats: 1,
  };
}

function saved() {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFT)) ?? null;
  } catch {
    return null;
  }
}

export async function render(main, { signal }) {
  const draft = saved();
  const editor = jsonEditor({
    value: draft?.text ?? "",
    label: "Spec JSON",
    onInput: (text) => {
      followMode(text);
      keep();
      problems.replaceChildren();
    },
  });
  const modeInputs = ["experiment", "study"].map((mode) => h("input", {
    type: "radio", name: "mode", value: mode, checked: (draft?.mode ?? "experiment") === mode,
    onchange: keep,
  }));
  const mode = () => modeInputs.find((i) => i.checked).value;
  const setMode = (value) => modeInputs.forEach((i) => { i.checked = i.value === value; });
  const starts = h("select", { id: "submit-start", "aria-label": "Start from" },
    h("option", { value: "" }, "Start from…"),
    ...Object.entries(EXAMPLES).map(([value, { label }]) => h("option", { value }, label)));
  const validateButton = h("button", { type: "button", id: "submit-validate" }, "Validate");
  const submitButton = h("button", { type: "button", id: "submit-go", class: "primary" }, "Submit");
  const busy = h("span", { class: "muted", role: "status" });
  const problems = h("div", { id: "submit-problems" });
  const summary = h("div", { id: "submit-summary" });

  function keep() {
    sessionStorage.setItem(DRAFT, JSON.stringify({ text: editor.text, mode: mode() }));
  }

  // A JSON with "base" at the top is a study: the switch follows the text when it parses,
  // and stays where the user put it otherwise.
  let lastShape = null;
  function followMode(text) {
    const { value } = parseJSON(text);
    if (!value || typeof value !== "object" || Array.isArray(value)) return;
    const shape = "base" in value ? "study" : "experiment";
    if (shape !== lastShape) setMode(shape);
    lastShape = shape;
  }

  starts.addEventListener("change", async () => {
    if (!starts.value) return;
    try {
      const spec = await example(starts.value, signal);
      editor.text = `${JSON.stringify(spec, null, 2)}\n`;
      followMode(editor.text);
      keep();
      problems.replaceChildren();
      summary.replaceChildren();
    } catch (error) {
      if (error.name !== "AbortError") problems.replaceChildren(errorBox(error));
    }
    starts.value = "";
  });

  /** The editor's JSON, or null with its syntax error shown: nothing is sent then. */
  function parsed() {
    const { value, error } = parseJSON(editor.text);
    if (!error) return value;
    const where = error.line ? `line ${error.line}, column ${error.column}: ` : "";
    const message = `Not JSON: ${where}${error.message}`;
    problems.replaceChildren(h("div", { class: "error-box problem-list", role: "alert" },
      h("p", { class: "problem", dataset: { path: "(json)" } }, message)));
    if (error.line) {
      editor.mark([{ line: error.line, message, start: error.offset, end: error.offset + 1 }]);
    }
    return null;
  }

  /** An ApiError listed under the editor; each field it names marked on its line. `prefix`
   * maps the paths of a request built from the text (the base of a study) back to it. */
  function showFailure(error, prefix = "") {
    if (!error.detail) {
      problems.replaceChildren(errorBox(error));
      return;
    }
    const text = editor.text;
    const items = error.detail.map((d) => {
      const path = d.path.startsWith("(") ? d.path : prefix + d.path;
      return { path, msg: d.msg, where: locate(text, path) };
    });
    const list = h("ul", { class: "error-box problem-list", role: "alert" }, ...items.map((item) => h(
      "li", { class: "problem", dataset: { path: item.path } },
      h("code", {}, item.path), " ", item.msg,
      item.where
        ? h("button", { type: "button", class: "link", onclick: () => editor.select(item.where) },
          `line ${item.where.line}`)
        : null,
    )));
    problems.replaceChildren(
      h("p", { class: "error" }, error.status === 422
        ? "The API refused the spec:"
        : `The API answered ${error.status || "nothing"}:`),
      list,
    );
    editor.mark(items.filter((i) => i.where).map((i) => ({
      line: i.where.line, start: i.where.start, end: i.where.end, message: `${i.path}: ${i.msg}`,
    })));
  }

  async function act(button, work) {
    problems.replaceChildren();
    editor.clear();
    const value = parsed();
    if (value === null) return;
    validateButton.disabled = submitButton.disabled = true;
    busy.textContent = button === submitButton ? "Submitting…" : "Validating…";
    try {
      await work(value);
    } finally {
      validateButton.disabled = submitButton.disabled = false;
      busy.textContent = "";
    }
  }

  validateButton.addEventListener("click", () => act(validateButton, async (value) => {
    summary.replaceChildren();
    // A study's models are its base's: the dry run checks the base.
    const study = mode() === "study";
    const body = study ? value.base : value;
    if (study && (body === null || typeof body !== "object")) {
      showFailure({ status: 422, detail: [{ path: "base", msg: "a study needs a base spec" }] });
      return;
    }
    try {
      summary.replaceChildren(layerTable(await api("/experiments/validate", {
        method: "POST", body, signal,
      })));
    } catch (error) {
      if (error.name !== "AbortError") showFailure(error, study ? "base." : "");
    }
  }));

  submitButton.addEventListener("click", () => act(submitButton, async (value) => {
    const study = mode() === "study";
    try {
      const made = await api(study ? "/studies" : "/experiments", { method: "POST", body: value, signal });
      window.location.hash = `#/${study ? "studies" : "experiments"}/${made.id}`;
    } catch (error) {
      if (error.name !== "AbortError") showFailure(error);
    }
  }));

  if (!draft) {
    // A first visit starts from the notebooks' dropout spec rather than an empty box.
    editor.text = `${JSON.stringify(await example("circles_dropout", signal), null, 2)}\n`;
  }
  lastShape = draft?.mode ?? null;
  followMode(editor.text);

  main.append(
    h("h1", {}, "Submit"),
    h("p", { class: "muted" }, "Paste a spec, or start from an example; Validate builds the model ",
      "without training it (its layers and parameters), Submit queues it."),
    h("div", { class: "toolbar" },
      h("span", { class: "segmented", role: "radiogroup", "aria-label": "What the JSON is" },
        h("label", {}, modeInputs[0], "Experiment"),
        h("label", {}, modeInputs[1], "Study")),
      starts),
    editor.el,
    h("div", { class: "toolbar" }, validateButton, submitButton, busy),
    problems,
    summary,
    await recipeForm(signal),
  );
}

/** POST /experiments/validate's answer: the layer table as model.summary() prints it. */
function layerTable(model) {
  const shape = (s) => `(${s.map((d) => (d === null ? "None" : d)).join(", ")})`;
  return h("section", { class: "panel model-summary" },
    h("h2", {}, "Model"),
    h("p", { class: "muted" }, `Input ${shape(model.input_shape)}`),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Layer"), h("th", {}, "Type"),
        h("th", {}, "Output shape"), h("th", { class: "num" }, "Params"))),
      h("tbody", {}, ...model.layers.map((l) => h("tr", {},
        h("td", {}, l.name), h("td", {}, l.type), h("td", {}, shape(l.output_shape)),
        h("td", { class: "num" }, l.params.toLocaleString("en")))))),
    h("p", { class: "totals" },
      h("strong", { class: "total-params" }, `${model.total_params.toLocaleString("en")} parameters`),
      ` (${model.trainable_params.toLocaleString("en")} trainable, `,
      `${model.non_trainable_params.toLocaleString("en")} not); about `,
      `${size(model.estimated_memory_bytes)} to train`));
}

/** 288000 -> "281 KiB". */
function size(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (bytes >= 1024 && unit < units.length - 1) {
    bytes /= 1024;
    unit += 1;
  }
  return `${Number(bytes.toPrecision(3))} ${units[unit]}`;
}

/** A recipe (GET /recipes) on a dataset: POST /recipes/{name}, then the study's page. */
async function recipeForm(signal) {
  let recipes;
  try {
    recipes = await api("/recipes", { signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return h("section", { class: "recipe" }, h("h2", {}, "Start a recipe"), errorBox(error));
  }
  const choice = h("select", { id: "recipe-name", "aria-label": "Recipe" },
    ...recipes.map((r) => h("option", { value: r.name }, r.title)));
  const about = h("div", { class: "recipe-about" });
  const dataset = jsonEditor({
    value: `${JSON.stringify(DEFAULT_DATASET, null, 2)}\n`, rows: 8, label: "Dataset JSON",
  });
  const epochs = h("input", { type: "number", id: "recipe-epochs", min: 1, max: 100000 });
  const repeats = h("input", { type: "number", id: "recipe-repeats", min: 1, max: 50 });
  const name = h("input", { type: "text", id: "recipe-study-name", maxlength: 200 });
  const create = h("button", { type: "submit", class: "primary", id: "recipe-go" }, "Create study");
  const problems = h("div", { id: "recipe-problems" });
  const fields = { epochs, repeats, name };

  function describe() {
    const recipe = recipes.find((r) => r.name === choice.value);
    if (!recipe) return;
    epochs.placeholder = String(recipe.epochs);
    repeats.placeholder = String(recipe.repeats);
    const grid = Object.entries(recipe.grid ?? {})
      .map(([path, values]) => h("li", {}, h("code", {}, path), ` over ${values.join(", ")}`));
    about.replaceChildren(
      h("p", {}, recipe.description),
      h("ul", { class: "muted" },
        ...recipe.variants.map((v) => h("li", {}, h("strong", {}, v.name), ` – ${v.description}`)),
        ...grid),
    );
  }
  choice.addEventListener("change", describe);
  describe();

  const form = h("form", { class: "recipe-form" },
    h("label", {}, "Recipe ", choice),
    about,
    h("div", { class: "recipe-dataset" }, h("span", { class: "label" }, "Dataset"), dataset.el),
    h("div", { class: "toolbar" },
      h("label", {}, "Epochs ", epochs),
      h("label", {}, "Repeats ", repeats),
      h("label", {}, "Name ", name),
      create),
    problems);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problems.replaceChildren();
    dataset.clear();
    Object.values(fields).forEach((f) => f.removeAttribute("aria-invalid"));
    const parsedDataset = parseJSON(dataset.text);
    if (parsedDataset.error) {
      const { line, column, message } = parsedDataset.error;
      problems.append(errorBox(`Dataset is not JSON: ${line ? `line ${line}, column ${column}: ` : ""}${message}`));
      return;
    }
    const body = { dataset: parsedDataset.value };
    if (epochs.value) body.epochs = Number(epochs.value);
    if (repeats.value) body.repeats = Number(repeats.value);
    if (name.value.trim()) body.name = name.value.trim();
    create.disabled = true;
    try {
      const study = await api(`/recipes/${encodeURIComponent(choice.value)}`, {
        method: "POST", body, signal,
      });
      window.location.hash = `#/studies/${study.id}`;
    } catch (error) {
      if (error.name === "AbortError") return;
      problems.append(errorBox(error));
      // Point at what the API names: a line of the dataset, or a field of the form.
      const marks = [];
      for (const d of error.detail ?? []) {
        if (d.path.startsWith("dataset.")) {
          const where = locate(dataset.text, d.path.slice("dataset.".length));
          if (where) marks.push({ ...where, message: `${d.path}: ${d.msg}` });
        }
        fields[d.path]?.setAttribute("aria-invalid", "true");
      }
      dataset.mark(marks);
    } finally {
      create.disabled = false;
    }
  });

  return h("section", { class: "recipe" },
    h("h2", {}, "Start a recipe"),
    h("p", { class: "muted" }, "A ready-made study of the notebooks, on the dataset you give."),
    form);
}
