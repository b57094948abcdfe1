// Equity, drawdown and signals charts of one symbol (uPlot, vendored under vendor/uplot).

function plot(el, series, data) {
  el.replaceChildren();
  el.dataset.points = String(data[0].length);
  if (!data[0].length) {
    el.textContent = "No signals: nothing to draw.";
    return null;
  }
  const width = Math.max(el.clientWidth || 0, 600);
  return new uPlot({ width, height: 220, series: [{}, ...series],
                     axes: [{}, { size: 90 }],  // room for KRW prices
                     scales: { x: { time: true } }, legend: { live: false } }, data, el);
}

const seconds = (iso) => Date.parse(iso) / 1000;

// x = each signal's time; equity = the performance curve (SPEC §4.1), one point per signal.
export function drawSymbol(symbol, els) {
  const signals = symbol.signals || [];
  const curve = symbol.performance_curve || [];
  const xs = signals.map((s) => seconds(s.timestamp));
  const equity = curve.map((p) => p.equity);
  let peak = -Infinity;
  const drawdown = equity.map((e) => { peak = Math.max(peak, e); return -(1 - e / peak) * 100; });
  plot(els.equity, [{ label: "equity", stroke: "#2563eb", width: 2 }], [xs, equity]);
  plot(els.drawdown, [{ label: "drawdown %", stroke: "#b91c1c", fill: "rgba(185,28,28,.15)" }],
       [xs, drawdown]);
  const dots = (stroke) => ({ stroke, paths: () => null, points: { show: true, size: 7, fill: stroke } });
  plot(els.price, [{ label: "entry", ...dots("#15803d") }, { label: "exit", ...dots("#9333ea") }],
       [xs, signals.map((s) => s.entry_price), signals.map((s) => s.exit_price)]);
}
