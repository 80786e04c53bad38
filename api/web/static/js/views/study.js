// The study view: render(main, {params, signal}).
import { h } from "../dom.js";

export async function render(main) {
  main.append(h("h1", {}, "study"));
}
