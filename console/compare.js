// Compare up to 4 finished runs (docs/console.md, "Compare"): checkboxes in the history
// list, one chart of each run's fee-aware portfolio equity normalised to 1 at its first
// point (the root block of a multi-symbol run, else the symbol's) and one metrics table.
import { api, describeError } from "./api.js";

const $ = (id) => document.getElementById(id);
export const MAX_RUNS = 4;
const COLOURS = ["#2563eb", "#dc2626", "#15803d", "#9333ea"];
const selected = new Map();  // task_id → history item, across history pages

export function initCompare() {
  $("compare-button").onclick = compare;
  $("compare-clear").onclick = clearCompare;
  sync();
}

// Forget the selection (another token: the runs may not be the new owner's).
export function clearCompare() {
  selected.clear();
  sync();
}

// A "Compare" checkbox column in the history table (rows carry data-task-id), for the
// finished plain runs (a sweep has no single equity curve).
export function decorateHistory(table, items) {
  const head = table.querySelector("tr");
  if (head) head.prepend(Object.assign(document.createElement("th"), { textContent: "Compare" }));
  const byId = new Map(items.map((item) => [item.task_id, item]));
  for (const tr of table.querySelectorAll("tr[data-task-id]")) {
    const item = byId.get(tr.dataset.taskId);
    const td = document.createElement("td");
    td.onclick = (event) => event.stopPropagation();  // the row itself opens the run
    if (item && item.status === "completed" && item.kind !== "sweep") {
      const box = Object.assign(document.createElement("input"), { type: "checkbox" });
      box.className = "compare-pick";
      box.title = `Compare (up to ${MAX_RUNS} runs)`;
      box.checked = selected.has(item.task_id);
      box.onchange = () => toggle(box, item);
      td.append(box);
    }
    tr.prepend(td);
  }
}

function toggle(box, item) {
  if (!box.checked) {
    selected.delete(item.task_id);
  } else if (selected.size >= MAX_RUNS) {
    box.checked = false;
    return sync(`At most ${MAX_RUNS} runs can be compared: uncheck one first.`);
  } else {
    selected.set(item.task_id, item);
  }
  sync();
}

function sync(message = "") {
  $("compare-button").disabled = selected.size < 2;
  $("compare-button").textContent = `Compare (${selected.size}/${MAX_RUNS})`;
  $("compare-message").textContent = message;
  $("compare-message").hidden = !message;
}

// The headline portfolio block of a result: the shared (root) one of a multi-symbol run.
export function headline(doc) {
  const symbols = doc.symbols || [];
  return symbols.length > 1 && doc.portfolio ? doc.portfolio : symbols[0]?.portfolio;
}

async function compare() {
  const ids = [...selected.keys()];
  $("compare-button").disabled = true;
  try {
    const docs = await Promise.all(ids.map((id) => api(
      "GET", `/api/backtests/${encodeURIComponent(id)}?view=summary`)));
    show(docs.map((doc, i) => ({ doc, id: ids[i], block: headline(doc) })));
  } catch (err) {
    sync(describeError(err));
  } finally {
    $("compare-button").disabled = selected.size < 2;
  }
}

const fmt = (v, digits = 2) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "-");

function show(runs) {
  $("compare").hidden = false;
  const label = (run, i) => `#${i + 1} ${run.doc.strategy} · ${run.doc.symbols.map((s) => s.symbol).join(", ")}`;
  const rows = runs.map((run, i) => {
    const b = run.block || {};
    const curve = b.equity_curve || { equity: [] };
    return [`#${i + 1}`, run.doc.strategy, run.doc.symbols.map((s) => s.symbol).join(", "),
      run.doc.timeframe, `${run.doc.start_date} … ${run.doc.end_date}`, fmt(b.total_return_pct),
      fmt(b.max_drawdown_pct), fmt(b.sharpe, 3), b.trades ?? "-",
      curve.equity.length ? `${fmt(b.final_equity, 4)} (${fmt(curve.equity[0], 4)})` : fmt(b.final_equity, 4)];
  });
  const table = $("compare-table");
  table.innerHTML = "<tr><th>Run</th><th>Strategy</th><th>Symbols</th><th>Timeframe</th><th>Range</th>"
    + "<th>Total return %</th><th>Max drawdown %</th><th>Sharpe (annualised)</th><th>Trades</th>"
    + "<th title=\"in the unit of its start: quote currency for a shared portfolio, 1.0 for one symbol\">"
    + "Final equity (start)</th></tr>";
  for (const [i, row] of rows.entries()) {
    const tr = document.createElement("tr");
    tr.dataset.taskId = runs[i].id;
    for (const cell of row) tr.append(Object.assign(document.createElement("td"), { textContent: cell }));
    tr.children[0].style.color = COLOURS[i];
    table.append(tr);
  }
  draw(runs, label);
  $("compare").scrollIntoView({ block: "start" });
}

function draw(runs, label) {
  const el = $("compare-chart");
  el.replaceChildren();
  const kept = runs.map((run, i) => {
    const curve = run.block?.equity_curve || { t: [], equity: [] };
    const first = curve.equity[0];
    return { run, i, table: [curve.t.map((t) => Date.parse(t) / 1000), curve.equity.map((e) => e / first)] };
  }).filter((k) => k.table[0].length);
  el.dataset.series = String(kept.length);
  if (!kept.length) {
    el.textContent = "No equity curve in these results.";
    return;
  }
  const series = kept.map(({ run, i }) => ({
    label: label(run, i), stroke: COLOURS[i], width: 2, spanGaps: true,
    value: (_, v) => (v === null || v === undefined ? "-" : v.toFixed(3)),
  }));
  el.plot = new uPlot({ width: Math.max(el.clientWidth || 0, 600), height: 300, series: [{}, ...series],
              axes: [{}, { label: "equity / first point", size: 60 }], scales: { x: { time: true } } },
            uPlot.join(kept.map((k) => k.table)), el);
}
