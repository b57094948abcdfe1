// A sweep's checks beside its leaderboard (docs/console.md, "Sweeps: PBO and
// walk-forward"): the PBO badge with its reading, the deflated Sharpe of the best
// combination, the walk-forward fold table when the sweep asked for one, and for grids of
// three or more parameters a heatmap of two chosen ones (result.js draws the 2-key grid).

const $ = (id) => document.getElementById(id);
const fmt = (v, digits) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "-");

// The one-line reading of a PBO (the share of CSCV splits where the in-sample winner
// ranks at or below the out-of-sample median); thresholds are a rule of thumb.
export function pboReading(pbo) {
  const pct = Math.round(pbo * 100);
  const verdict = pbo >= 0.5 ? "likely overfit"
    : pbo >= 0.2 ? "a real risk of overfitting" : "the in-sample choice mostly holds out of sample";
  return `PBO ${pbo.toFixed(2)}: the in-sample winner ranks at or below the median out of `
    + `sample in ${pct}% of splits — ${verdict}`;
}

export function showSweepChecks(doc) {
  const fit = doc.overfitting || {};
  const perSymbol = Object.entries(fit.per_symbol || {});
  const badge = $("pbo");
  const level = fit.pbo === null || fit.pbo === undefined ? "none"
    : fit.pbo >= 0.5 ? "high" : fit.pbo >= 0.2 ? "mid" : "low";
  badge.className = `badge pbo-${level}`;
  badge.dataset.pbo = String(fit.pbo ?? "");
  const symbolsText = perSymbol.map(([symbol, b]) => (b.pbo === null || b.pbo === undefined
    ? `${symbol} n/a (${b.pbo_reason || "no value"})` : `${symbol} ${fmt(b.pbo, 2)}`)).join(" · ");
  const head = level === "none"
    ? `PBO n/a: ${perSymbol.map(([, b]) => b.pbo_reason).filter(Boolean)[0] || "not computed for this sweep"}`
    : pboReading(fit.pbo);
  badge.textContent = perSymbol.length > 1 || (level === "none" && perSymbol.length)
    ? `${head} (per symbol: ${symbolsText})` : head;
  $("deflated-sharpe").textContent = perSymbol.length
    ? `Deflated Sharpe of the best combination (${fit.trials ?? doc.combinations} trials: the `
      + "probability that its Sharpe beats the best of that many trials of noise): "
      + perSymbol.map(([symbol, b]) => `${symbol} ${fmt(b.deflated_sharpe, 3)}`).join(" · ")
    : "";
  showWalkForward(doc);
  showHeatmapOfTwo(doc);
}

// Rows × columns of two chosen grid keys; a cell is the best-ranked combination among
// those with these two values (the other keys at whatever served it best).
function showHeatmapOfTwo(doc) {
  const keys = Object.keys(doc.grid || {});
  $("heatmap-two-wrap").hidden = keys.length < 3;
  if (keys.length < 3) return;
  const [rowPick, colPick] = [$("heatmap-two-rows"), $("heatmap-two-cols")];
  for (const [pick, chosen] of [[rowPick, keys[0]], [colPick, keys[1]]]) {
    pick.replaceChildren(...keys.map((k) => new Option(k, k)));
    pick.value = chosen;
    pick.onchange = () => drawHeatmap(doc, rowPick.value, colPick.value);
  }
  drawHeatmap(doc, keys[0], keys[1]);
}

function drawHeatmap(doc, rowKey, colKey) {
  const table = $("heatmap-two");
  table.replaceChildren();
  if (rowKey === colKey) {
    table.textContent = "Choose two different parameters.";
    return;
  }
  const board = doc.leaderboard || [];
  const best = new Map();
  for (const entry of board) {  // the leaderboard is best first: keep the first per cell
    const cell = JSON.stringify([entry.params[rowKey], entry.params[colKey]]);
    if (!best.has(cell)) best.set(cell, entry);
  }
  const worst = Math.max(1, ...board.map((e) => e.rank));
  const head = document.createElement("tr");
  head.append(Object.assign(document.createElement("th"), { textContent: `${rowKey} \\ ${colKey}` }),
              ...doc.grid[colKey].map((c) => Object.assign(document.createElement("th"), { textContent: c })));
  table.append(head);
  for (const r of doc.grid[rowKey]) {
    const tr = document.createElement("tr");
    tr.append(Object.assign(document.createElement("th"), { textContent: r }));
    for (const c of doc.grid[colKey]) {
      const entry = best.get(JSON.stringify([r, c]));
      const td = document.createElement("td");
      td.textContent = entry ? fmt(entry.score, 3) : "-";
      td.title = entry ? `rank ${entry.rank}: ${Object.entries(entry.params).map(([k, v]) => `${k}=${v}`).join(", ")}` : "";
      const t = entry && worst > 1 ? 1 - (entry.rank - 1) / (worst - 1) : 0.5;  // green = best
      td.style.background = `hsl(${Math.round(t * 120)}, 70%, 75%)`;
      tr.append(td);
    }
    table.append(tr);
  }
  $("heatmap-two-axes").textContent = `(cell = best ${doc.rank_by} over the other parameters)`;
}

const when = (iso) => iso.replace("T", " ").replace(/:00(\.000)?Z$/, "").replace(/ 00:00$/, "");

function showWalkForward(doc) {
  const wf = doc.walk_forward;
  $("walk-forward-wrap").hidden = !wf;
  if (!wf) return;
  const keys = Object.keys(doc.grid || {});
  const table = $("walk-forward");
  table.innerHTML = "<tr><th>Fold</th><th>Train range</th><th>Test range</th><th>Chosen params</th>"
    + `<th>Train score (${doc.rank_by})</th><th>Test score (${doc.rank_by})</th></tr>`;
  for (const fold of wf.folds) {
    const tr = document.createElement("tr");
    tr.dataset.fold = String(fold.fold);
    const shown = keys.length ? keys : Object.keys(fold.best_params);
    const cells = [String(fold.fold), range(fold.train), range(fold.test),
      shown.map((k) => `${k}=${fold.best_params[k]}`).join(", "),
      fmt(fold.train_score, 4), fmt(fold.test_score, 4)];
    for (const [i, text] of cells.entries()) {
      const td = document.createElement("td");
      td.textContent = text;
      const part = [null, fold.train, fold.test][i];
      if (part) Object.assign(td.dataset, { first: part.first, last: part.last });
      tr.append(td);
    }
    table.append(tr);
  }
  $("walk-forward-summary").textContent = `In-sample mean ${fmt(wf.is_score, 4)} · out-of-sample `
    + `mean ${fmt(wf.oos_score, 4)} · efficiency (out / in) ${wf.efficiency === null
      ? "n/a (in-sample mean ≤ 0 or a null score)" : fmt(wf.efficiency, 2)}`;
}

const range = (r) => `${when(r.first)} … ${when(r.last)}`;
