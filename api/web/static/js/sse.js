// Server-Sent Events over fetch: EventSource cannot send the Authorization header, and the
// key must not go into the URL. Reconnects with Last-Event-ID as EventSource would, until the
// stream's `end` event, an error answer (4xx) or the signal aborts.

import { ApiError, authHeaders, failure } from "./api.js";

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });

/** Parses one event block ("event: x\nid: 3\ndata: {...}"); null for a comment (a ping). */
function parseBlock(block) {
  const event = { event: "message", id: null, data: "" };
  let seen = false;
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    seen = true;
    if (field === "event") event.event = value;
    else if (field === "id") event.id = value;
    else if (field === "data") event.data += (event.data ? "\n" : "") + value;
  }
  return seen ? event : null;
}

/**
 * Calls onEvent({event, id, data}) for each event of `path` (data parsed as JSON). Resolves
 * after the `end` event or when `signal` aborts; rejects with the ApiError of a 4xx answer.
 * onState("live" | "reconnecting") tells the page how the connection is.
 */
export async function streamEvents(path, onEvent, { signal, onState = () => {} } = {}) {
  let lastId = null;
  for (let attempt = 0; !signal?.aborted; attempt += 1) {
    try {
      const headers = authHeaders({ Accept: "text/event-stream" });
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await fetch(path, { headers, signal, cache: "no-store" });
      if (!response.ok) {
        const error = await failure(response);
        if (response.status >= 500) error.retry = true; // 503: the database is away a while
        throw error;
      }
      onState("live");
      attempt = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const blocks = buffer.split(/\r?\n\r?\n/);
        buffer = blocks.pop();
        for (const block of blocks) {
          const event = parseBlock(block);
          if (event === null) continue;
          if (event.id !== null) lastId = event.id;
          event.data = event.data ? JSON.parse(event.data) : null;
          onEvent(event);
          if (event.event === "end") return;
        }
      }
    } catch (error) {
      if (signal?.aborted || error.name === "AbortError") return;
      if (error instanceof ApiError && !error.retry) throw error;
    }
    onState("reconnecting");
    await sleep(Math.min(500 * 2 ** attempt, 10_000), signal);
  }
}
