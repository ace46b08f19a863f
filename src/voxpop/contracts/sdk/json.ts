// A small JSON reader and writer for contract messages, integers only.
//
// Why not a JSON library from npm (both maintained ones build with asc 0.28, measured):
// - assemblyscript-json 1.1 parses every number through f64: a one-field reader holds 46 float
//   instructions, and the chain refuses code with floats at upload (machines may disagree).
// - json-as 1.6 generates float-free readers for integer fields, but reads what is not an
//   integer as one without a word: into a u64 field, 1.5 became 42949673045, -1 became
//   4294967293, 1e3 became 633, 2^64 and "5" became 0; a repeated key silently wins. A contract
//   moving tokens must refuse such a message, not pay a made-up amount.
// So numbers here are integers: a fraction, an exponent, a sign where none belongs, an overflow
// or a repeated key is a refusal, never a rounded or wrapped value.

export const enum Kind {
  Null = 0,
  Bool = 1,
  Int = 2,
  Str = 3,
  Arr = 4,
  Obj = 5,
}

// Nesting deeper than this is refused: a hostile message cannot exhaust the call stack.
const MAX_DEPTH = 32;

export class Value {
  kind: Kind = Kind.Null;
  flag: bool = false; // Bool
  text: string = ""; // Str, or the digits of an Int (with its sign)
  items: Value[] = []; // Arr, or the values of an Obj
  keys: string[] = []; // Obj, in message order

  isNull(): bool {
    return this.kind == Kind.Null;
  }

  // The member `key` of an object, or null if absent (or this is not an object).
  get(key: string): Value | null {
    if (this.kind != Kind.Obj) return null;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] == key) return this.items[i];
    }
    return null;
  }

  has(key: string): bool {
    return this.get(key) != null;
  }

  // The member `key`, which must be present: a missing field aborts the call with its name.
  field(key: string): Value {
    const v = this.get(key);
    if (v == null) abort("missing field `" + key + "`");
    return v!;
  }

  asString(): string {
    if (this.kind != Kind.Str) abort("expected a string");
    return this.text;
  }

  asBool(): bool {
    if (this.kind != Kind.Bool) abort("expected true or false");
    return this.flag;
  }

  // An unsigned 64-bit integer: aborts on a sign, a fraction or an overflow.
  asU64(): u64 {
    if (this.kind != Kind.Int) abort("expected an integer");
    return parseU64(this.text);
  }

  asI64(): i64 {
    if (this.kind != Kind.Int) abort("expected an integer");
    const negative = this.text.charCodeAt(0) == 45; // '-'
    const magnitude = parseU64(negative ? this.text.substring(1) : this.text);
    if (magnitude > (negative ? <u64>9223372036854775808 : <u64>i64.MAX_VALUE)) {
      abort("integer out of range");
    }
    return negative ? -(<i64>magnitude) : <i64>magnitude;
  }

  asArray(): Value[] {
    if (this.kind != Kind.Arr) abort("expected an array");
    return this.items;
  }

  // Shorthands for a required member of a given type.
  str(key: string): string {
    const v = this.get(key);
    if (v == null || v.kind != Kind.Str) abort("field `" + key + "` must be a string");
    return v!.text;
  }

  u64(key: string): u64 {
    const v = this.get(key);
    if (v == null || v.kind != Kind.Int) abort("field `" + key + "` must be an integer");
    return v!.asU64();
  }

  bool(key: string): bool {
    const v = this.get(key);
    if (v == null || v.kind != Kind.Bool) abort("field `" + key + "` must be true or false");
    return v!.flag;
  }

  arr(key: string): Value[] {
    const v = this.get(key);
    if (v == null || v.kind != Kind.Arr) abort("field `" + key + "` must be an array");
    return v!.items;
  }

  // The one key of an object such as {"approve": {...}}: how a message names its action.
  action(): string {
    if (this.kind != Kind.Obj || this.keys.length != 1) {
      abort("the message must be an object with one key: the action");
    }
    return this.keys[0];
  }

  // The value back as compact JSON text.
  toJSON(): string {
    switch (this.kind) {
      case Kind.Null:
        return "null";
      case Kind.Bool:
        return this.flag ? "true" : "false";
      case Kind.Int:
        return this.text;
      case Kind.Str:
        return quote(this.text);
      case Kind.Arr: {
        const parts = new Array<string>(this.items.length);
        for (let i = 0; i < this.items.length; i++) parts[i] = this.items[i].toJSON();
        return "[" + parts.join(",") + "]";
      }
      default: {
        const parts = new Array<string>(this.items.length);
        for (let i = 0; i < this.items.length; i++) {
          parts[i] = quote(this.keys[i]) + ":" + this.items[i].toJSON();
        }
        return "{" + parts.join(",") + "}";
      }
    }
  }
}

// Decimal digits to u64; aborts on anything else or on overflow.
export function parseU64(digits: string): u64 {
  if (digits.length == 0 || digits.length > 20) abort("not an unsigned integer: " + digits);
  let n: u64 = 0;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i) - 48;
    if (c < 0 || c > 9) abort("not an unsigned integer: " + digits);
    const next = n * 10 + <u64>c;
    // Verify no wrap-around: the 20-digit values above 2^64-1 wrap to a smaller number
    if (n > 1844674407370955161 || next < n) abort("integer above 2^64-1: " + digits);
    n = next;
  }
  return n;
}

class Parser {
  pos: i32 = 0;
  failed: bool = false;

  constructor(public src: string) {}

  fail(): Value {
    this.failed = true;
    return new Value();
  }

  skip(): void {
    while (this.pos < this.src.length) {
      const c = this.src.charCodeAt(this.pos);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.pos++;
    }
  }

  literal(word: string): bool {
    if (this.src.substr(this.pos, word.length) != word) return false;
    this.pos += word.length;
    return true;
  }

  value(depth: i32): Value {
    if (depth > MAX_DEPTH) return this.fail();
    this.skip();
    if (this.pos >= this.src.length) return this.fail();
    const c = this.src.charCodeAt(this.pos);
    const v = new Value();
    if (c == 123) return this.object(depth); // {
    if (c == 91) return this.array(depth); // [
    if (c == 34) {
      // "
      v.kind = Kind.Str;
      v.text = this.string();
      return v;
    }
    if (c == 45 || (c >= 48 && c <= 57)) return this.integer();
    if (this.literal("true")) {
      v.kind = Kind.Bool;
      v.flag = true;
      return v;
    }
    if (this.literal("false")) {
      v.kind = Kind.Bool;
      return v;
    }
    if (this.literal("null")) return v;
    return this.fail();
  }

  integer(): Value {
    const start = this.pos;
    if (this.src.charCodeAt(this.pos) == 45) this.pos++;
    const digits = this.pos;
    while (this.pos < this.src.length) {
      const c = this.src.charCodeAt(this.pos);
      if (c < 48 || c > 57) break;
      this.pos++;
    }
    const count = this.pos - digits;
    // Verify digits, no leading zero, and no fraction or exponent (integers only)
    if (count == 0 || (count > 1 && this.src.charCodeAt(digits) == 48)) return this.fail();
    if (this.pos < this.src.length) {
      const c = this.src.charCodeAt(this.pos);
      if (c == 46 || c == 101 || c == 69) return this.fail();
    }
    const v = new Value();
    v.kind = Kind.Int;
    v.text = this.src.substring(start, this.pos);
    return v;
  }

  hex4(): i32 {
    if (this.pos + 4 > this.src.length) {
      this.failed = true;
      return 0;
    }
    let n = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.src.charCodeAt(this.pos++);
      let d = -1;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      if (d < 0) {
        this.failed = true;
        return 0;
      }
      n = (n << 4) | d;
    }
    return n;
  }

  // A string at pos (on its opening quote); escapes decoded.
  string(): string {
    this.pos++;
    let out = "";
    let run = this.pos;
    while (this.pos < this.src.length) {
      const c = this.src.charCodeAt(this.pos);
      if (c == 34) {
        out += this.src.substring(run, this.pos);
        this.pos++;
        return out;
      }
      if (c < 32) break;
      if (c != 92) {
        this.pos++;
        continue;
      }
      out += this.src.substring(run, this.pos);
      this.pos++;
      if (this.pos >= this.src.length) break;
      const e = this.src.charCodeAt(this.pos++);
      if (e == 34) out += '"';
      else if (e == 92) out += "\\";
      else if (e == 47) out += "/";
      else if (e == 98) out += "\b";
      else if (e == 102) out += "\f";
      else if (e == 110) out += "\n";
      else if (e == 114) out += "\r";
      else if (e == 116) out += "\t";
      else if (e == 117) out += String.fromCharCode(this.hex4());
      else break;
      run = this.pos;
    }
    this.failed = true;
    return "";
  }

  array(depth: i32): Value {
    this.pos++;
    const v = new Value();
    v.kind = Kind.Arr;
    this.skip();
    if (this.pos < this.src.length && this.src.charCodeAt(this.pos) == 93) {
      this.pos++;
      return v;
    }
    while (!this.failed) {
      v.items.push(this.value(depth + 1));
      this.skip();
      if (this.pos >= this.src.length) return this.fail();
      const c = this.src.charCodeAt(this.pos++);
      if (c == 93) return v;
      if (c != 44) return this.fail();
    }
    return v;
  }

  object(depth: i32): Value {
    this.pos++;
    const v = new Value();
    v.kind = Kind.Obj;
    this.skip();
    if (this.pos < this.src.length && this.src.charCodeAt(this.pos) == 125) {
      this.pos++;
      return v;
    }
    while (!this.failed) {
      this.skip();
      if (this.pos >= this.src.length || this.src.charCodeAt(this.pos) != 34) return this.fail();
      const key = this.string();
      // Verify each key once: which duplicate wins differs between parsers
      for (let i = 0; i < v.keys.length; i++) if (v.keys[i] == key) return this.fail();
      this.skip();
      if (this.pos >= this.src.length || this.src.charCodeAt(this.pos) != 58) return this.fail();
      this.pos++;
      v.keys.push(key);
      v.items.push(this.value(depth + 1));
      this.skip();
      if (this.pos >= this.src.length) return this.fail();
      const c = this.src.charCodeAt(this.pos++);
      if (c == 125) return v;
      if (c != 44) return this.fail();
    }
    return v;
  }
}

// Parse JSON text; null if it is not valid JSON (with integer numbers only).
export function parse(text: string): Value | null {
  const p = new Parser(text);
  const v = p.value(0);
  p.skip();
  if (p.failed || p.pos != text.length) return null;
  return v;
}

const HEX = "0123456789abcdef";

// A JSON string literal for `s`.
export function quote(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c != 34 && c != 92 && c >= 32) continue;
    out += s.substring(run, i);
    if (c == 34) out += '\\"';
    else if (c == 92) out += "\\\\";
    else if (c == 10) out += "\\n";
    else out += "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
    run = i + 1;
  }
  return out + s.substring(run) + '"';
}

// Builds a JSON object: new Obj().str("to", addr).u64("amount", n).toString()
export class Obj {
  parts: string[] = [];

  raw(key: string, json: string): Obj {
    this.parts.push(quote(key) + ":" + json);
    return this;
  }

  str(key: string, value: string): Obj {
    return this.raw(key, quote(value));
  }

  u64(key: string, value: u64): Obj {
    return this.raw(key, value.toString());
  }

  i64(key: string, value: i64): Obj {
    return this.raw(key, value.toString());
  }

  bool(key: string, value: bool): Obj {
    return this.raw(key, value ? "true" : "false");
  }

  obj(key: string, value: Obj): Obj {
    return this.raw(key, value.toString());
  }

  arr(key: string, value: Arr): Obj {
    return this.raw(key, value.toString());
  }

  toString(): string {
    return "{" + this.parts.join(",") + "}";
  }
}

// Builds a JSON array.
export class Arr {
  parts: string[] = [];

  raw(json: string): Arr {
    this.parts.push(json);
    return this;
  }

  str(value: string): Arr {
    return this.raw(quote(value));
  }

  u64(value: u64): Arr {
    return this.raw(value.toString());
  }

  obj(value: Obj): Arr {
    return this.raw(value.toString());
  }

  toString(): string {
    return "[" + this.parts.join(",") + "]";
  }
}
