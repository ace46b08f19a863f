"""The wasm module: community contracts, metered and sandboxed WebAssembly.

The ABI and host API: docs/protocol/contracts.md.
"""
