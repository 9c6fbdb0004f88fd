/**
 * A small parser for the subset of Python literal syntax that appears in
 * NumPy .npy headers: dicts, tuples, lists, str (single, double and triple
 * quoted, with escapes and adjacent-literal concatenation), int (decimal,
 * 0x/0o/0b, underscores, Python 2 `L` suffix, one unary sign), float (parsed
 * only so that callers can reject it by type), True, False and None.
 *
 * It follows `ast.literal_eval` closely enough that every header NumPy writes
 * or accepts parses, while odd spacing, comments and trailing commas are all
 * handled by the grammar instead of by pattern matching.
 */

export type PyValue =
  | { kind: "dict"; entries: [PyValue, PyValue][] }
  | { kind: "tuple"; items: PyValue[] }
  | { kind: "list"; items: PyValue[] }
  | { kind: "str"; value: string }
  | { kind: "bytes"; value: string }
  | { kind: "int"; value: bigint }
  | { kind: "float"; text: string }
  | { kind: "bool"; value: boolean }
  | { kind: "none" };

/** Syntax error in a Python literal; `offset` is the character index in the source. */
export class PyLiteralSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = "PyLiteralSyntaxError";
    this.offset = offset;
  }
}

const MAX_DEPTH = 100;
const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function isIdentStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}

/** Describes a value's Python type for error messages. */
export function pyTypeName(v: PyValue): string {
  return v.kind === "none" ? "None" : v.kind;
}

/** Renders a value roughly as Python's repr would (for error messages). */
export function pyRepr(v: PyValue): string {
  switch (v.kind) {
    case "dict":
      return `{${v.entries.map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
    case "tuple":
      return v.items.length === 1 ? `(${pyRepr(v.items[0]!)},)` : `(${v.items.map(pyRepr).join(", ")})`;
    case "list":
      return `[${v.items.map(pyRepr).join(", ")}]`;
    case "str":
      return `'${v.value.replace(/[\\']/g, "\\$&").replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}'`;
    case "bytes":
      return `b${pyRepr({ kind: "str", value: v.value })}`;
    case "int":
      return v.value.toString();
    case "float":
      return v.text;
    case "bool":
      return v.value ? "True" : "False";
    case "none":
      return "None";
  }
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly src: string) {}

  parseAll(): PyValue {
    const v = this.parseValue();
    this.skipSpace();
    if (this.pos < this.src.length) this.fail(`unexpected ${this.describeHere()} after the value`);
    return v;
  }

  private fail(message: string, at = this.pos): never {
    throw new PyLiteralSyntaxError(message, at);
  }

  private describeHere(): string {
    if (this.pos >= this.src.length) return "end of input";
    return JSON.stringify(this.src[this.pos]);
  }

  private skipSpace(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s[this.pos]!;
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v") {
        this.pos++;
      } else if (c === "#") {
        while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
      } else if (c === "\\" && (s[this.pos + 1] === "\n" || s[this.pos + 1] === "\r")) {
        this.pos += 2;
      } else {
        break;
      }
    }
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.src[this.pos] !== c) this.fail(`expected '${c}' but found ${this.describeHere()}`);
    this.pos++;
  }

  private parseValue(): PyValue {
    this.skipSpace();
    if (++this.depth > MAX_DEPTH) this.fail("literal nested too deeply");
    try {
      return this.parseValueInner();
    } finally {
      this.depth--;
    }
  }

  private parseValueInner(): PyValue {
    const s = this.src;
    const c = s[this.pos];
    if (c === undefined) this.fail("unexpected end of input");
    if (c === "{") return this.parseDict();
    if (c === "(") return this.parseParen();
    if (c === "[") {
      this.pos++;
      return { kind: "list", items: this.parseSequence("]") };
    }
    if (c === "'" || c === '"') return this.parseStrings();
    if (isDigit(c) || c === "-" || c === "+" || c === ".") return this.parseNumber();
    if (isIdentStart(c)) {
      const start = this.pos;
      let end = start;
      while (end < s.length && isIdentPart(s[end]!)) end++;
      const name = s.slice(start, end);
      if (s[end] === "'" || s[end] === '"') {
        if (/^(?:[uU]|[rR]|[bB]|[bB][rR]|[rR][bB])$/.test(name)) return this.parseStrings();
        this.fail(`unsupported string prefix '${name}'`, start);
      }
      this.pos = end;
      if (name === "True") return { kind: "bool", value: true };
      if (name === "False") return { kind: "bool", value: false };
      if (name === "None") return { kind: "none" };
      this.fail(`unexpected name '${name}'`, start);
    }
    this.fail(`unexpected ${this.describeHere()}`);
  }

  private parseDict(): PyValue {
    this.pos++; // '{'
    const entries: [PyValue, PyValue][] = [];
    for (;;) {
      this.skipSpace();
      if (this.src[this.pos] === "}") {
        this.pos++;
        return { kind: "dict", entries };
      }
      const key = this.parseValue();
      this.expect(":");
      const value = this.parseValue();
      entries.push([key, value]);
      this.skipSpace();
      const c = this.src[this.pos];
      if (c === ",") this.pos++;
      else if (c !== "}") this.fail(`expected ',' or '}' in dict but found ${this.describeHere()}`);
    }
  }

  /** Parses `(`…`)`: empty tuple, parenthesised value, or tuple. */
  private parseParen(): PyValue {
    this.pos++; // '('
    this.skipSpace();
    if (this.src[this.pos] === ")") {
      this.pos++;
      return { kind: "tuple", items: [] };
    }
    const first = this.parseValue();
    this.skipSpace();
    if (this.src[this.pos] === ")") {
      this.pos++;
      return first; // (x) is just x, not a tuple
    }
    if (this.src[this.pos] !== ",") this.fail(`expected ',' or ')' in tuple but found ${this.describeHere()}`);
    this.pos++;
    return { kind: "tuple", items: [first, ...this.parseSequence(")")] };
  }

  /** Parses comma-separated values up to `close` (trailing comma allowed). */
  private parseSequence(close: string): PyValue[] {
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.src[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.parseValue());
      this.skipSpace();
      const c = this.src[this.pos];
      if (c === ",") this.pos++;
      else if (c !== close) this.fail(`expected ',' or '${close}' but found ${this.describeHere()}`);
    }
  }

  private parseNumber(): PyValue {
    const s = this.src;
    const start = this.pos;
    let negative = false;
    if (s[this.pos] === "-" || s[this.pos] === "+") {
      negative = s[this.pos] === "-";
      this.pos++;
      this.skipSpace();
    }
    const numStart = this.pos;
    const prefix = s.slice(this.pos, this.pos + 2).toLowerCase();
    if (prefix === "0x" || prefix === "0o" || prefix === "0b") {
      const digitRe = prefix === "0x" ? /[0-9a-fA-F_]/ : prefix === "0o" ? /[0-7_]/ : /[01_]/;
      this.pos += 2;
      while (this.pos < s.length && digitRe.test(s[this.pos]!)) this.pos++;
      return this.finishInt(s.slice(numStart, this.pos), negative, start);
    }
    while (this.pos < s.length && (isDigit(s[this.pos]!) || s[this.pos] === "_")) this.pos++;
    let isFloat = false;
    if (s[this.pos] === ".") {
      isFloat = true;
      this.pos++;
      while (this.pos < s.length && (isDigit(s[this.pos]!) || s[this.pos] === "_")) this.pos++;
    }
    if (s[this.pos] === "e" || s[this.pos] === "E") {
      const save = this.pos;
      this.pos++;
      if (s[this.pos] === "+" || s[this.pos] === "-") this.pos++;
      if (isDigit(s[this.pos] ?? "")) {
        isFloat = true;
        while (this.pos < s.length && (isDigit(s[this.pos]!) || s[this.pos] === "_")) this.pos++;
      } else {
        this.pos = save;
      }
    }
    const text = s.slice(numStart, this.pos);
    if (text === "" || text === ".") this.fail("malformed number", start);
    if (s[this.pos] === "j" || s[this.pos] === "J") {
      this.pos++;
      return { kind: "float", text: s.slice(start, this.pos) };
    }
    if (isFloat) return { kind: "float", text: s.slice(start, this.pos) };
    return this.finishInt(text, negative, start);
  }

  private finishInt(text: string, negative: boolean, start: number): PyValue {
    const s = this.src;
    if (s[this.pos] === "L" || s[this.pos] === "l") this.pos++; // Python 2 long suffix
    if (this.pos < s.length && isIdentPart(s[this.pos]!)) this.fail("malformed number", start);
    const prefixed = /^0[xob]/i.test(text);
    const wellFormed = prefixed
      ? /^_?[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*$/.test(text.slice(2))
      : /^\d+(?:_\d+)*$/.test(text);
    if (!wellFormed) this.fail("malformed number", start);
    const clean = text.replace(/_/g, "");
    if (!prefixed && /^0/.test(clean) && /[1-9]/.test(clean)) this.fail("leading zeros in a decimal integer", start);
    const value = BigInt(clean);
    return { kind: "int", value: negative ? -value : value };
  }

  /** Parses one or more adjacent string literals and concatenates them. */
  private parseStrings(): PyValue {
    let bytes: boolean | undefined;
    let value = "";
    for (;;) {
      const start = this.pos;
      const lit = this.parseOneString();
      if (bytes !== undefined && bytes !== lit.bytes) this.fail("cannot mix bytes and str literals", start);
      bytes = lit.bytes;
      value += lit.value;
      const save = this.pos;
      this.skipSpace();
      const m = /^(?:[uUrRbB]|[bB][rR]|[rR][bB])?['"]/.exec(this.src.slice(this.pos, this.pos + 3));
      if (!m) {
        this.pos = save;
        break;
      }
    }
    return bytes ? { kind: "bytes", value } : { kind: "str", value };
  }

  private parseOneString(): { value: string; bytes: boolean } {
    const s = this.src;
    const start = this.pos;
    let raw = false;
    let bytes = false;
    while (s[this.pos] !== "'" && s[this.pos] !== '"') {
      const p = s[this.pos]!.toLowerCase();
      if (p === "r") raw = true;
      if (p === "b") bytes = true;
      this.pos++;
    }
    const q = s[this.pos]!;
    const triple = s[this.pos + 1] === q && s[this.pos + 2] === q;
    const quote = triple ? q.repeat(3) : q;
    this.pos += quote.length;
    let out = "";
    for (;;) {
      if (this.pos >= s.length) this.fail("unterminated string literal", start);
      const c = s[this.pos]!;
      if (s.startsWith(quote, this.pos)) {
        this.pos += quote.length;
        return { value: out, bytes };
      }
      if (!triple && (c === "\n" || c === "\r")) this.fail("unterminated string literal", start);
      if (c !== "\\") {
        if (bytes && c.charCodeAt(0) > 0x7f) this.fail("bytes literal can only contain ASCII characters");
        out += c;
        this.pos++;
        continue;
      }
      // Backslash.
      const n = s[this.pos + 1];
      if (n === undefined) this.fail("unterminated string literal", start);
      if (raw) {
        out += c + n;
        this.pos += 2;
        continue;
      }
      this.pos += 2;
      if (n === "\n") continue;
      if (n === "\r") {
        if (s[this.pos] === "\n") this.pos++;
        continue;
      }
      const simple = SIMPLE_ESCAPES[n];
      if (simple !== undefined) {
        out += simple;
      } else if (n >= "0" && n <= "7") {
        let digits = n;
        while (digits.length < 3 && s[this.pos]! >= "0" && s[this.pos]! <= "7") digits += s[this.pos++];
        out += String.fromCharCode(Number.parseInt(digits, 8));
      } else if (n === "x" || (!bytes && (n === "u" || n === "U"))) {
        const len = n === "x" ? 2 : n === "u" ? 4 : 8;
        const hex = s.slice(this.pos, this.pos + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail(`truncated \\${n} escape`, this.pos - 2);
        const cp = Number.parseInt(hex, 16);
        if (cp > 0x10ffff) this.fail(`invalid \\${n} escape`, this.pos - 2);
        out += String.fromCodePoint(cp);
        this.pos += len;
      } else if (n === "N" && !bytes) {
        this.fail("\\N{...} escapes are not supported", this.pos - 2);
      } else {
        out += c + n; // unknown escapes are kept verbatim, as Python does
      }
    }
  }
}

/** Parses `src` as a single Python literal; throws PyLiteralSyntaxError. */
export function parsePyLiteral(src: string): PyValue {
  return new Parser(src).parseAll();
}
