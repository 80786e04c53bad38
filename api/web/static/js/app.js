// The page's shell: hash routes to views, the key dialog. Each view is a module with
// `render(main, {params, signal})`; `signal` aborts when the user leaves the view, which
// stops its streams and timers.

import { api, keyStore } from "./api.js";
import * as experiment from "./views/experiment.js";
import * as runs from "./views/runs.js";
import * as study from "./views/study.js";
import * as submit from "./views/submit.js";
import { errorBox } from "./dom.js";

const ROUTES = [
  [/^#?\/?(?:\?.*)?$/, runs, "runs"], // #/?status=running: the runs view reads its filters
  [/^#\/experiments\/(\d+)$/, experiment, "runs"],
  [/^#\/studies\/(\d+)$/, study, "runs"],
  [/^#\/submit$/, submit, "submit"],
];

const main = document.getElementById("view");
let leaving = null;

async function route() {
  leaving?.abort();
  const controller = new AbortController();
  leaving = controller;
  const hash = window.location.hash || "#/";
  const match = ROUTES.map(([pattern, view, nav]) => [hash.match(pattern), view, nav])
    .find(([found]) => found);
  main.replaceChildren();
  document.querySelectorAll("[data-nav]").forEach((a) => {
    a.classList.toggle("active", match?.[2] === a.dataset.nav);
  });
  if (!match) {
    main.append(errorBox(`No page at ${hash}`));
    return;
  }
  const [found, view] = match;
  try {
    await view.render(main, { params: found.slice(1), signal: controller.signal });
  } catch (error) {
    if (error.name !== "AbortError" && !controller.signal.aborted) main.append(errorBox(error));
  }
}

// The key dialog: shown when the API answers 401; the key is kept for this tab only.
const dialog = document.getElementById("key-dialog");
const keyInput = document.getElementById("key-input");
const keyError = document.getElementById("key-error");
const keyButton = document.getElementById("key-button");

function askForKey() {
  keyButton.hidden = true;
  if (keyStore.get()) {
    keyError.textContent = "That key was refused: unknown or revoked.";
    keyError.hidden = false;
    keyStore.clear();
  }
  if (!dialog.open) dialog.showModal();
  keyInput.focus();
}

document.getElementById("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  keyStore.set(keyInput.value.trim());
  try {
    await api("/experiments?limit=1");
  } catch (error) {
    if (error.status === 401) return; // askForKey ran again, with its message
  }
  keyError.hidden = true;
  keyInput.value = "";
  dialog.close();
  keyButton.hidden = !keyStore.get();
  route();
});
dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it

keyButton.addEventListener("click", () => {
  keyStore.clear();
  window.location.hash = "#/";
  window.location.reload();
});

window.addEventListener("fitq:unauthorized", askForKey);
window.addEventListener("hashchange", route);
keyButton.hidden = !keyStore.get();
// Ask at once whether this fitq wants a key (a 401 opens the dialog), whatever the view.
api("/experiments?limit=1").catch(() => {});
route();
