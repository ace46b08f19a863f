// The voxpop contract SDK (ABI version 1). A contract imports it as "sdk":
//
//   import { message, refuse, setResult, storage, env, OK } from "sdk";
//   export { alloc, voxpop_abi_v1 } from "sdk";
//
// `voxpop contract build` puts this folder on the compiler's package path.
export * from "./json";
export * from "./contract";
