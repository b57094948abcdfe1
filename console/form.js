// The run form: strategies and their params_schema, symbols and timeframes (inventory).
import { api } from "./api.js";

const TIMEFRAMES = ["1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"];
const DEMO = [{ symbol: "BTC_KRW", timeframe: "1d" }, { symbol: "ETH_KRW", timeframe: "1d" },
              { symbol: "BTC_KRW", timeframe: "1h" }, { symbol: "ETH_KRW", timeframe: "1h" }];
const $ = (id) => document.getElementById(id);

export async function loadForm() {
  const [strategies, inventory] = await Promise.all([
    api("GET", "/api/strategies"),
    api("GET", "/api/data/inventory").then((d) => ({ items: d.items || [], known: true }))
      .catch(() => ({ items: DEMO, known: false })),
  ]);
  const select = $("strategy");
  select.replaceChildren(...strategies.details.map((d) => new Option(d.name, d.name)));
  const byName = Object.fromEntries(strategies.details.map((d) => [d.name, d]));
  select.onchange = () => renderParams(byName[select.value]);
  renderParams(byName[select.value]);
  setupData(inventory);
}

function renderParams(detail) {
  $("strategy-description").textContent = detail.description;
  const box = $("params");
  box.replaceChildren();
  for (const [name, prop] of Object.entries(detail.params_schema.properties || {})) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.name = name;
    input.dataset.param = prop.type;
    input.title = prop.description || "";
    if (prop.type === "boolean") {
      label.className = "check";
      input.type = "checkbox";
      input.checked = Boolean(detail.defaults[name]);
    } else {
      input.type = "number";
      input.step = prop.type === "integer" ? "1" : "any";
      if (prop.minimum !== undefined) input.min = prop.minimum;
      if (prop.maximum !== undefined) input.max = prop.maximum;
      input.value = detail.defaults[name];
      input.required = true;
    }
    label.append(`${prop.title || name} `, input);
    box.append(label);
  }
}

function setupData(inventory) {
  const items = inventory.items;
  $("symbols-source").textContent = inventory.known ? "(from the data inventory)"
    : "(demo symbols: no /api/data/inventory on this API)";
  // without an inventory, every timeframe (symbols can be typed under "More symbols")
  const present = TIMEFRAMES.filter((tf) => items.some((i) => i.timeframe === tf));
  const tf = $("timeframe");
  tf.replaceChildren(...(inventory.known ? present : TIMEFRAMES).map((t) => new Option(t, t)));
  if (present.includes("1d")) tf.value = "1d";
  const refresh = () => {
    const symbols = [...new Set(items.filter((i) => i.timeframe === tf.value).map((i) => i.symbol))];
    const chosen = new Set([...$("symbols").selectedOptions].map((o) => o.value));
    $("symbols").replaceChildren(...symbols.map((s) => {
      const opt = new Option(s, s);
      opt.selected = chosen.size ? chosen.has(s) : s === symbols[0];
      return opt;
    }));
    const ranges = items.filter((i) => i.timeframe === tf.value && i.first);
    if (ranges.length && !$("start-date").value) {
      $("start-date").value = ranges.map((i) => i.first.slice(0, 10)).sort()[0];
      $("end-date").value = ranges.map((i) => i.last.slice(0, 10)).sort().at(-1);
    }
  };
  tf.onchange = refresh;
  refresh();
  if (!$("start-date").value) { $("start-date").value = "2024-01-01"; $("end-date").value = "2024-12-31"; }
}

// The request body of run-async (or of a sweep when the grid box holds JSON).
export function readForm() {
  const params = {};
  for (const input of $("params").querySelectorAll("input")) {
    if (input.dataset.param === "boolean") params[input.name] = input.checked;
    else if (input.value !== "") params[input.name] = Number(input.value);
  }
  const body = {
    strategy: $("strategy").value, params,
    symbols: [...new Set([...$("symbols").selectedOptions].map((o) => o.value).concat(
      $("extra-symbols").value.split(",").map((x) => x.trim()).filter(Boolean)))],
    start_date: $("start-date").value, end_date: $("end-date").value,
    timeframe: $("timeframe").value,
    fee_bps: Number($("fee-bps").value || 0), slippage_bps: Number($("slippage-bps").value || 0),
  };
  const grid = $("grid").value.trim();
  if (!grid) return { path: "/api/backtests/run-async", body };
  let parsed;
  try { parsed = JSON.parse(grid); } catch (e) { throw new Error(`Sweep grid is not JSON: ${e.message}`); }
  for (const key of Object.keys(parsed)) delete body.params[key];
  const sweep = { ...body, grid: parsed, rank_by: $("rank-by").value };
  // the sweep's checks (docs/sweeps.md): walk-forward folds and PBO blocks
  const folds = $("wf-folds").value.trim();
  if (folds) sweep.validation = { walk_forward: { folds: Number(folds), anchored: $("wf-anchored").checked } };
  if ($("pbo-blocks").value.trim()) sweep.pbo_blocks = Number($("pbo-blocks").value);
  return { path: "/api/sweeps/run-async", body: sweep };
}
