// Household wallet: a shared account that pays only when enough members agree (two of three by
// default). A member proposes a spend; it is paid the moment the approvals reach the threshold,
// the proposer's own approval counting as the first. Anyone may fund the wallet, by a plain
// bank send to the contract's address or with the funds of any call.
import { OK, Obj, balanceOf, emitEvent, env, message, refuse, requireAddress, sendTokens,
  setResult, storage, Value } from "sdk";

export { alloc, voxpop_abi_v1 } from "sdk";

const MAX_MEMBERS = 10;
const MAX_MEMO = 140;

// {"members": ["vox1...", "vox1...", "vox1..."], "threshold": 2}
export function instantiate(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const members = msg.arr("members");
  const threshold = msg.u64("threshold");
  // Verify 2..10 distinct members and a threshold a majority can reach, but not one alone
  if (members.length < 2 || members.length > MAX_MEMBERS) return refuse("2 to 10 members");
  if (threshold < 2 || threshold > <u64>members.length) {
    return refuse("threshold must be 2 to the number of members");
  }
  for (let i = 0; i < members.length; i++) {
    const address = requireAddress(members[i].asString());
    if (storage.has("member/" + address)) return refuse("member listed twice: " + address);
    storage.set("member/" + address, "1");
  }
  storage.set("members", msg.field("members").toJSON());
  storage.setU64("threshold", threshold);
  storage.setU64("next_id", 1);
  return OK;
}

function isMember(address: string): bool {
  return storage.has("member/" + address);
}

function proposalKey(id: u64): string {
  return "proposal/" + id.toString();
}

// Pays a proposal once its approvals reach the threshold.
function payIfApproved(id: u64, p: Value, approvals: u64): bool {
  if (approvals < storage.getU64("threshold")) return false;
  const amount = p.u64("amount");
  const to = p.str("to");
  sendTokens(to, amount);
  emitEvent("spent", new Obj().str("id", id.toString()).str("to", to).str("amount", amount.toString()));
  return true;
}

function saveProposal(id: u64, to: string, amount: u64, memo: string, approvals: u64, paid: bool): void {
  const p = new Obj().str("to", to).u64("amount", amount).str("memo", memo);
  storage.set(proposalKey(id), p.u64("approvals", approvals).bool("paid", paid).toString());
}

// {"propose": {"to": A, "amount": n, "memo": "groceries"}} | {"approve": {"id": 1}} | {"deposit": {}}
export function execute(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const action = msg.action();
  const sender = env().sender;
  if (action == "deposit") return OK; // the call's funds are already in the wallet
  // Verify only members propose and approve
  if (!isMember(sender)) return refuse("only a member may " + action);
  if (action == "propose") {
    const body = msg.field("propose");
    const to = requireAddress(body.str("to"));
    const amount = body.u64("amount");
    const memo = body.has("memo") ? body.str("memo") : "";
    // Verify a positive amount and a short memo
    if (amount == 0) return refuse("amount must be positive");
    if (memo.length > MAX_MEMO) return refuse("memo over 140 characters");
    const id = storage.getU64("next_id");
    storage.setU64("next_id", id + 1);
    storage.set(proposalKey(id) + "/by/" + sender, "1");
    emitEvent("proposed", new Obj().str("id", id.toString()).str("by", sender));
    // The proposer's approval is the first; the threshold is at least 2, so nothing pays yet
    saveProposal(id, to, amount, memo, 1, false);
    setResult(new Obj().u64("id", id).toString());
    return OK;
  }
  if (action == "approve") {
    const id = msg.field("approve").u64("id");
    const p = storage.getJSON(proposalKey(id));
    // Verify an open proposal the sender has not approved yet
    if (p == null) return refuse("no proposal " + id.toString());
    if (p.bool("paid")) return refuse("proposal " + id.toString() + " is already paid");
    if (storage.has(proposalKey(id) + "/by/" + sender)) return refuse("already approved");
    const amount = p.u64("amount");
    const approvals = p.u64("approvals") + 1;
    const ready = approvals >= storage.getU64("threshold");
    // Verify the wallet can pay before agreeing to: a failed payment would undo the approval too
    if (ready && balanceOf(env().contract) < amount) {
      return refuse("the wallet holds less than " + amount.toString() + " uvox");
    }
    storage.set(proposalKey(id) + "/by/" + sender, "1");
    const paid = payIfApproved(id, p, approvals);
    saveProposal(id, p.str("to"), amount, p.str("memo"), approvals, paid);
    emitEvent("approved", new Obj().str("id", id.toString()).str("by", sender));
    return OK;
  }
  return refuse("unknown action: " + action);
}

// {"config": {}} -> {"members": [...], "threshold": 2}; {"proposal": {"id": 1}} -> the proposal
export function query(ptr: i32, len: i32): i32 {
  const msg = message(ptr, len);
  const action = msg.action();
  if (action == "config") {
    const out = new Obj().raw("members", storage.get("members")!);
    setResult(out.u64("threshold", storage.getU64("threshold")).toString());
    return OK;
  }
  if (action == "proposal") {
    const found = storage.get(proposalKey(msg.field("proposal").u64("id")));
    if (found == null) return refuse("no such proposal");
    setResult(found);
    return OK;
  }
  return refuse("unknown query: " + action);
}
