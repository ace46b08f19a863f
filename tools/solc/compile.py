"""Compile src/voxpop/swap/contracts/VoxpopHTLC.sol with the pinned solc (npm `solc`, soljson,
installed here by `npm ci`) into the artifact the wheel ships (ABI + bytecode JSON).

    python tools/solc/compile.py          # write the artifact
    python tools/solc/compile.py --check  # exit 1 if the committed artifact differs
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTRACTS = HERE.parent.parent / "src" / "voxpop" / "swap" / "contracts"
SOURCE = CONTRACTS / "VoxpopHTLC.sol"
ARTIFACT = CONTRACTS / "VoxpopHTLC.json"
NAME = "VoxpopHTLC"
EVM_VERSION = "cancun"  # what geth --dev runs (and every live chain since 2024)


def solc_version() -> str:
    lock = json.loads((HERE / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/solc"]["version"]
    return version


def compile_artifact() -> dict[str, object]:
    request = {
        "language": "Solidity",
        "sources": {"VoxpopHTLC.sol": {"content": SOURCE.read_text()}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": EVM_VERSION,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    solcjs = HERE / "node_modules" / ".bin" / "solcjs"
    if not solcjs.exists():
        raise SystemExit(f"{solcjs} is missing: run `npm ci` in {HERE}")
    out = subprocess.run(
        [str(solcjs), "--standard-json"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(out.stdout[out.stdout.index("{") :])
    errors = [e for e in result.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
    contract = result["contracts"]["VoxpopHTLC.sol"][NAME]
    return {
        "contractName": NAME,
        "compiler": f"solc {solc_version()} (npm solc, soljson)",
        "evmVersion": EVM_VERSION,
        "optimizer_runs": 200,
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
    }


def render(artifact: dict[str, object]) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main() -> int:
    text = render(compile_artifact())
    if "--check" in sys.argv[1:]:
        if not ARTIFACT.exists() or ARTIFACT.read_text() != text:
            print(f"{ARTIFACT} differs from what the pinned solc builds", file=sys.stderr)
            return 1
        return 0
    ARTIFACT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
