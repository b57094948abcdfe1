// The price chart of the result view: candles from GET /api/candles (lightweight-charts,
// vendored under vendor/lightweight-charts) with the trade log's entries and exits as markers.
import { api } from "./api.js";

// Exit markers are coloured by exit reason (docs/positions.md); entries are one colour.
export const ENTRY_COLOUR = "#2563eb";
export const EXIT_COLOURS = {
  stop_loss: "#dc2626", take_profit: "#16a34a", trailing_stop: "#ea580c",
  time: "#0891b2", signal: "#9333ea", end_of_data: "#6b7280",
};
const OTHER_EXIT = "#111827";

const seconds = (iso) => Math.floor(Date.parse(iso) / 1000);

const candleCache = new Map();

// The candles of one symbol over the run's window (cached per page: results never change).
export function fetchCandles(symbol, timeframe, start, end) {
  const query = new URLSearchParams({ symbol, timeframe, start_date: start, end_date: end,
                                      max_points: "1500" });
  const key = query.toString();
  if (!candleCache.has(key)) {
    const pending = api("GET", `/api/candles?${key}`);
    pending.catch(() => candleCache.delete(key));
    candleCache.set(key, pending);
  }
  return candleCache.get(key);
}

// The index of the bucket holding `time` (seconds): the last bucket starting at or before it.
function bucketOf(times, time) {
  let lo = 0;
  let hi = times.length - 1;
  if (hi < 0 || time < times[0]) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= time) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// One marker per entry and per exit, at the candle holding it (a merged bucket when
// bucket_bars > 1), sorted by time as lightweight-charts requires.
export function tradeMarkers(trades, times) {
  const markers = [];
  for (const trade of trades) {
    const entry = bucketOf(times, seconds(trade.entry_time));
    const exit = bucketOf(times, seconds(trade.exit_time));
    if (entry >= 0) {
      markers.push({ time: times[entry], position: "belowBar", shape: "arrowUp",
                     color: ENTRY_COLOUR, text: "" });
    }
    if (exit >= 0) {
      markers.push({ time: times[exit], position: "aboveBar", shape: "arrowDown",
                     color: EXIT_COLOURS[trade.exit_reason] || OTHER_EXIT, text: "" });
    }
  }
  return markers.sort((a, b) => a.time - b.time);
}

export function chartOptions(el, intraday) {
  return {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#1d2330" },
    grid: { vertLines: { color: "#f1f5f9" }, horzLines: { color: "#f1f5f9" } },
    timeScale: { timeVisible: intraday, secondsVisible: false },
    rightPriceScale: { borderColor: "#e5e7eb" },
    localization: { priceFormatter: (p) => p.toLocaleString("en-US", { maximumFractionDigits: 4 }) },
  };
}

// Draws `view` (the /api/candles answer) with the markers of `trades` into `el`; returns the
// chart (the caller removes it before drawing another). data-candles / data-markers /
// data-bucket-bars on `el` say what is drawn.
export function drawPriceChart(el, view, trades) {
  el.replaceChildren();
  const times = view.t.map(seconds);
  const chart = LightweightCharts.createChart(el, chartOptions(el, view.timeframe !== "1d"
    && view.timeframe !== "1w"));
  const series = chart.addCandlestickSeries({ upColor: "#16a34a", downColor: "#dc2626",
    borderVisible: false, wickUpColor: "#16a34a", wickDownColor: "#dc2626" });
  series.setData(times.map((time, i) => ({ time, open: view.open[i], high: view.high[i],
                                           low: view.low[i], close: view.close[i] })));
  const markers = tradeMarkers(trades, times);
  series.setMarkers(markers);
  chart.timeScale().fitContent();
  el.dataset.candles = String(times.length);
  el.dataset.markers = String(markers.length);
  el.dataset.bucketBars = String(view.bucket_bars);
  return chart;
}

// The legend of the markers: entry, then each exit reason.
export function markerLegend(el) {
  const item = (colour, label, arrow) => {
    const span = document.createElement("span");
    span.className = "legend-item";
    const mark = document.createElement("b");
    mark.style.color = colour;
    mark.textContent = arrow;
    span.append(mark, ` ${label}`);
    return span;
  };
  el.replaceChildren(item(ENTRY_COLOUR, "entry", "▲"),
    ...Object.entries(EXIT_COLOURS).map(([reason, colour]) => item(colour,
      `exit: ${reason.replaceAll("_", " ")}`, "▼")));
}
