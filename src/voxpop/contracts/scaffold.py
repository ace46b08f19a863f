"""`voxpop contract new NAME`: a contract project from the template, ready to build and test."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from voxpop.contracts.build import CONTRACTS_DIR

TEMPLATE_DIR = CONTRACTS_DIR / "template"
# A name that is also a valid npm package name and folder name everywhere
NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
# Files the template holds under another name: a wheel's package data drops dotfiles easily,
# and a file named test_*.py inside voxpop would be collected by the project's own test run.
RENAMED = {"gitignore": ".gitignore", "contract_test.py": "test_contract.py"}


class ScaffoldError(Exception):
    pass


def new_project(name: str, parent: Path) -> Path:
    """Create `parent/name` from the template; the project's package.json carries `name`.
    Raises ScaffoldError if the name is malformed or the folder exists."""
    # Verify a plain lowercase name and a folder not there yet (never overwrite someone's work)
    if not NAME_RE.fullmatch(name):
        raise ScaffoldError(f"{name!r}: lowercase letters, digits, _ and -, from a letter")
    dest = parent / name
    if dest.exists():
        raise ScaffoldError(f"{dest} already exists")
    dest.mkdir(parents=True)
    for src in sorted(TEMPLATE_DIR.iterdir()):
        if not src.is_file() or src.suffix == ".pyc":
            continue
        target = dest / RENAMED.get(src.name, src.name)
        if src.name in {"package.json", "README.md"}:
            target.write_text(src.read_text().replace("voxpop-contract-template", name))
        else:
            shutil.copyfile(src, target)
    return dest
