// The result view of a finished backtest (docs/console.md "Result view"): metrics with
// units, the price chart with trade markers, the portfolio equity with buy-and-hold and its
// drawdown, the trade table and its CSV download. Reads the ?view=summary document.
import { describeError } from "./api.js";
import { buyAndHold, drawEquity } from "./equity.js";
import { drawPriceChart, fetchCandles, markerLegend } from "./pricechart.js";
import { downloadTradesCsv, drawTradeTable } from "./trades.js";

const $ = (id) => document.getElementById(id);
const fmt = (v, digits = 2, scale = 1) => (v === null || v === undefined || Number.isNaN(v)
  ? "-" : typeof v === "number" ? (v * scale).toFixed(digits) : String(v));
let charts = [];
let generation = 0;

function table(el, head, rows) {
  const tr = document.createElement("tr");
  tr.append(...head.map((h) => Object.assign(document.createElement("th"), { textContent: h })));
  el.replaceChildren(tr, ...rows.map((row) => {
    const line = document.createElement("tr");
    line.append(...row.map((c) => Object.assign(document.createElement("td"), { textContent: c })));
    return line;
  }));
}

// The block the headline equity is: the shared portfolio of a multi-symbol run, else the
// symbol's own (docs/positions.md).
const shared = (doc) => (doc.portfolio && doc.symbols.length > 1 ? doc.portfolio : null);
const intradayOf = (doc) => !["1d", "1w"].includes(doc.timeframe);

function metricRow(label, p) {
  return [label, fmt(p.total_return_pct), fmt(p.buy_and_hold_return_pct),
    fmt(p.max_drawdown_pct), fmt(p.sharpe), fmt(p.sortino), fmt(p.exposure_pct, 1), p.trades,
    fmt(p.win_rate, 1, 100), fmt(p.profit_factor), fmt(p.final_equity, 4),
    p.skipped_entries ?? "-"];
}

function showMetrics(doc) {
  const root = shared(doc);
  const rows = doc.symbols.map((s) => metricRow(`${s.symbol} (alone)`, s.portfolio));
  if (root) rows.unshift(metricRow(`Portfolio (${doc.symbols.length} symbols, shared)`, root));
  table($("result-table"), ["Portfolio", "Total return %", "Buy & hold %", "Max drawdown %",
    "Sharpe (ann.)", "Sortino (ann.)", "Exposure %", "Trades", "Win rate %", "Profit factor",
    "Final equity", "Skipped entries"], rows);
  const capital = root ? `${fmt(doc.position?.initial_capital, 0)} (quote currency)` : "1.0";
  $("metrics-note").textContent = "Fee- and slippage-aware simulation "
    + `(fee ${fmt(doc.symbols[0]?.portfolio?.fee_bps, 1)} bps, slippage `
    + `${fmt(doc.symbols[0]?.portfolio?.slippage_bps, 1)} bps per side). "alone" rows: the `
    + `symbol simulated by itself from capital 1.0`
    + (root ? `; the shared row: every symbol on one cash pool of ${capital}.` : ".");
  table($("signal-table"), ["Symbol", "Signals", "Win rate % (gross)",
    "Avg return % per signal (gross)", "Max drawdown (points of summed returns)"],
  doc.symbols.map((s) => [s.symbol, s.total_signals ?? (s.signals || []).length,
    fmt(s.win_rate, 1, 100), fmt(s.avg_return, 3), fmt(s.max_drawdown, 3)]));
}

function message(el, text) {
  el.replaceChildren();
  el.textContent = text;
}

async function drawSymbol(doc, runId, index) {
  const token = ++generation;
  charts.forEach((c) => c.remove());
  charts = [];
  const symbol = doc.symbols[index];
  const trades = symbol.portfolio.trade_log || [];
  const truncated = symbol.portfolio.trade_log_truncated;
  $("trades-title").textContent = `${symbol.symbol} alone: ${symbol.portfolio.trades} trades`
    + (truncated ? ` (the first ${trades.length} shown; the CSV has all)` : "");
  drawTradeTable($("trade-table"), trades);
  $("trades-csv").onclick = () => downloadTradesCsv(runId, symbol.symbol)
    .catch((err) => { $("trades-error").textContent = describeError(err); });
  const candles = (s) => fetchCandles(s, doc.timeframe, doc.start_date, doc.end_date);
  const root = shared(doc);
  const block = root || symbol.portfolio;
  $("equity-note").textContent = root
    ? `(shared portfolio of ${doc.symbols.length} symbols, quote currency; buy & hold: `
      + "equal parts of every symbol)"
    : `(${symbol.symbol} alone, from 1.0; grey: buy & hold)`;
  try {
    const view = await candles(symbol.symbol);
    if (token !== generation) return;
    $("price-note").textContent = `${symbol.symbol} ${doc.timeframe}`
      + (view.bucket_bars > 1 ? `, ${view.bucket_bars} bars per candle` : "")
      + " · markers: this symbol's own trades";
    charts.push(drawPriceChart($("price-chart"), view, trades));
  } catch (err) {
    message($("price-chart"), `No candles: ${describeError(err)}`);
  }
  const legs = root ? doc.symbols : [symbol];
  const holdings = await Promise.all(legs.map((s) => candles(s.symbol)
    .then((c) => ({ candles: c, returnPct: s.portfolio.buy_and_hold_return_pct }))
    .catch(() => ({ candles: { t: [], close: [] }, returnPct: 0 }))));
  if (token !== generation) return;
  const curve = block.equity_curve || { t: [] };
  const start = block.final_equity / (1 + block.total_return_pct / 100);
  const hold = buyAndHold(curve.t.map((t) => Math.floor(Date.parse(t) / 1000)), start, holdings);
  charts.push(...drawEquity({ equity: $("equity-chart"), drawdown: $("drawdown-chart") }, block,
                            hold, intradayOf(doc)));
}

// The view of a plain (not sweep) result document; `runId` names its trades.csv.
export function showPlainResult(doc, runId) {
  showMetrics(doc);
  markerLegend($("marker-legend"));
  $("trades-error").textContent = "";
  const pick = $("chart-symbol");
  pick.replaceChildren(...doc.symbols.map((s, i) => new Option(s.symbol, String(i))));
  pick.onchange = () => drawSymbol(doc, runId, Number(pick.value));
  if (doc.symbols.length) return drawSymbol(doc, runId, 0);
  return Promise.resolve();
}
