// Escrowed bounty: a funder locks a reward with the instantiation; hunters claim it; an arbiter
// both sides trust picks the claim that did the work and the escrow pays that hunter. If nobody
// is paid by the deadline (block time), the funder may take the escrow back; the arbiter may
// also cancel earlier, refunding the funder.
import { OK, Obj, balanceOf, emitEvent, env, message, refuse, requireAddress, sendTokens,
  setResult, storage } from "sdk";

export { alloc, voxpop_abi_v1 } from "sdk";

const MAX_TEXT = 280;
const MAX_CLAIMS: u64 = 100;

// Sent with funds: {"arbiter": "vox1...", "description": "...", "deadline": unix seconds}
export function instantiate(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const e = env();
  const arbiter = requireAddress(msg.str("arbiter"));
  const description = msg.str("description");
  const deadline = msg.u64("deadline");
  // Verify an escrow, a short description and a deadline still ahead
  if (e.funds == 0) return refuse("send the reward as the instantiation's funds");
  if (description.length > MAX_TEXT) return refuse("description over 280 characters");
  if (deadline <= e.time) return refuse("the deadline has passed");
  storage.set("funder", e.sender);
  storage.set("arbiter", arbiter);
  storage.set("description", description);
  storage.setU64("deadline", deadline);
  storage.set("status", "open");
  storage.setU64("claims", 0);
  return OK;
}

function close(status: string, to: string): u64 {
  const amount = balanceOf(env().contract);
  storage.set("status", status);
  storage.set("paid_to", to);
  storage.setU64("paid", amount);
  if (amount > 0) sendTokens(to, amount);
  emitEvent(status, new Obj().str("to", to).str("amount", amount.toString()));
  return amount;
}

// {"claim": {"note": "PR #12"}} | {"approve": {"hunter": A}} | {"cancel": {}} | {"reclaim": {}}
export function execute(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const action = msg.action();
  const e = env();
  // Verify the bounty is still open: every action ends it or adds to it
  if (storage.get("status") != "open") return refuse("the bounty is closed");
  if (action == "claim") {
    const note = msg.field("claim").str("note");
    const count = storage.getU64("claims");
    // Verify a short note, one claim per hunter, a bounded list, before the deadline
    if (note.length > MAX_TEXT) return refuse("note over 280 characters");
    if (storage.has("claim/" + e.sender)) return refuse("already claimed");
    if (count >= MAX_CLAIMS) return refuse("too many claims");
    if (e.time >= storage.getU64("deadline")) return refuse("the deadline has passed");
    storage.set("claim/" + e.sender, note);
    storage.setU64("claims", count + 1);
    emitEvent("claimed", new Obj().str("hunter", e.sender));
    return OK;
  }
  if (action == "approve") {
    const hunter = requireAddress(msg.field("approve").str("hunter"));
    // Verify the arbiter approves, and only a hunter who claimed
    if (e.sender != storage.get("arbiter")) return refuse("only the arbiter may approve");
    if (!storage.has("claim/" + hunter)) return refuse("no claim from " + hunter);
    setResult(new Obj().u64("paid", close("paid", hunter)).toString());
    return OK;
  }
  if (action == "cancel") {
    // Verify the arbiter cancels
    if (e.sender != storage.get("arbiter")) return refuse("only the arbiter may cancel");
    close("cancelled", storage.get("funder")!);
    return OK;
  }
  if (action == "reclaim") {
    // Verify the funder reclaims, only once the deadline has passed
    if (e.sender != storage.get("funder")) return refuse("only the funder may reclaim");
    if (e.time < storage.getU64("deadline")) return refuse("the deadline has not passed");
    close("expired", e.sender);
    return OK;
  }
  return refuse("unknown action: " + action);
}

// {"status": {}} -> {"status", "arbiter", "funder", "deadline", "claims", "escrow", ...}
// {"claim": {"hunter": A}} -> {"note": "..."} or null
export function query(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const action = msg.action();
  if (action == "status") {
    const out = new Obj()
      .str("status", storage.get("status")!)
      .str("funder", storage.get("funder")!)
      .str("arbiter", storage.get("arbiter")!)
      .str("description", storage.get("description")!)
      .u64("deadline", storage.getU64("deadline"))
      .u64("claims", storage.getU64("claims"))
      .u64("escrow", balanceOf(env().contract));
    if (storage.has("paid_to")) out.str("paid_to", storage.get("paid_to")!).u64("paid", storage.getU64("paid"));
    setResult(out.toString());
    return OK;
  }
  if (action == "claim") {
    const note = storage.get("claim/" + msg.field("claim").str("hunter"));
    setResult(note == null ? "null" : new Obj().str("note", note).toString());
    return OK;
  }
  return refuse("unknown query: " + action);
}
