"""`voxpop contract new|build|test` as a newcomer runs them: a project from the template builds,
and its own test passes against the real solo node `contract test` starts for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voxpop.cli.main import app

pytestmark = pytest.mark.slow


def run(*args: str) -> tuple[int, dict[str, object]]:
    done = CliRunner().invoke(app, ["contract", *args, "--output", "json"])
    return done.exit_code, json.loads(done.stdout) if done.stdout.strip() else {}


def test_new_build_test(tmp_path: Path) -> None:
    code, made = run("new", "counter", "--dir", str(tmp_path))
    assert code == 0, made
    project = tmp_path / "counter"
    assert made["project"] == str(project)
    names = sorted(p.name for p in project.iterdir())
    assert names == [".gitignore", "README.md", "contract.ts", "package.json", "test_contract.py"]
    assert json.loads((project / "package.json").read_text())["name"] == "counter"

    code, built = run("test", str(project))
    assert code == 0, built
    wasm = project / "build" / "contract.wasm"
    assert wasm.read_bytes()[:4] == b"\0asm"


def test_new_refuses_a_bad_name_or_an_existing_folder(tmp_path: Path) -> None:
    code, out = run("new", "Bad Name", "--dir", str(tmp_path))
    assert code == 1 and out["error"] == {
        "code": "invalid_project",
        "message": "'Bad Name': lowercase letters, digits, _ and -, from a letter",
    }
    (tmp_path / "taken").mkdir()
    code, out = run("new", "taken", "--dir", str(tmp_path))
    assert code == 1 and "already exists" in str(out["error"])


def test_build_reports_compile_errors(tmp_path: Path) -> None:
    run("new", "broken", "--dir", str(tmp_path))
    entry = tmp_path / "broken" / "contract.ts"
    entry.write_text(entry.read_text().replace("return OK;", "return OKAY;", 1))
    code, out = run("build", str(tmp_path / "broken"))
    assert code == 1
    error = out["error"]
    assert isinstance(error, dict) and error["code"] == "build_failed"
    assert "OKAY" in error["message"]


def test_build_says_what_the_chain_would_refuse(tmp_path: Path) -> None:
    run("new", "floaty", "--dir", str(tmp_path))
    entry = tmp_path / "floaty" / "contract.ts"
    # A float in the count: it compiles, but the chain refuses float instructions at upload
    source = entry.read_text().replace(
        'msg.has("count") ? msg.u64("count") : 0', '<u64>(<f64>msg.u64("count") * 1.5)', 1
    )
    entry.write_text(source)
    code, out = run("build", str(tmp_path / "floaty"))
    assert code == 1
    error = out["error"]
    assert isinstance(error, dict) and error["code"] == "refused_code"
    assert "wasm_float_opcode" in error["message"]
