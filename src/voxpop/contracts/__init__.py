"""Contract authoring: the AssemblyScript SDK (`sdk/`), the `voxpop contract new` template
(`template/`), example contracts (`examples/`), and the Python side that builds them with the
AssemblyScript compiler (`build.py`), scaffolds a project (`scaffold.py`) and tests one against a
real solo node (`testing.py`). The chain side is `voxpop.chain.modules.wasm`; the ABI is
docs/protocol/contracts.md; a tutorial is docs/contracts-guide.md."""
