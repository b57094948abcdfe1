// The console: wires the form, live progress, cancel, history and the result view.
import { api, API_BASE, describeError, TERMINAL } from "./api.js";
import { loadForm, readForm } from "./form.js";
import { follow } from "./live.js";
import { showResult as showResultView } from "./result.js";
// studio: compare, strategy editor, sweep checks
import { clearCompare, decorateHistory, initCompare } from "./compare.js";
import { initEditor, refreshChoices } from "./editor.js";
import { showSweepChecks } from "./sweep.js";

// The result view, then a sweep's checks (PBO, deflated Sharpe, walk-forward) beside it.
async function showResult(doc, ...rest) {
  await showResultView(doc, ...rest);
  if (doc.kind === "sweep") showSweepChecks(doc);
}

const $ = (id) => document.getElementById(id);
const state = { taskId: null, follower: null, startedAt: 0, cursors: [null], page: 0 };

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function setProgress(doc) {
  const pct = Math.round((doc.progress || 0) * 1000) / 10;
  $("progress-bar").style.width = `${pct}%`;
  $("progress-text").textContent = `${pct} %`;
  $("progress").setAttribute("aria-valuenow", String(pct));
  const stage = doc.stage && doc.stage !== doc.status ? ` · ${doc.stage}` : "";
  const symbols = doc.shards_total ? ` · shards ${doc.shards_done}/${doc.shards_total}`
    : doc.symbols_total ? ` · symbols ${doc.symbols_done}/${doc.symbols_total}` : "";
  $("task-status").textContent = `${doc.status}${stage}${symbols}`;
  $("task-status").className = `status-${doc.status}`;
  $("cancel").disabled = TERMINAL.has(doc.status);
  const elapsed = (Date.now() - state.startedAt) / 1000;
  if (TERMINAL.has(doc.status)) {
    $("eta").textContent = doc.error ? `error: ${doc.error}` : `finished in ${elapsed.toFixed(1)} s`;
  } else if (doc.progress > 0.02) {
    const eta = (elapsed * (1 - doc.progress)) / doc.progress;
    $("eta").textContent = `elapsed ${elapsed.toFixed(0)} s · ETA ${eta.toFixed(0)} s`;
  } else {
    $("eta").textContent = `elapsed ${elapsed.toFixed(0)} s`;
  }
}

async function watch(taskId) {
  if (state.follower) state.follower.stop();
  state.taskId = taskId;
  state.startedAt = Date.now();
  $("task-card").hidden = false;
  $("task-id").textContent = taskId;
  $("result-card").hidden = true;
  setProgress({ status: "queued", progress: 0 });
  state.follower = follow(taskId, setProgress, (mode) => { $("live-mode").textContent = `live: ${mode}`; });
  try {
    const final = await state.follower.done;
    if (state.taskId !== taskId) return;
    if (final.status === "completed") await openResult(taskId);
  } catch (err) {
    showError(err.status ? `Not found (404)\n${err.detail}` : describeError(err));
  }
  loadHistory(state.page);
}

async function openResult(taskId) {
  try {
    // the summary view: no signals or performance curve, at most 1,000 trades per log
    const doc = await api("GET", `/api/backtests/${encodeURIComponent(taskId)}?view=summary`);
    await showResult(doc, taskId);
  } catch (err) {
    showError(describeError(err));
  }
}

async function submit(event) {
  event.preventDefault();
  showError("");
  let request;
  try { request = readForm(); } catch (err) { return showError(err.message); }
  $("submit").disabled = true;
  try {
    const created = await api("POST", request.path, request.body);
    watch(created.task_id);
  } catch (err) {
    showError(describeError(err));
  } finally {
    $("submit").disabled = false;
  }
}

async function cancel() {
  if (!state.taskId) return;
  $("cancel").disabled = true;
  try {
    await api("DELETE", `/api/backtests/tasks/${encodeURIComponent(state.taskId)}`);
  } catch (err) {
    showError(describeError(err));
  }
}

async function loadHistory(page) {
  try {
    const cursor = state.cursors[page];
    const query = new URLSearchParams({ limit: "10" });
    if (cursor) query.set("cursor", cursor);
    const doc = await api("GET", `/api/backtests/history?${query}`);
    state.page = page;
    state.cursors[page + 1] = doc.next_cursor;
    $("history-next").disabled = !doc.next_cursor;
    const el = $("history-table");
    el.innerHTML = "<tr><th>Created</th><th>Strategy</th><th>Symbols</th><th>Window</th>"
      + "<th>Status</th><th>Progress</th><th>Signals</th></tr>";
    for (const item of doc.items) {
      const tr = document.createElement("tr");
      tr.className = "clickable";
      tr.dataset.taskId = item.task_id;
      for (const cell of [item.created_at.replace("T", " ").slice(0, 19), item.strategy,
        item.symbols.join(", "), `${item.timeframe} ${item.start_date} … ${item.end_date}`,
        item.status, `${Math.round(item.progress * 100)} %`, item.total_signals ?? "-"]) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.append(td);
      }
      tr.children[4].className = `status-${item.status}`;
      tr.onclick = () => (TERMINAL.has(item.status) && item.status !== "completed"
        ? showError(`${item.status}: ${item.error || ""}`)
        : item.status === "completed" ? openResult(item.task_id) : watch(item.task_id));
      el.append(tr);
    }
    decorateHistory(el, doc.items);  // studio
  } catch (err) {
    showError(describeError(err));
  }
}

async function main() {
  $("api-info").textContent = `API ${API_BASE || location.origin}`;
  $("token").value = sessionStorage.getItem("backtest-token") || "";
  $("token").onchange = () => {  // the owner of every call (and of the WebSocket's ?token=)
    const token = $("token").value.trim();
    if (token) sessionStorage.setItem("backtest-token", token);
    else sessionStorage.removeItem("backtest-token");
    state.cursors = [null];
    loadHistory(0);
    clearCompare();  // studio: the new owner's runs and saved strategies
    refreshChoices();
  };
  $("run-form").onsubmit = submit;
  $("cancel").onclick = cancel;
  $("history-refresh").onclick = () => loadHistory(state.page);
  $("history-first").onclick = () => loadHistory(0);
  $("history-next").onclick = () => loadHistory(state.page + 1);
  try {
    await loadForm();
  } catch (err) {
    showError(describeError(err));
  }
  // studio: compare and the strategy editor
  initCompare();
  try {
    await initEditor({ onRun: (taskId) => { watch(taskId); $("task-card").scrollIntoView(); },
                       onSaved: () => loadForm() });
  } catch (err) {
    showError(describeError(err));
  }
  document.body.dataset.ready = "true";
  loadHistory(0);
}

main();
