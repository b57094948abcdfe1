// HTTP calls to the backtest API and readable errors (docs/api.md: every error is {"detail": ...}).
const config = window.BACKTEST_CONFIG || {};
export const API_BASE = (config.apiUrl || "").replace(/\/$/, "");
export const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${renderDetail(detail)}`);
    this.status = status;
    this.detail = detail;
  }
}

// 422 detail is a list of {loc, msg, type}: one line per field, "params.volume_window: msg".
export function renderDetail(detail) {
  if (Array.isArray(detail)) {
    return detail.map((item) => {
      const loc = (item.loc || []).filter((p) => !["body", "query", "path"].includes(p));
      return `${loc.join(".") || "request"}: ${item.msg}`;
    }).join("\n");
  }
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return String(detail);
}

export function describeError(err) {
  if (!(err instanceof ApiError)) return `Cannot reach the API (${err.message || err}).`;
  const kind = { 400: "Not allowed", 404: "Not found", 409: "Conflict",
                 413: "Too large", 422: "Invalid input" }[err.status] || `Error ${err.status}`;
  return `${kind} (${err.status})\n${renderDetail(err.detail)}`;
}

export async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const token = sessionStorage.getItem("backtest-token");
  if (token) init.headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(API_BASE + path, init);
  const text = await resp.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch { doc = { detail: text }; }
  if (!resp.ok) throw new ApiError(resp.status, doc && "detail" in doc ? doc.detail : (doc?.message || resp.statusText));
  return doc;
}

// The WebSocket URL of a task: a deployment's WebSocket API (config.wsUrl, ?task_id=) or
// the local stack's /ws/backtest/{task_id} on the page's own host.
export function wsUrl(taskId) {
  const token = sessionStorage.getItem("backtest-token");
  if (config.wsUrl) {
    const q = new URLSearchParams({ task_id: taskId });
    if (token) q.set("token", token);
    return `${config.wsUrl}?${q}`;
  }
  const base = API_BASE || `${location.protocol}//${location.host}`;
  const url = base.replace(/^http/, "ws") + `/ws/backtest/${encodeURIComponent(taskId)}`;
  return token ? `${url}?token=${encodeURIComponent(token)}` : url;
}
