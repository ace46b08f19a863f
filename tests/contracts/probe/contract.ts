// A contract that hands each SDK function to the test: storage (with values past the first
// read buffer), bounded key ranges, hashing, signatures, addresses, the environment, and calls to
// another contract (a sub-message and a smart query).
import { Arr, OK, Obj, addressBytes, ed25519Verify, env, executeContract, fromHex, isAddress,
  message, querySmart, refuse, setResult, sha256, storage, toHex, utf8 } from "sdk";

export { alloc, voxpop_abi_v1 } from "sdk";

export function instantiate(ptr: i32, len: i32): i32 {
  message(ptr, len);
  return OK;
}

export function execute(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const action = msg.action();
  const body = msg.field(action);
  if (action == "put") {
    storage.set(body.str("key"), body.str("value"));
    return OK;
  }
  if (action == "remove") {
    storage.remove(body.str("key"));
    return OK;
  }
  if (action == "call") {
    const funds = body.has("funds") ? body.u64("funds") : 0;
    executeContract(body.str("contract"), body.field("msg").toJSON(), funds);
    return OK;
  }
  return refuse("unknown action: " + action);
}

export function query(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const action = msg.action();
  const body = msg.field(action);
  if (action == "get") {
    const value = storage.get(body.str("key"));
    setResult(value == null ? "null" : new Obj().str("value", value).toString());
  } else if (action == "keys") {
    const after = body.has("after") ? body.str("after") : "";
    const keys = storage.keys(body.str("prefix"), <i32>body.u64("limit"), after);
    const out = new Arr();
    for (let i = 0; i < keys.length; i++) out.str(keys[i]);
    setResult(new Obj().arr("keys", out).toString());
  } else if (action == "sha256") {
    setResult(new Obj().str("hex", toHex(sha256(utf8(body.str("text"))))).toString());
  } else if (action == "verify") {
    const valid = ed25519Verify(
      utf8(body.str("msg")),
      fromHex(body.str("sig")),
      fromHex(body.str("pubkey")),
    );
    setResult(new Obj().bool("valid", valid).toString());
  } else if (action == "address") {
    const text = body.str("text");
    const valid = isAddress(text);
    setResult(new Obj().bool("valid", valid).str("hex", valid ? toHex(addressBytes(text)) : "").toString());
  } else if (action == "env") {
    const e = env();
    const out = new Obj().str("contract", e.contract).str("sender", e.sender).u64("funds", e.funds);
    setResult(out.u64("height", e.height).u64("time", e.time).str("chain_id", e.chainId).toString());
  } else if (action == "smart") {
    const answer = querySmart(body.str("contract"), body.field("msg").toJSON());
    setResult(answer == null ? "null" : answer);
  } else {
    return refuse("unknown query: " + action);
  }
  return OK;
}
