"""The wheel ships every tracked source of the SDK, the template and the examples: each matches a
package-data pattern of pyproject.toml (a file added without one would be missing once installed,
and `voxpop contract new|build` would break only there)."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "voxpop"


def test_every_contract_source_is_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["voxpop"]
    listed = subprocess.run(
        ["git", "ls-files", "--", "sdk", "template", "examples"],
        cwd=PACKAGE / "contracts",
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0 or not listed.stdout:
        pytest.skip("not a git checkout")
    files = [f"contracts/{name}" for name in listed.stdout.split()]
    missing = [
        f
        for f in files
        if not f.endswith(".gitignore") and not any(fnmatch.fnmatch(f, p) for p in patterns)
    ]
    assert not missing, f"add to [tool.setuptools.package-data]: {missing}"
