// The trade table of the result view (sortable by clicking a header) and the CSV download
// of every trade (GET /api/backtests/{run_id}/trades.csv?symbol=, never cut).
import { API_BASE, ApiError } from "./api.js";

// [key, header, format]; prices are fills, pnl in the block's currency, return_pct net %.
const COLUMNS = [
  ["entry_time", "Entry (UTC)", (v) => v.replace("T", " ").replace("Z", "")],
  ["entry_price", "Entry price", (v) => num(v, 4)],
  ["exit_time", "Exit (UTC)", (v) => v.replace("T", " ").replace("Z", "")],
  ["exit_price", "Exit price", (v) => num(v, 4)],
  ["exit_reason", "Exit reason", (v) => v],
  ["bars_held", "Bars held", (v) => String(v)],
  ["quantity", "Quantity", (v) => num(v, 6)],
  ["entry_notional", "Notional", (v) => num(v, 4)],
  ["fees", "Fees", (v) => num(v, 4)],
  ["pnl", "PnL (net)", (v) => num(v, 4)],
  ["return_pct", "Return % (net)", (v) => num(v, 3)],
];

// Large values with grouping, small ones (a fraction of a BTC bought with capital 1.0) with
// significant digits, never rounded to 0.
function num(v, digits) {
  if (typeof v !== "number") return "-";
  if (v !== 0 && Math.abs(v) < 1) return v.toPrecision(Math.min(digits, 4));
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

// Fills `el` with `trades`, sorted by `sort.key` (`sort.dir` 1 ascending, -1 descending);
// clicking a header sorts by that column (again: the other way). data-rows = trades shown.
export function drawTradeTable(el, trades, sort = { key: "entry_time", dir: 1 }) {
  const rows = [...trades].sort((a, b) => {
    const x = a[sort.key];
    const y = b[sort.key];
    return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
  });
  const head = document.createElement("tr");
  for (const [key, label] of COLUMNS) {
    const th = document.createElement("th");
    th.textContent = label + (key === sort.key ? (sort.dir > 0 ? " ▲" : " ▼") : "");
    th.className = "sortable";
    th.dataset.key = key;
    th.onclick = () => drawTradeTable(el, trades,
      { key, dir: key === sort.key ? -sort.dir : 1 });
    head.append(th);
  }
  const body = rows.map((trade) => {
    const tr = document.createElement("tr");
    for (const [key, , format] of COLUMNS) {
      const td = document.createElement("td");
      td.textContent = format(trade[key]);
      if (key === "exit_reason") td.className = `reason-${trade.exit_reason}`;
      if (key === "pnl" || key === "return_pct") td.className = trade[key] > 0 ? "gain" : "loss";
      tr.append(td);
    }
    return tr;
  });
  el.replaceChildren(head, ...body);
  el.dataset.rows = String(rows.length);
  el.dataset.sort = `${sort.key}:${sort.dir > 0 ? "asc" : "desc"}`;
}

// Downloads every trade of `symbol`'s own portfolio as trades_{runId}.csv (fetched with the
// token, when there is one, so it works behind the authorizer too).
export async function downloadTradesCsv(runId, symbol) {
  const query = new URLSearchParams({ symbol });
  const init = { headers: { Accept: "text/csv" } };
  const token = sessionStorage.getItem("backtest-token");
  if (token) init.headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(`${API_BASE}/api/backtests/${encodeURIComponent(runId)}/trades.csv?${query}`,
                           init);
  if (!resp.ok) {
    const text = await resp.text();
    let detail = text;
    try { detail = JSON.parse(text).detail; } catch { /* not JSON: keep the text */ }
    throw new ApiError(resp.status, detail);
  }
  const url = URL.createObjectURL(await resp.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `trades_${runId}_${symbol}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);  // after the browser has read it
}
