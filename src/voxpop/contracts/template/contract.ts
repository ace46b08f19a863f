// A counter: the smallest useful contract. Its owner is whoever instantiates it; anyone may add
// to the count, only the owner may reset it. Build: `voxpop contract build`; test:
// `voxpop contract test` (see README.md).
import { Obj, OK, env, message, refuse, setResult, storage, emitEvent } from "sdk";

// The chain calls these two: where to put a message, and which ABI this contract speaks.
export { alloc, voxpop_abi_v1 } from "sdk";

// {"count": 5}
export function instantiate(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  storage.set("owner", env().sender);
  storage.setU64("count", msg.has("count") ? msg.u64("count") : 0);
  return OK;
}

// {"add": {"by": 2}} or {"reset": {}}
export function execute(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const action = msg.action();
  if (action == "add") {
    const by = msg.field("add").u64("by");
    const count = storage.getU64("count") + by;
    // Verify no wrap-around: u64 arithmetic wraps silently
    if (count < by) return refuse("count would overflow");
    storage.setU64("count", count);
    emitEvent("added", new Obj().str("by", by.toString()).str("count", count.toString()));
    return OK;
  }
  if (action == "reset") {
    // Verify the caller is the owner
    if (env().sender != storage.get("owner")) return refuse("only the owner may reset");
    storage.setU64("count", 0);
    return OK;
  }
  return refuse("unknown action: " + action);
}

// {"count": {}} -> {"count": 7}
export function query(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  if (msg.action() != "count") return refuse("unknown query");
  setResult(new Obj().u64("count", storage.getU64("count")).toString());
  return OK;
}
