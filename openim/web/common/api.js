// REST calls in the OpenIM conventions: POST a JSON body with the headers operationID and token,
// answer {errCode, errMsg, errDlt, data}. Resolves with data; rejects with an ApiError.

export class ApiError extends Error {
  constructor(path, errCode, errMsg, errDlt) {
    super(`${path}: ${errCode} ${errMsg}${errDlt ? ` (${errDlt})` : ""}`);
    this.errCode = errCode;
    this.errDlt = errDlt;
  }
}

export function operationID() {
  return `web-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
}

async function unwrap(path, response) {
  let envelope;
  try {
    envelope = await response.json();
  } catch {
    throw new ApiError(path, response.status, `HTTP ${response.status}`, "answer is not JSON");
  }
  if (envelope.errCode !== 0) throw new ApiError(path, envelope.errCode, envelope.errMsg, envelope.errDlt);
  return envelope.data ?? null;
}

export async function post(path, body, token) {
  const headers = { "Content-Type": "application/json", operationID: operationID() };
  if (token) headers.token = token;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
  return unwrap(path, response);
}

export async function get(path, token) {
  const headers = { operationID: operationID() };
  if (token) headers.token = token;
  return unwrap(path, await fetch(path, { headers }));
}

// h("tag.class#id", {attr: value, onclick: fn}, ...children): a tiny element builder, text-safe.
export function h(spec, attrs, ...children) {
  const [, tag = "div", rest = ""] = spec.match(/^([a-z0-9]*)(.*)$/i);
  const el = document.createElement(tag || "div");
  for (const part of rest.match(/[.#][^.#]+/g) ?? []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") el.style.cssText = value; // CSSOM, which the page's CSP allows (attributes it does not)
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function formatTime(ms) {
  if (!ms) return "";
  const d = new Date(Number(ms));
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
