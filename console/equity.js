// The equity and drawdown panes of the result view (lightweight-charts): the fee-aware
// portfolio equity (equity_curve of the result's portfolio block, docs/positions.md) with
// buy-and-hold beside it, drawn from the candles' closes.
import { chartOptions } from "./pricechart.js";

const seconds = (iso) => Math.floor(Date.parse(iso) / 1000);

// The close of the last candle starting at or before `time` (seconds); null before the first.
function closeAt(times, closes, time) {
  let lo = 0;
  let hi = times.length - 1;
  if (hi < 0 || time < times[0]) return null;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= time) lo = mid; else hi = mid - 1;
  }
  return closes[lo];
}

// Buy-and-hold equity at the equity curve's times: the starting capital spread equally over
// the symbols, each held from its first close. The first close is the one the metric uses:
// last close / (1 + buy_and_hold_return_pct / 100), so the line ends on the reported value.
export function buyAndHold(curveTimes, capital, holdings) {
  const legs = holdings.filter((h) => h.candles.close.length).map((h) => {
    const times = h.candles.t.map(seconds);
    const last = h.candles.close[h.candles.close.length - 1];
    return { times, closes: h.candles.close, first: last / (1 + h.returnPct / 100) };
  });
  if (!legs.length) return [];
  return curveTimes.map((time) => {
    const parts = legs.map((leg) => (closeAt(leg.times, leg.closes, time) ?? leg.first) / leg.first);
    return { time, value: capital * parts.reduce((a, b) => a + b, 0) / parts.length };
  });
}

// Percent below the running peak of `points` ({time, value}), ≤ 0.
export function drawdownPct(points) {
  let peak = -Infinity;
  return points.map(({ time, value }) => {
    peak = Math.max(peak, value);
    return { time, value: peak > 0 ? (value / peak - 1) * 100 : 0 };
  });
}

// Draws the block's equity curve and `hold` into `els.equity`, its drawdown into
// `els.drawdown`; returns both charts. data-points on the equity pane = curve points.
export function drawEquity(els, block, hold, intraday) {
  const curve = block.equity_curve || { t: [], equity: [] };
  const equity = curve.t.map((t, i) => ({ time: seconds(t), value: curve.equity[i] }));
  els.equity.replaceChildren();
  els.drawdown.replaceChildren();
  els.equity.dataset.points = String(equity.length);
  const top = LightweightCharts.createChart(els.equity, chartOptions(els.equity, intraday));
  const strategy = top.addLineSeries({ color: "#2563eb", lineWidth: 2, title: "strategy" });
  strategy.setData(equity);
  if (hold.length) {
    const bh = top.addLineSeries({ color: "#9ca3af", lineWidth: 1, title: "buy & hold" });
    bh.setData(hold);
  }
  top.timeScale().fitContent();
  const bottom = LightweightCharts.createChart(els.drawdown, chartOptions(els.drawdown, intraday));
  // a baseline at 0: the area between the line and 0 is filled (the depth below the peak)
  const dd = bottom.addBaselineSeries({ baseValue: { type: "price", price: 0 }, lineWidth: 1,
    bottomLineColor: "#b91c1c", bottomFillColor1: "rgba(185,28,28,.05)",
    bottomFillColor2: "rgba(185,28,28,.3)", title: "drawdown %",
    priceFormat: { type: "custom", formatter: (v) => `${v.toFixed(2)} %` } });
  dd.setData(drawdownPct(equity));
  bottom.timeScale().fitContent();
  return [top, bottom];
}
