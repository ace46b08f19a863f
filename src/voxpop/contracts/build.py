"""Compile a contract project with the AssemblyScript compiler (asc 0.28).

A project is a folder holding `contract.ts`; the build writes `build/contract.wasm` in it. The SDK
is this package's `sdk/` folder, put on asc's package path, so `import ... from "sdk"` resolves to
the SDK of the installed voxpop: the SDK and the chain's ABI always come from the same version.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent
SDK_DIR = CONTRACTS_DIR / "sdk"
EXAMPLES_DIR = CONTRACTS_DIR / "examples"
ASC_VERSION = "0.28.20"
ENTRY = "contract.ts"
OUTPUT = Path("build") / "contract.wasm"
BUILD_TIMEOUT = 120.0
# Set by `voxpop contract test` once it has built the project, so its tests reuse that build
BUILT_ENV = "VOXPOP_CONTRACT_WASM"
# The stub runtime never frees memory: every call runs in a fresh instance that is dropped after
# it, so a collector would only add code and gas. -O3 keeps the code (and its fuel) small.
ASC_FLAGS = ("--runtime", "stub", "-O3", "--noColors")


class ContractBuildError(Exception):
    """The project could not be built: no compiler, no entry file, or a compile error."""


# Compiles several contracts in one Node process: the compiler loads and warms up once (three
# examples: 5.4 s of CPU this way, 12.6 s as three `asc` runs, each of which also starts Node
# twice). argv: the compiler's dist/asc.js, the flags (JSON), the jobs (JSON [[entry, out], ...]).
BATCH_SCRIPT = """
import { pathToFileURL } from "node:url";
const [ascPath, flags, jobs] = process.argv.slice(1);
const asc = await import(pathToFileURL(ascPath).href);
let failed = 0;
for (const [entry, out] of JSON.parse(jobs)) {
  const { error, stderr } = await asc.main([entry, ...JSON.parse(flags), "-o", out]);
  if (error) {
    failed++;
    process.stderr.write(entry + ":\\n" + stderr.toString() + "\\n");
  }
}
process.exitCode = failed ? 1 : 0;
"""


def find_asc(project: Path) -> Path:
    """The compiler's dist/asc.js: the project's own (npm install there), the SDK's (`make
    contracts-sdk` in a checkout), or that of an `asc` on PATH."""
    for base in (project, SDK_DIR):
        candidate = base / "node_modules" / "assemblyscript" / "dist" / "asc.js"
        if candidate.is_file():
            return candidate
    on_path = shutil.which("asc")
    if on_path is not None:
        # bin/asc.js of the assemblyscript package, through the npm bin link
        candidate = Path(on_path).resolve().parent.parent / "dist" / "asc.js"
        if candidate.is_file():
            return candidate
    raise ContractBuildError(
        f"the AssemblyScript compiler was not found: run `npm install` in {project} (its "
        f"package.json pins assemblyscript {ASC_VERSION}), or `npm ci` in {SDK_DIR}"
    )


def build_contracts(jobs: Sequence[tuple[Path, Path | None]]) -> list[Path]:
    """Compile each (project, output) pair (output None: `project/build/contract.wasm`) in one
    compiler process; the compiled files, in order. Raises ContractBuildError with the
    compiler's messages."""
    node = shutil.which("node")
    if node is None:
        raise ContractBuildError("node (Node.js 20) is not on PATH: the compiler runs on it")
    pairs = []
    for project, output in jobs:
        entry = project.resolve() / ENTRY
        if not entry.is_file():
            raise ContractBuildError(f"{entry} not found: a contract project holds {ENTRY}")
        out = (output or project / OUTPUT).resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)  # so a failed build never leaves an older one to be used
        pairs.append((str(entry), str(out)))
    if not pairs:
        return []
    asc = find_asc(jobs[0][0].resolve())
    flags = json.dumps(["--path", str(CONTRACTS_DIR), *ASC_FLAGS])
    argv = [node, "--input-type=module", "-e", BATCH_SCRIPT, str(asc), flags, json.dumps(pairs)]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT * len(pairs), check=False
        )
    except subprocess.TimeoutExpired:
        raise ContractBuildError(f"the compiler did not finish in {BUILD_TIMEOUT:g} s") from None
    outs = [Path(out) for _, out in pairs]
    if done.returncode != 0 or not all(out.is_file() for out in outs):
        raise ContractBuildError(f"asc failed ({done.returncode}):\n{done.stderr or done.stdout}")
    return outs


def check_contract(wasm: Path) -> None:
    """Check a build as the chain checks an upload (the host API's imports only, the ABI's
    exports, memory and table caps, no floats), so a newcomer hears it at build time, not when
    storing. Raises ContractBuildError naming the chain's error."""
    # Imported here: every `voxpop` command imports this file, and wasmtime is slow to load
    from voxpop.chain.errors import ChainError
    from voxpop.chain.modules.wasm.runtime import engine

    try:
        engine().compile(wasm.read_bytes())
    except ChainError as exc:
        raise ContractBuildError(f"the chain would refuse it: [{exc.name}] {exc.message}") from None


def build_contract(project: Path, output: Path | None = None) -> Path:
    """Compile `project/contract.ts` to `output` (default `project/build/contract.wasm`).
    Raises ContractBuildError with the compiler's messages."""
    return build_contracts([(project, output)])[0]


def example_dir(name: str) -> Path:
    """The folder of a shipped example (revenue_split, household_wallet, bounty)."""
    path = EXAMPLES_DIR / name
    if not (path / ENTRY).is_file():
        raise ContractBuildError(f"no example named {name!r}")
    return path


def built_wasm(project: Path) -> Path:
    """The project's compiled contract: the one `voxpop contract test` just built, else a fresh
    build. Raises ContractBuildError."""
    ready = os.environ.get(BUILT_ENV)
    if ready and Path(ready).is_file():
        return Path(ready)
    return build_contract(project)
