"""Compile a contract project with the AssemblyScript compiler (asc 0.28).

A project is a folder holding `contract.ts`; the build writes `build/contract.wasm` in it. The SDK
is this package's `sdk/` folder, put on asc's package path, so `import ... from "sdk"` resolves to
the SDK of the installed voxpop: the SDK and the chain's ABI always come from the same version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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


def find_asc(project: Path) -> str:
    """The asc to run: the project's own (npm install there), the SDK's (`make contracts-sdk`
    in a checkout), or one on PATH."""
    for base in (project, SDK_DIR):
        candidate = base / "node_modules" / ".bin" / "asc"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which("asc")
    if on_path is not None:
        return on_path
    raise ContractBuildError(
        f"the AssemblyScript compiler was not found: run `npm install` in {project} (its "
        f"package.json pins assemblyscript {ASC_VERSION}), or `npm ci` in {SDK_DIR}"
    )


def build_contract(project: Path, output: Path | None = None) -> Path:
    """Compile `project/contract.ts` to `output` (default `project/build/contract.wasm`).
    Raises ContractBuildError with the compiler's messages."""
    project = project.resolve()
    entry = project / ENTRY
    if not entry.is_file():
        raise ContractBuildError(f"{entry} not found: a contract project holds {ENTRY}")
    out = (output or project / OUTPUT).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [find_asc(project), str(entry), "--path", str(CONTRACTS_DIR), *ASC_FLAGS, "-o", str(out)]
    try:
        done = subprocess.run(
            argv, cwd=project, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise ContractBuildError(f"asc did not finish in {BUILD_TIMEOUT:g} s") from None
    if done.returncode != 0 or not out.is_file():
        raise ContractBuildError(f"asc failed ({done.returncode}):\n{done.stderr or done.stdout}")
    return out


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
