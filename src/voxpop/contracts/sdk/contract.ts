// What a contract calls: its message, storage, the call's environment, results and refusals,
// events, sub-messages, chain queries and crypto. Strings cross the boundary as UTF-8.
import * as host from "./host";
import { Obj, Value, parse, parseU64 } from "./json";

// ---- memory the host writes into -------------------------------------------------------------

// The host calls alloc to place a call's message in contract memory. The stub runtime never
// frees: every call runs in a fresh instance, so the memory goes away with it.
export function alloc(size: i32): i32 {
  return <i32>heap.alloc(<usize>size);
}

// The marker the chain looks for: this module speaks ABI version 1.
export function voxpop_abi_v1(): void {}

function bytesOf(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

function ptr(buf: ArrayBuffer): i32 {
  return <i32>changetype<usize>(buf);
}

// ---- the call's message ----------------------------------------------------------------------

// The JSON message the host placed at (ptr, len); aborts if it is not JSON.
export function message(ptr: i32, len: i32): Value {
  const text = String.UTF8.decodeUnsafe(<usize>ptr, <usize>len);
  const v = parse(text);
  if (v == null) abort("the message is not JSON (numbers must be integers)");
  return v!;
}

// ---- results ---------------------------------------------------------------------------------

// The call's answer (a query's reply, an execute's response data), usually JSON.
export function setResult(data: string): void {
  const b = bytesOf(data);
  host.set_result(ptr(b), b.byteLength);
}

// Return this from an entry point to succeed.
export const OK: i32 = 0;

// Refuse the call: the tx fails with `reason`, every change it made is undone, the fee is paid.
// Use it as `return refuse("why")` from an entry point.
export function refuse(reason: string): i32 {
  const b = bytesOf(reason);
  host.set_error(ptr(b), b.byteLength);
  return 1;
}

// ---- storage (the contract's own keys, nobody else's) ---------------------------------------

function readInto(keyBuf: ArrayBuffer): ArrayBuffer | null {
  let cap = 256;
  for (let attempt = 0; attempt < 2; attempt++) {
    const out = new ArrayBuffer(cap);
    const n = host.db_read(ptr(keyBuf), keyBuf.byteLength, ptr(out), cap);
    if (n < 0) return null;
    if (n <= cap) return out.slice(0, n);
    cap = n;
  }
  abort("db_read: the value kept growing");
  return null;
}

export namespace storage {
  export function getBytes(key: string): ArrayBuffer | null {
    return readInto(bytesOf(key));
  }

  export function setBytes(key: string, value: ArrayBuffer): void {
    const k = bytesOf(key);
    host.db_write(ptr(k), k.byteLength, ptr(value), value.byteLength);
  }

  // The text stored under `key`, or null.
  export function get(key: string): string | null {
    const raw = readInto(bytesOf(key));
    return raw == null ? null : String.UTF8.decode(raw);
  }

  export function set(key: string, value: string): void {
    setBytes(key, bytesOf(value));
  }

  export function has(key: string): bool {
    return readInto(bytesOf(key)) != null;
  }

  export function remove(key: string): void {
    const k = bytesOf(key);
    host.db_remove(ptr(k), k.byteLength);
  }

  // A number kept as decimal text (readable with `voxpop query wasm state`); `fallback` if absent.
  export function getU64(key: string, fallback: u64 = 0): u64 {
    const text = get(key);
    return text == null ? fallback : parseU64(text);
  }

  export function setU64(key: string, value: u64): void {
    set(key, value.toString());
  }

  // The stored JSON value under `key`, or null.
  export function getJSON(key: string): Value | null {
    const text = get(key);
    if (text == null) return null;
    const v = parse(text);
    if (v == null) abort("stored value is not JSON: " + key);
    return v;
  }

  // Up to `limit` keys starting with `prefix`, in byte order, from `after` (exclusive; "" to
  // start at the first). Each step is one host call, paid in gas: keep `limit` small.
  export function keys(prefix: string, limit: i32, after: string = ""): string[] {
    const out = new Array<string>();
    const pre = Uint8Array.wrap(bytesOf(prefix));
    // The end bound: the prefix with its last byte raised by one ("" = no bound if all 0xff)
    let end = new Uint8Array(0);
    for (let i = pre.length - 1; i >= 0; i--) {
      if (pre[i] != 0xff) {
        end = pre.slice(0, i + 1);
        end[i] = pre[i] + 1;
        break;
      }
    }
    // From just past `after`, never before the prefix (an `after` outside it must not widen it)
    let start = after.length > 0 && after > prefix ? bytesOf(after + "\0") : bytesOf(prefix);
    let cap = 256;
    while (out.length < limit) {
      let buf = new ArrayBuffer(cap);
      let n = host.db_next(
        ptr(start),
        start.byteLength,
        <i32>end.dataStart,
        end.length,
        ptr(buf),
        cap,
      );
      if (n < 0) break;
      if (n > cap) {
        cap = n;
        buf = new ArrayBuffer(cap);
        n = host.db_next(ptr(start), start.byteLength, <i32>end.dataStart, end.length, ptr(buf), cap);
      }
      const key = buf.slice(0, n);
      out.push(String.UTF8.decode(key));
      // The next key after this one: the key followed by a zero byte
      const next = new Uint8Array(n + 1);
      next.set(Uint8Array.wrap(key), 0);
      start = next.buffer;
    }
    return out;
  }
}

// ---- the call's environment -------------------------------------------------------------------

export class Env {
  contract: string = ""; // this contract's address (its account holds its funds)
  sender: string = ""; // who called: the tx signer, or the contract that sent the sub-message
  funds: u64 = 0; // uvox sent with this call, already in the contract's account
  height: u64 = 0;
  time: u64 = 0; // the block's unix seconds: the only clock a contract has
  chainId: string = "";
}

let cachedEnv: Env | null = null;

export function env(): Env {
  if (cachedEnv != null) return cachedEnv!;
  let cap = 512;
  let buf = new ArrayBuffer(cap);
  let n = host.env(ptr(buf), cap);
  if (n > cap) {
    cap = n;
    buf = new ArrayBuffer(cap);
    n = host.env(ptr(buf), cap);
  }
  const v = parse(String.UTF8.decode(buf.slice(0, n)));
  if (v == null) abort("env: not JSON");
  const e = new Env();
  e.contract = v!.str("contract");
  e.sender = v!.str("sender");
  e.funds = v!.u64("funds");
  e.height = v!.u64("height");
  e.time = v!.u64("time");
  e.chainId = v!.str("chain_id");
  cachedEnv = e;
  return e;
}

// ---- events -----------------------------------------------------------------------------------

// An event `wasm-<type>` with string attributes: emitEvent("paid", new Obj().str("to", addr))
export function emitEvent(type: string, attrs: Obj): void {
  const t = bytesOf(type);
  const a = bytesOf(attrs.toString());
  host.emit(ptr(t), t.byteLength, ptr(a), a.byteLength);
}

// ---- sub-messages (run after this call returns, all or nothing with it) ----------------------

// Any allowed module message, as the contract's account: dispatchMsg("bank/Send", value)
export function dispatchMsg(type: string, value: Obj): void {
  const b = bytesOf(new Obj().str("type", type).obj("value", value).toString());
  host.dispatch(ptr(b), b.byteLength);
}

// Pay `amount` uvox from the contract's account.
export function sendTokens(to: string, amount: u64): void {
  dispatchMsg("bank/Send", new Obj().str("from", env().contract).str("to", to).u64("amount", amount));
}

// Call another contract's execute with `msg` (JSON text) and `funds` uvox.
export function executeContract(contract: string, msg: string, funds: u64 = 0): void {
  dispatchMsg("wasm/Execute", new Obj().str("contract", contract).raw("msg", msg).u64("funds", funds));
}

// ---- read-only queries ------------------------------------------------------------------------

function queryRaw(request: string): ArrayBuffer | null {
  const req = bytesOf(request);
  let cap = 256;
  for (let attempt = 0; attempt < 2; attempt++) {
    const out = new ArrayBuffer(cap);
    const n = host.query_chain(ptr(req), req.byteLength, ptr(out), cap);
    if (n < 0) return null;
    if (n <= cap) return out.slice(0, n);
    cap = n;
  }
  abort("query_chain: the answer kept growing");
  return null;
}

// A module query (the node's query paths): the raw value bytes, or null if absent.
export function queryChain(path: string, data: Uint8Array): ArrayBuffer | null {
  return queryRaw(new Obj().str("path", path).str("data", toHex(data)).toString());
}

// Another contract's query answer (JSON text), or null.
export function querySmart(contract: string, msg: string): string | null {
  const raw = queryRaw(new Obj().str("smart", contract).raw("msg", msg).toString());
  return raw == null ? null : String.UTF8.decode(raw);
}

// The uvox an address holds (the bank module keeps it as 16 bytes, big-endian).
export function balanceOf(address: string): u64 {
  const raw = queryChain("/bank/balance", addressBytes(address));
  if (raw == null) return 0;
  const b = Uint8Array.wrap(raw);
  if (b.length != 16) abort("bank balance: unexpected encoding");
  let n: u64 = 0;
  for (let i = 0; i < 16; i++) {
    if (i < 8 && b[i] != 0) abort("bank balance above 2^64-1");
    if (i >= 8) n = (n << 8) | <u64>b[i];
  }
  return n;
}

// ---- addresses and crypto ---------------------------------------------------------------------

// True if `text` is a well-formed voxpop address (bech32 `vox1...`, checksum included).
export function isAddress(text: string): bool {
  const b = bytesOf(text);
  return host.addr_validate(ptr(b), b.byteLength) == 1;
}

// Aborts unless `text` is an address; returns it, for `const to = requireAddress(msg.str("to"))`.
export function requireAddress(text: string): string {
  if (!isAddress(text)) abort("not an address: " + text);
  return text;
}

const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

// The 20 bytes of a bech32 address (validated by the host first).
export function addressBytes(text: string): Uint8Array {
  requireAddress(text);
  const sep = text.lastIndexOf("1");
  // The data part without its 6-character checksum, 5 bits a character, regrouped into bytes
  const out = new Array<u8>();
  let acc: u32 = 0;
  let bits: u32 = 0;
  for (let i = sep + 1; i < text.length - 6; i++) {
    const d = BECH32.indexOf(text.charAt(i).toLowerCase());
    acc = (acc << 5) | <u32>d;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push(<u8>((acc >> bits) & 0xff));
    }
  }
  const bytes = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) bytes[i] = out[i];
  return bytes;
}

export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  host.sha256(<i32>data.dataStart, data.length, <i32>out.dataStart);
  return out;
}

// Ed25519: a 64-byte signature by a 32-byte public key over `msg`.
export function ed25519Verify(msg: Uint8Array, sig: Uint8Array, pubkey: Uint8Array): bool {
  if (sig.length != 64 || pubkey.length != 32) return false;
  return (
    host.ed25519_verify(<i32>msg.dataStart, msg.length, <i32>sig.dataStart, <i32>pubkey.dataStart) ==
    1
  );
}

const HEXCHARS = "0123456789abcdef";

export function toHex(data: Uint8Array): string {
  let out = "";
  for (let i = 0; i < data.length; i++) {
    out += HEXCHARS.charAt(data[i] >> 4) + HEXCHARS.charAt(data[i] & 15);
  }
  return out;
}

// Hex text to bytes; aborts on an odd length or a non-hex character.
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 != 0) abort("hex of odd length");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEXCHARS.indexOf(text.charAt(2 * i).toLowerCase());
    const lo = HEXCHARS.indexOf(text.charAt(2 * i + 1).toLowerCase());
    if (hi < 0 || lo < 0) abort("not hex: " + text);
    out[i] = <u8>((hi << 4) | lo);
  }
  return out;
}

export function utf8(text: string): Uint8Array {
  return Uint8Array.wrap(bytesOf(text));
}
