// The result view: a plain run (resultview.js) or a sweep's leaderboard and heatmap.
import { showPlainResult } from "./resultview.js";

const $ = (id) => document.getElementById(id);
const fmt = (v, digits = 2, scale = 1) => (v === null || v === undefined || Number.isNaN(v)
  ? "-" : typeof v === "number" ? (v * scale).toFixed(digits) : String(v));

function table(el, head, rows) {
  const thead = `<tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>`;
  el.innerHTML = thead;
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const cell of row) {
      const td = document.createElement("td");
      td.textContent = cell;
      tr.append(td);
    }
    el.append(tr);
  }
}

// `doc`: the ?view=summary document; `runId` (default: its run_id) names its downloads.
export function showResult(doc, runId = doc.run_id) {
  $("result-card").hidden = false;
  $("result-title").textContent = `${doc.strategy} ${doc.timeframe} ${doc.start_date} … ${doc.end_date}`;
  const failed = (doc.failed_symbols || []).map((f) => `${f.symbol}: ${f.reason}`).join("; ");
  const sweep = doc.kind === "sweep";
  $("plain-result").hidden = sweep;
  $("sweep-result").hidden = !sweep;
  if (sweep) return showSweep(doc, failed);
  $("result-summary").textContent = `${doc.total_signals} signals · ${fmt(doc.execution_time, 2)} s`
    + (failed ? ` · failed: ${failed}` : "");
  return showPlainResult(doc, runId);
}

function showSweep(doc, failed) {
  $("result-summary").textContent = `${doc.combinations} combinations ranked by ${doc.rank_by}`
    + (failed ? ` · failed: ${failed}` : "");
  const board = doc.leaderboard || [];
  const gridKeys = Object.keys(doc.grid || {});
  table($("leaderboard"), ["Rank", ...gridKeys, "Score", "Symbols"],
        board.slice(0, 50).map((e) => [e.rank, ...gridKeys.map((k) => e.params[k]),
          fmt(e.score, 4), Object.keys(e.per_symbol || {}).join(", ")]));
  $("heatmap-wrap").hidden = gridKeys.length !== 2;
  if (gridKeys.length === 2) heatmap(doc, board, gridKeys);
}

function heatmap(doc, board, [rowKey, colKey]) {
  $("heatmap-axes").textContent = `(rows ${rowKey}, columns ${colKey}, cell = ${doc.rank_by})`;
  const rows = doc.grid[rowKey];
  const cols = doc.grid[colKey];
  const byCell = new Map(board.map((e) => [`${e.params[rowKey]}|${e.params[colKey]}`, e]));
  const worst = Math.max(1, ...board.map((e) => e.rank));
  const el = $("heatmap");
  el.innerHTML = `<tr><th>${rowKey} \\ ${colKey}</th>${cols.map((c) => `<th>${c}</th>`).join("")}</tr>`;
  for (const r of rows) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = r;
    tr.append(th);
    for (const c of cols) {
      const entry = byCell.get(`${r}|${c}`);
      const td = document.createElement("td");
      td.textContent = entry ? fmt(entry.score, 3) : "-";
      td.title = entry ? `rank ${entry.rank}` : "";
      // colour by rank, so "lower is better" metrics read the same way: green = best
      const t = entry && worst > 1 ? 1 - (entry.rank - 1) / (worst - 1) : 0.5;
      td.style.background = `hsl(${Math.round(t * 120)}, 70%, 75%)`;
      tr.append(td);
    }
    el.append(tr);
  }
}
