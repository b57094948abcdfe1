// A strict JSON reader that remembers where every value is in the text: syntax errors
// with line and column, and the text range of a path such as ["entry", "all", 0, "gt"],
// so the editor can select what a 422's loc names. The value itself comes from JSON.parse.

export class JsonSyntaxError extends Error {
  constructor(message, offset, text) {
    const { line, column } = lineColumn(text, offset);
    super(`line ${line}, column ${column}: ${message}`);
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

export function lineColumn(text, offset) {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before.at(-1).length + 1 };
}

const pathKey = (path) => JSON.stringify(path);
const SCALAR = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null/y;

// Map from pathKey(path) to {start, end} (offsets of the value; for an object key, the
// range runs from the key's quote to the end of its value). Throws JsonSyntaxError.
export function locate(text) {
  const ranges = new Map();
  let i = 0;
  const fail = (message) => { throw new JsonSyntaxError(message, i, text); };
  const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i += 1; };
  const describe = () => (i >= text.length ? "unexpected end of the text"
    : `unexpected ${JSON.stringify(text[i])}`);

  function string() {
    const start = i;
    i += 1;
    while (i < text.length && text[i] !== "\"") {
      if (text[i] === "\\") i += 1;
      else if (text.charCodeAt(i) < 0x20) fail("control character in a string");
      i += 1;
    }
    if (i >= text.length) { i = start; fail("unterminated string"); }
    i += 1;
    return JSON.parse(text.slice(start, i));
  }

  function value(path) {
    ws();
    const start = i;
    const c = text[i];
    if (c === "{") object(path);
    else if (c === "[") array(path);
    else if (c === "\"") string();
    else {
      SCALAR.lastIndex = i;
      const m = SCALAR.exec(text);
      if (!m) fail(`${describe()}: expected a value`);
      i += m[0].length;
    }
    ranges.set(pathKey(path), { start, end: i });
  }

  function object(path) {
    i += 1;
    ws();
    if (text[i] === "}") { i += 1; return; }
    for (;;) {
      ws();
      if (text[i] !== "\"") fail(`${describe()}: expected a key in double quotes`);
      const keyStart = i;
      const key = string();
      ws();
      if (text[i] !== ":") fail(`${describe()}: expected ':' after the key`);
      i += 1;
      value([...path, key]);
      ranges.set(pathKey([...path, key]), { start: keyStart, end: i });
      ws();
      if (text[i] === ",") { i += 1; continue; }
      if (text[i] === "}") { i += 1; return; }
      fail(`${describe()}: expected ',' or '}'`);
    }
  }

  function array(path) {
    i += 1;
    ws();
    if (text[i] === "]") { i += 1; return; }
    for (let n = 0; ; n += 1) {
      value([...path, n]);
      ws();
      if (text[i] === ",") { i += 1; continue; }
      if (text[i] === "]") { i += 1; return; }
      fail(`${describe()}: expected ',' or ']'`);
    }
  }

  value([]);
  ws();
  if (i < text.length) fail(`${describe()} after the document`);
  return ranges;
}

// The range of the longest prefix of `path` that is in the text (a missing key: its parent).
export function rangeOf(ranges, path) {
  for (let n = path.length; n >= 0; n -= 1) {
    const hit = ranges.get(pathKey(path.slice(0, n)));
    if (hit) return hit;
  }
  return null;
}

// ["definition", "entry", "all", 0, "left"] → "definition.entry.all[0].left"
export function formatPath(path) {
  return path.reduce((out, part) => (typeof part === "number" ? `${out}[${part}]`
    : out ? `${out}.${part}` : String(part)), "");
}
