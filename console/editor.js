// The strategy editor (docs/console.md, "Strategy editor"): a rule document (docs/rules.md)
// as JSON, a field reference read from GET /api/strategies/schema, examples (the console's
// examples/strategies.json) and saved documents to start from, save (PUT) and run (a sweep
// of the document's params when the form's sweep box has a grid). A 422 is
// listed as "path: message" and its loc selected in the text; a JSON syntax error is shown
// with its line and column, without a request.
import { api, ApiError, describeError } from "./api.js";
import { readForm } from "./form.js";
import { formatPath, JsonSyntaxError, locate, rangeOf } from "./jsonmap.js";

const $ = (id) => document.getElementById(id);
const EXAMPLES_URL = "examples/strategies.json";  // relative: served beside index.html
const state = { examples: [], saved: [] };  // the dropdown's documents and saved names

// onRun(taskId) after a run is submitted; onSaved() after a save (the run form's list).
export async function initEditor({ onRun, onSaved }) {
  $("save-strategy").onclick = () => save(onSaved);
  $("run-strategy").onclick = () => run(onRun);
  $("editor-example").onchange = () => pick($("editor-example").value);
  $("editor-text").oninput = followName;
  const [schema, examples] = await Promise.all([
    api("GET", "/api/strategies/schema"),
    fetch(EXAMPLES_URL).then((r) => (r.ok ? r.json() : { items: [] })).catch(() => ({ items: [] })),
  ]);
  state.examples = examples.items;
  renderReference(schema);
  await refreshChoices();
  if (state.examples.length && !$("editor-text").value) {
    load(state.examples[0].document);
    $("editor-example").value = `example:${state.examples[0].file}`;
  }
}


// The dropdown: examples, then the caller's saved documents (GET /api/strategies).
export async function refreshChoices() {
  try {
    const catalog = await api("GET", "/api/strategies");
    state.saved = catalog.details.filter((d) => d.kind === "rules").map((d) => d.name);
  } catch { state.saved = []; }
  const select = $("editor-example");
  const current = select.value;
  const group = (label, options) => {
    const el = document.createElement("optgroup");
    el.label = label;
    el.append(...options);
    return el;
  };
  select.replaceChildren(new Option("Start from…", ""),
    group("Examples", state.examples.map((e) => new Option(e.document.name, `example:${e.file}`))),
    group("Saved", state.saved.map((n) => new Option(n, `saved:${n}`))));
  select.value = [...select.options].some((o) => o.value === current) ? current : "";
}

async function pick(choice) {
  const [kind, key] = [choice.slice(0, choice.indexOf(":")), choice.slice(choice.indexOf(":") + 1)];
  if (kind === "example") load(state.examples.find((e) => e.file === key).document);
  if (kind === "saved") {
    try { load(await api("GET", `/api/strategies/${encodeURIComponent(key)}`)); }
    catch (err) { showErrors([{ path: "", message: describeError(err) }]); }
  }
}

// The name field follows the document's "name" while the text parses (save uses the field).
function followName() {
  showErrors([]);
  try {
    const doc = JSON.parse($("editor-text").value);
    if (doc && typeof doc.name === "string") $("editor-name").value = doc.name;
  } catch { /* mid-edit: keep the last name */ }
}

function load(document_) {
  $("editor-text").value = JSON.stringify(document_, null, 2);
  $("editor-name").value = document_.name || "";
  showErrors([]);
}

// The document, or null after showing its syntax error.
function readDocument() {
  const text = $("editor-text").value;
  try {
    locate(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    showErrors([{ path: "", message: `JSON syntax error at ${err.message}`,
                  range: { start: err.offset, end: err.offset + 1 } }]);
    return null;
  }
  return JSON.parse(text);
}

function readPosition() {
  const text = $("editor-position").value.trim();
  if (!text) return undefined;
  try { locate(text); } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    showErrors([{ path: "position", message: `JSON syntax error at ${err.message}` }]);
    return null;
  }
  return JSON.parse(text);
}

async function save(onSaved) {
  const doc = readDocument();
  if (!doc) return;
  const name = $("editor-name").value.trim() || doc.name || "";
  status("");
  try {
    const saved = await api("PUT", `/api/strategies/${encodeURIComponent(name)}`, doc);
    showErrors([]);
    status(`Saved ${saved.name} (version ${saved.version})`);
    await refreshChoices();
    if (onSaved) await onSaved(saved.name);
  } catch (err) {
    reportFailure(err, []);
  }
}

async function run(onRun) {
  const doc = readDocument();
  if (!doc) return;
  const position = readPosition();
  if (position === null) return;
  let form;
  try {
    form = readForm();  // symbols, timeframe, dates, fees (and a sweep's grid) of the run form
  } catch (err) {
    return showErrors([{ path: "", message: err.message }]);
  }
  // the form's strategy and its params are the built-in's: the document replaces them
  const { strategy: _strategy, params: _params, ...common } = form.body;
  const request = { ...common, definition: doc, ...(position ? { position } : {}) };
  status("");
  try {
    const created = await api("POST", form.path, request);
    showErrors([]);
    status(`Submitted ${created.task_id}`);
    onRun(created.task_id);
  } catch (err) {
    reportFailure(err, ["definition"]);
  }
}

// A 422: one item per loc (without "body"); `inDocument` = the loc prefix that is the
// editor's document (["definition"] for a run, [] for a save).
function reportFailure(err, inDocument) {
  if (!(err instanceof ApiError) || err.status !== 422 || !Array.isArray(err.detail)) {
    return showErrors([{ path: "", message: describeError(err) }]);
  }
  let ranges = null;
  try { ranges = locate($("editor-text").value); } catch { ranges = null; }
  showErrors(err.detail.map((item) => {
    const loc = (item.loc || []).filter((p, i) => !(i === 0 && ["body", "query", "path"].includes(p)));
    const inside = inDocument.every((p, i) => loc[i] === p);
    const range = ranges && inside ? rangeOf(ranges, loc.slice(inDocument.length)) : null;
    return { path: formatPath(loc), message: item.msg, range };
  }));
}

function showErrors(items) {
  const list = $("editor-errors");
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.textContent = item.path ? `${item.path}: ${item.message}` : item.message;
    li.dataset.path = item.path;
    if (item.range) {
      li.className = "clickable";
      li.title = "Select it in the editor";
      li.onclick = () => select(item.range);
    }
    return li;
  }));
  list.hidden = !items.length;
  const first = items.find((item) => item.range);
  if (first) select(first.range);
}

// Select a range of the textarea and scroll it into view (line height × lines above it).
function select({ start, end }) {
  const area = $("editor-text");
  area.focus();
  area.setSelectionRange(start, end);
  const line = area.value.slice(0, start).split("\n").length - 1;
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, (line - 2) * lineHeight);
}

function status(text) { $("editor-status").textContent = text; }

// A short reference from the published schema: top-level fields, conditions, operands,
// indicators with their arguments (defaults) and outputs.
function renderReference(schema) {
  const defs = schema.$defs || {};
  const named = (suffix) => Object.entries(defs).filter(([n]) => n.endsWith(suffix));
  const required = new Set(schema.required || []);
  const fields = Object.entries(schema.properties || {}).map(([key, prop]) => {
    const notes = [required.has(key) ? "required" : "optional"];
    if (prop.pattern) notes.push(`pattern ${prop.pattern}`);
    if (prop.maxLength) notes.push(`≤ ${prop.maxLength} characters`);
    if (prop.maxProperties) notes.push(`≤ ${prop.maxProperties} entries`);
    return `${key} (${notes.join(", ")})`;
  });
  const conditions = named("Condition").map(([, d]) => Object.keys(d.properties)[0]);
  const operands = named("Operand").map(([, d]) => Object.keys(d.properties)[0]);
  const prices = defs.PriceOperand?.properties?.price?.enum || [];
  const indicators = named("Indicator").map(([, d]) => {
    const props = d.properties;
    const args = Object.entries(props).filter(([k]) => !["ind", "output", "shift"].includes(k))
      .map(([k, v]) => (v.default === undefined || typeof v.default === "object" ? k : `${k}=${v.default}`));
    const outputs = props.output?.enum || (props.output?.const ? [props.output.const] : []);
    return `${props.ind.const}(${args.join(", ")}) → ${outputs.join(" | ")}`;
  });
  const el = $("editor-reference");
  el.replaceChildren();
  const add = (term, text) => {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = text;
    el.append(dt, dd);
  };
  add("Document", fields.join(" · "));
  add("Params", 'name → {"type": "int" | "float" | "bool", "default", "min", "max"}; use as "$name"');
  add("Conditions", `${conditions.join(", ")}: {"gt": [a, b]}, {"all": [c, …]}, {"not": c}, {"held": c, "bars": n}`);
  add("Operands", `a number, "$param", {"price": ${prices.join("|")}, "shift": k}, `
      + `{"ind": …}, {${operands.map((o) => `"${o}"`).join("|")}: [a, b]}`);
  add("Indicators", indicators.join(" · "));
}
