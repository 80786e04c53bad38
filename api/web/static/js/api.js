// The API, from the page. The key is kept for this tab (sessionStorage) and sent as a header:
// never in a URL, so it is in no history, log or Referer.

const KEY = "fitq.apiKey";

export const keyStore = {
  get: () => sessionStorage.getItem(KEY),
  set: (key) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An error answer of the API: its status and its one error shape, `detail: [{path, msg, type}]`. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail.map((d) => `${d.path}: ${d.msg}`).join("; "));
    this.status = status;
    this.detail = detail;
  }
}

export function authHeaders(extra = {}) {
  const key = keyStore.get();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
}

/** The ApiError of a failed answer (and the key dialog, for a 401). */
export async function failure(response) {
  let detail;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = null;
  }
  if (!Array.isArray(detail)) {
    detail = [{ path: "(server)", msg: `${response.status} ${response.statusText}`, type: "http" }];
  }
  if (response.status === 401) window.dispatchEvent(new CustomEvent("fitq:unauthorized"));
  return new ApiError(response.status, detail);
}

/** fetch with the key; the raw Response when ok, an ApiError thrown otherwise. */
export async function send(path, { method = "GET", body, accept = "application/json", signal } = {}) {
  const init = { method, signal, headers: authHeaders({ Accept: accept }) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, [{ path: "(server)", msg: "the API cannot be reached", type: "network" }]);
  }
  if (!response.ok) throw await failure(response);
  return response;
}

/** JSON in, JSON out; null for 204. */
export async function api(path, options = {}) {
  const response = await send(path, options);
  return response.status === 204 ? null : response.json();
}

/** A body the page cannot link to directly (the key is a header): as an object URL. */
export async function blobURL(path, { accept = "*/*", signal } = {}) {
  const response = await send(path, { accept, signal });
  return URL.createObjectURL(await response.blob());
}

/** Save what `path` answers as `filename`, as a link would if it could carry the key. */
export async function download(path, filename, accept = "*/*") {
  const url = await blobURL(path, { accept });
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
