// Where things are in a JSON text: the position of a syntax error, and the span of the field
// an API error names (`model.layers[0].units`), in the user's own text as typed, so the page
// can point at the line without reformatting what the user wrote. The value itself always
// comes from JSON.parse; this scanner only finds offsets.

/** JSON.parse with a usable error: {value} or {error: {message, offset, line, column}}. */
export function parseJSON(text) {
  try {
    return { value: JSON.parse(text) };
  } catch (native) {
    try {
      scan(text);
    } catch (error) {
      if (error instanceof WhereError) return { error: at(text, error.offset, error.message) };
      throw error;
    }
    // The scanner found nothing wrong where JSON.parse did: report JSON.parse's words.
    return { error: { message: native.message, offset: null, line: null, column: null } };
  }
}

/** An API error path ("fit.epochs", `grid["model.layers[1].rate"]`) as its parts. */
export function pathParts(path) {
  const parts = [];
  const token = /\.?([A-Za-z_][\w-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let match;
  while (token.lastIndex < path.length && (match = token.exec(path))) {
    if (match[1] !== undefined) parts.push(match[1]);
    else if (match[2] !== undefined) parts.push(Number(match[2]));
    else parts.push(JSON.parse(match[3]));
  }
  return token.lastIndex === path.length ? parts : null;
}

/**
 * The span in `text` of the field at `path` (an API error path): {start, end, line, exact}.
 * `start` is its key's opening quote (the element itself in an array), `end` the end of its
 * value. A field that is not there (a missing required one) is pointed at through its
 * nearest parent that is, with exact = false. null when the text does not parse or the path
 * is about no field ("(body)").
 */
export function locate(text, path) {
  const parts = pathParts(path);
  if (!parts || !parts.length) return null;
  let spans;
  try {
    spans = scan(text);
  } catch {
    return null;
  }
  for (let n = parts.length; n > 0; n -= 1) {
    const span = spans.get(JSON.stringify(parts.slice(0, n)));
    if (span) return { ...span, line: lineOf(text, span.start), exact: n === parts.length };
  }
  return null;
}

/** The 1-based line of `offset` in `text`. */
export function lineOf(text, offset) {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line += 1;
  }
  return line;
}

function at(text, offset, message) {
  const line = lineOf(text, offset);
  const column = offset - (text.lastIndexOf("\n", offset - 1) + 1) + 1;
  return { message, offset, line, column };
}

class WhereError extends Error {
  constructor(message, offset) {
    super(message);
    this.offset = offset;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** A strict JSON scanner: Map from JSON.stringify(path parts) to {start, end}; throws a
 * WhereError at the first offset that is not JSON. */
function scan(text) {
  const spans = new Map();
  let pos = 0;

  const fail = (message, offset = pos) => { throw new WhereError(message, offset); };
  const white = () => {
    while (pos < text.length && " \t\n\r".includes(text[pos])) pos += 1;
  };
  const describe = () => (pos >= text.length ? "the end of the text" : `'${text[pos]}'`);

  function string() {
    const start = pos;
    pos += 1;
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === "\\") pos += 1;
      else if (text[pos] < " ") fail("a line break or control character inside a string");
      pos += 1;
    }
    if (pos >= text.length) fail("a string is not closed", start);
    pos += 1;
    try {
      return JSON.parse(text.slice(start, pos));
    } catch {
      return fail("a bad escape in a string", start);
    }
  }

  function value(path) {
    white();
    const start = pos;
    const c = text[pos];
    if (c === "{") object(path);
    else if (c === "[") array(path);
    else if (c === '"') string();
    else if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = pos;
      if (!NUMBER.exec(text)) fail("a bad number");
      pos = NUMBER.lastIndex;
    } else {
      const word = ["true", "false", "null"].find((w) => text.startsWith(w, pos));
      if (!word) fail(`expected a value, found ${describe()}`);
      pos += word.length;
    }
    return { start, end: pos };
  }

  function object(path) {
    pos += 1;
    white();
    if (text[pos] === "}") { pos += 1; return; }
    for (;;) {
      white();
      if (text[pos] !== '"') fail(`expected a key in double quotes, found ${describe()}`);
      const keyStart = pos;
      const key = string();
      white();
      if (text[pos] !== ":") fail(`expected ':' after the key "${key}", found ${describe()}`);
      pos += 1;
      const inner = [...path, key];
      const span = value(inner);
      spans.set(JSON.stringify(inner), { start: keyStart, end: span.end });
      white();
      if (text[pos] === ",") { pos += 1; continue; }
      if (text[pos] === "}") { pos += 1; return; }
      fail(`expected ',' or '}' after the value of "${key}", found ${describe()}`);
    }
  }

  function array(path) {
    pos += 1;
    white();
    if (text[pos] === "]") { pos += 1; return; }
    for (let i = 0; ; i += 1) {
      const inner = [...path, i];
      spans.set(JSON.stringify(inner), value(inner));
      white();
      if (text[pos] === ",") { pos += 1; continue; }
      if (text[pos] === "]") { pos += 1; return; }
      fail(`expected ',' or ']' after an element, found ${describe()}`);
    }
  }

  white();
  if (pos >= text.length) fail("the text is empty");
  value([]);
  white();
  if (pos < text.length) fail(`unexpected ${describe()} after the end of the JSON`);
  return spans;
}
