// The host API of ABI version 1 (docs/protocol/contracts.md): the only functions a contract may
// import. Every pointer and length is into the contract's own memory. Functions that return data
// write it into (out_ptr, out_cap) and return its full length; when the length is larger than
// out_cap nothing is written and the caller retries with a bigger buffer; -1 means absent.

@external("voxpop", "db_read")
export declare function db_read(key_ptr: i32, key_len: i32, out_ptr: i32, out_cap: i32): i32;

@external("voxpop", "db_write")
export declare function db_write(key_ptr: i32, key_len: i32, val_ptr: i32, val_len: i32): void;

@external("voxpop", "db_remove")
export declare function db_remove(key_ptr: i32, key_len: i32): void;

@external("voxpop", "db_next")
export declare function db_next(
  start_ptr: i32,
  start_len: i32,
  end_ptr: i32,
  end_len: i32,
  out_ptr: i32,
  out_cap: i32,
): i32;

@external("voxpop", "env")
export declare function env(out_ptr: i32, out_cap: i32): i32;

@external("voxpop", "set_result")
export declare function set_result(ptr: i32, len: i32): void;

@external("voxpop", "set_error")
export declare function set_error(ptr: i32, len: i32): void;

@external("voxpop", "emit")
export declare function emit(type_ptr: i32, type_len: i32, attrs_ptr: i32, attrs_len: i32): void;

@external("voxpop", "dispatch")
export declare function dispatch(ptr: i32, len: i32): void;

@external("voxpop", "query_chain")
export declare function query_chain(req_ptr: i32, req_len: i32, out_ptr: i32, out_cap: i32): i32;

@external("voxpop", "sha256")
export declare function sha256(ptr: i32, len: i32, out_ptr: i32): void;

@external("voxpop", "ed25519_verify")
export declare function ed25519_verify(msg_ptr: i32, msg_len: i32, sig_ptr: i32, pk_ptr: i32): i32;

@external("voxpop", "addr_validate")
export declare function addr_validate(ptr: i32, len: i32): i32;
