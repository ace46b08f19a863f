"""`voxpop contract new|build|test`: write a contract in AssemblyScript, compile it, and test it
against a real solo node (docs/contracts-guide.md). Storing and calling contracts on a chain is
`voxpop tx wasm ...`; this group never touches a chain of yours."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from voxpop.cli.output import OutputFormat, OutputOption, emit, fail
from voxpop.contracts.build import BUILT_ENV, ContractBuildError, build_contract, check_contract
from voxpop.contracts.scaffold import ScaffoldError, new_project

contract_app = typer.Typer(
    no_args_is_help=True, help="Write, build and test contracts (AssemblyScript)."
)

ProjectArgument: Any = typer.Argument(
    Path("."), help="the contract project (a folder with contract.ts); default: here"
)


@contract_app.command("new")
def new(
    name: str = typer.Argument(..., help="the project's name: lowercase letters, digits, _ -"),
    parent: Path = typer.Option(Path("."), "--dir", help="where to create the project folder"),
    output: OutputFormat = OutputOption,
) -> None:
    """A new contract project NAME from the template: a counter, its test, and a README."""
    try:
        project = new_project(name, parent)
    except ScaffoldError as exc:
        fail("invalid_project", str(exc), output)
    emit({"project": str(project), "next": f"voxpop contract test {project}"}, output)


def _build(project: Path, output: OutputFormat) -> Path:
    try:
        wasm = build_contract(project)
    except ContractBuildError as exc:
        fail("build_failed", str(exc), output)
    try:
        check_contract(wasm)
    except ContractBuildError as exc:
        fail("refused_code", str(exc), output)
    return wasm


@contract_app.command("build")
def build(project: Path = ProjectArgument, output: OutputFormat = OutputOption) -> None:
    """Compile PROJECT/contract.ts to PROJECT/build/contract.wasm (asc 0.28, the voxpop SDK)."""
    wasm = _build(project, output)
    emit({"wasm": str(wasm), "bytes": wasm.stat().st_size}, output)


@contract_app.command("test")
def test(
    project: Path = ProjectArgument,
    pytest_args: list[str] = typer.Option(
        [], "--pytest-arg", help="passed on to pytest (repeatable), e.g. -k NAME"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Build PROJECT, then run its test_*.py files with pytest: each starts a real solo node."""
    # Verify pytest is there before building: a wheel install does not bring it
    if importlib.util.find_spec("pytest") is None:
        fail("missing_tool", "the tests run with pytest: pip install pytest", output)
    wasm = _build(project, output)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]
    done = subprocess.run(
        [*argv, str(project.resolve())],
        cwd=project,
        env={**os.environ, BUILT_ENV: str(wasm)},
        check=False,
    )
    if done.returncode != 0:
        fail("tests_failed", f"pytest exited with {done.returncode}", output, done.returncode)
    emit({"project": str(project.resolve()), "wasm": str(wasm), "passed": True}, output)
