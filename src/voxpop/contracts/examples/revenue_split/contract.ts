// Revenue split: a skill made by several developers earns royalties into this contract, which
// pays each developer a fixed share.
//
// How the royalties arrive: one developer registers the skill with this contract's address as
// its payout (`voxpop tx skills register DEV SKILL_ID FEE --payout CONTRACT`, or `skills/Update`
// for a skill already registered). Every `skills/Settle` then pays the contract's account like
// any other payout address; no contract code runs then. Anyone may later call `distribute`,
// which pays out what the contract holds by the shares fixed at instantiation.
import { Arr, OK, Obj, emitEvent, env, balanceOf, message, refuse, requireAddress, sendTokens,
  setResult, storage } from "sdk";

export { alloc, voxpop_abi_v1 } from "sdk";

const MAX_MEMBERS = 16;
// Shares are parts of this whole (basis points): 5000 = half.
const WHOLE: u64 = 10000;

// {"members": [{"address": "vox1...", "share": 5000}, ...]}: shares summing to 10000
export function instantiate(ptr: i32, len: i32): i32 {
  const members = message(ptr, len).arr("members");
  // Verify 1..16 members
  if (members.length == 0 || members.length > MAX_MEMBERS) return refuse("1 to 16 members");
  let total: u64 = 0;
  const list = new Arr();
  for (let i = 0; i < members.length; i++) {
    const address = requireAddress(members[i].str("address"));
    const share = members[i].u64("share");
    // Verify each member once, with a share
    if (share == 0 || share > WHOLE) return refuse("a share is 1 to 10000");
    if (storage.has("share/" + address)) return refuse("member listed twice: " + address);
    storage.setU64("share/" + address, share);
    total += share;
    list.obj(new Obj().str("address", address).u64("share", share));
  }
  // Verify the shares make the whole: nothing is left unassigned
  if (total != WHOLE) return refuse("shares must sum to 10000, not " + total.toString());
  storage.set("members", list.toString());
  return OK;
}

// {"distribute": {}}: anyone may call; pays every member its share of the contract's balance.
export function execute(ptr: i32, len: i32): i32 {
  const action = message(ptr, len).action();
  if (action != "distribute") return refuse("unknown action: " + action);
  const balance = balanceOf(env().contract);
  // Verify there is something to pay
  if (balance == 0) return refuse("nothing to distribute");
  const members = storage.getJSON("members")!.asArray();
  // balance * share could overflow 64 bits: split balance = q * WHOLE + r first
  const q = balance / WHOLE;
  const r = balance % WHOLE;
  let paid: u64 = 0;
  for (let i = 0; i < members.length; i++) {
    const address = members[i].str("address");
    const share = members[i].u64("share");
    const amount = q * share + (r * share) / WHOLE;
    if (amount == 0) continue;
    sendTokens(address, amount);
    storage.setU64("paid/" + address, storage.getU64("paid/" + address) + amount);
    paid += amount;
  }
  // The rounding dust (under one uvox per member) stays for the next distribution
  if (paid == 0) return refuse("too little to split");
  storage.setU64("distributed", storage.getU64("distributed") + paid);
  emitEvent("distributed", new Obj().str("amount", paid.toString()));
  setResult(new Obj().u64("paid", paid).toString());
  return OK;
}

// {"members": {}} -> {"members": [...], "distributed": n}; {"paid": {"address": A}} -> {"paid": n}
export function query(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const action = msg.action();
  if (action == "members") {
    const out = new Obj().raw("members", storage.get("members")!);
    setResult(out.u64("distributed", storage.getU64("distributed")).toString());
    return OK;
  }
  if (action == "paid") {
    const address = msg.field("paid").str("address");
    setResult(new Obj().u64("paid", storage.getU64("paid/" + address)).toString());
    return OK;
  }
  return refuse("unknown query: " + action);
}
