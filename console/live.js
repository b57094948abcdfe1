// Follow a task: WebSocket messages (docs/live.md), falling back to polling the status route.
import { api, TERMINAL, wsUrl } from "./api.js";

const POLL_MS = 1000;

// onUpdate(doc) for every status document; onMode("WebSocket" | "polling ..."); resolves
// with the terminal document. stop() ends following early.
export function follow(taskId, onUpdate, onMode) {
  let stopped = false;
  let socket = null;
  let timer = null;
  let settle;
  const done = new Promise((resolve, reject) => { settle = { resolve, reject }; });

  const finish = (doc) => { stopped = true; if (socket) socket.close(); settle.resolve(doc); };

  async function poll() {
    if (stopped) return;
    try {
      const doc = await api("GET", `/api/backtests/status/${encodeURIComponent(taskId)}?view=summary`);
      onUpdate(doc);
      if (TERMINAL.has(doc.status)) return finish(doc);
    } catch (err) {
      if (err.status === 404) { stopped = true; return settle.reject(err); }
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function fallback(reason) {
    if (stopped || timer) return;
    onMode(`polling (${reason})`);
    poll();
  }

  if (!("WebSocket" in window)) {
    fallback("no WebSocket in this browser");
  } else {
    let last = null;
    socket = new WebSocket(wsUrl(taskId));
    socket.onopen = () => onMode("WebSocket");
    socket.onmessage = (event) => {
      last = JSON.parse(event.data);
      onUpdate(last);
      if (TERMINAL.has(last.status)) finish(last);
    };
    socket.onclose = (event) => {
      if (stopped) return;
      if (event.code === 4404) {
        stopped = true;
        const err = new Error(event.reason);
        err.status = 404;
        err.detail = event.reason;
        return settle.reject(err);
      }
      fallback(last ? "connection lost" : "WebSocket unavailable");
    };
  }
  return { done, stop: () => { stopped = true; clearTimeout(timer); if (socket) socket.close(); } };
}
