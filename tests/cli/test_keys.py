"""`voxpop keys`: the sub-app through Typer's runner, and the installed console script end to end.

The runner drives `keys_app` itself so these tests do not depend on every other command group
importing cleanly; the subprocess test covers the real `voxpop keys` mounting.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV, keys_app
from voxpop.crypto import decode_address, derive_private_key, validate_mnemonic

MNEMONIC = " ".join(["abandon"] * 23 + ["art"])
# m/44'/8118'/0'/0'/0' of MNEMONIC, cross-checked against bip-utils.
ADDRESS = "vox1emj5dtjnmr294fu2zpufpk8vc48j3d356jv20x"
SEED_HEX = "a48a914d89ed46d58be5a8bcb100d9b4646b09e2b992ab5d018a091191eec056"
PASSPHRASE = "correct horse battery"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(
    home: Path,
    *args: str,
    input: str | None = None,
    passphrase: str | None = None,
    json_out: bool = True,
) -> tuple[int, Any, str]:
    """Run `voxpop keys ARGS`; returns exit code, parsed JSON (or raw text) and stderr."""
    env = {
        PASSPHRASE_ENV: passphrase,
        BACKEND_ENV: None,
        "VOXPOP_HOME": None,
        "COLUMNS": "200",
    }
    argv = [*args, "--home", str(home)]
    if json_out:
        argv += ["--output", "json"]
    result = CliRunner().invoke(keys_app, argv, input=input, env=env, catch_exceptions=False)
    out: Any = json.loads(result.stdout) if json_out and result.stdout.strip() else result.stdout
    return result.exit_code, out, result.stderr


def error_code(out: Any) -> str:
    return str(out["error"]["code"])


def test_add_shows_mnemonic_once(home: Path) -> None:
    code, out, _ = run(home, "add", "alice", "--keyring-backend", "test")
    assert code == 0
    assert validate_mnemonic(out["mnemonic"]) == out["mnemonic"]
    key = derive_private_key(out["mnemonic"])
    assert decode_address(out["address"]) == key.public_key.address
    assert out["public_key"] == key.public_key.raw.hex()
    assert out["hd_path"] == "m/44'/8118'/0'/0'/0'"

    code, shown, _ = run(home, "show", "alice", "--keyring-backend", "test")
    assert code == 0
    assert "mnemonic" not in shown
    assert shown["address"] == out["address"]


def test_add_text_output_warns(home: Path) -> None:
    code, out, _ = run(home, "add", "alice", "--keyring-backend", "test", json_out=False)
    assert code == 0
    assert "Write this mnemonic down" in out
    mnemonic = out.strip().splitlines()[-1]
    assert validate_mnemonic(mnemonic) == mnemonic


def test_recover_from_stdin(home: Path) -> None:
    code, out, _ = run(
        home, "add", "bob", "--recover", "--keyring-backend", "test", input=MNEMONIC + "\n"
    )
    assert code == 0
    assert out["address"] == ADDRESS
    assert "mnemonic" not in out  # the caller already has it


def test_file_backend_round_trip(home: Path) -> None:
    code, out, _ = run(home, "import", "bob", input=MNEMONIC, passphrase=PASSPHRASE)
    assert (code, out["address"]) == (0, ADDRESS)
    key_file = home / "keyring" / "file" / "bob.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "abandon" not in key_file.read_text()

    code, out, _ = run(home, "export", "bob", passphrase=PASSPHRASE)
    assert code == 0
    assert out["mnemonic"] == MNEMONIC
    assert out["seed"] is None

    code, out, _ = run(home, "export", "bob", passphrase="not the passphrase")
    assert (code, error_code(out)) == (1, "wrong_passphrase")


def test_passphrase_file(home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\nsecond line is ignored\n")
    code, out, _ = run(home, "import", "bob", "--passphrase-file", str(secret), input=MNEMONIC)
    assert (code, out["address"]) == (0, ADDRESS)
    code, out, _ = run(home, "export", "bob", "--passphrase-file", str(secret))
    assert (code, out["mnemonic"]) == (0, MNEMONIC)


def test_invalid_no_passphrase_without_terminal(home: Path) -> None:
    code, out, _ = run(home, "add", "alice")
    assert (code, error_code(out)) == (1, "passphrase_required")
    assert not (home / "keyring" / "file" / "alice.json").exists()


def test_invalid_weak_passphrase(home: Path) -> None:
    code, out, _ = run(home, "add", "alice", passphrase="short")
    assert (code, error_code(out)) == (1, "weak_passphrase")


def test_import_raw_seed(home: Path) -> None:
    code, out, _ = run(
        home, "import", "raw", "--raw-seed", "--keyring-backend", "test", input=SEED_HEX
    )
    assert (code, out["address"], out["kind"]) == (0, ADDRESS, "seed")
    code, out, _ = run(home, "export", "raw", "--keyring-backend", "test")
    assert (out["mnemonic"], out["seed"]) == (None, SEED_HEX)

    code, out, _ = run(home, "import", "bad", "--raw-seed", "--keyring-backend", "test", input="zz")
    assert (code, error_code(out)) == (1, "invalid_key")


def test_list(home: Path) -> None:
    code, out, _ = run(home, "list", "--keyring-backend", "test")
    assert (code, out) == (0, [])
    for name in ("zed", "amy"):
        run(home, "add", name, "--keyring-backend", "test")
    code, out, _ = run(home, "list", "--keyring-backend", "test")
    assert [k["name"] for k in out] == ["amy", "zed"]
    assert all("mnemonic" not in k for k in out)
    code, text, _ = run(home, "list", "--keyring-backend", "test", json_out=False)
    assert out[0]["address"] in text


def test_show_address_only(home: Path) -> None:
    run(home, "import", "bob", "--keyring-backend", "test", input=MNEMONIC)
    code, text, _ = run(home, "show", "bob", "-a", "--keyring-backend", "test", json_out=False)
    assert (code, text) == (0, ADDRESS + "\n")


def test_backend_from_environment(home: Path) -> None:
    result = CliRunner().invoke(
        keys_app,
        ["import", "bob", "--home", str(home), "-o", "json"],
        input=MNEMONIC,
        env={BACKEND_ENV: "test", PASSPHRASE_ENV: None},
    )
    assert result.exit_code == 0, result.output
    assert (home / "keyring" / "test" / "bob.json").exists()


def test_delete(home: Path) -> None:
    run(home, "import", "bob", "--keyring-backend", "test", input=MNEMONIC)
    code, out, _ = run(home, "delete", "bob", "--keyring-backend", "test")
    assert (code, error_code(out)) == (1, "confirmation_required")
    code, out, _ = run(home, "delete", "bob", "--yes", "--keyring-backend", "test")
    assert (code, out) == (0, {"deleted": "bob", "address": ADDRESS})
    code, out, _ = run(home, "show", "bob", "--keyring-backend", "test")
    assert (code, error_code(out)) == (1, "key_not_found")


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (["show", "ghost"], None, "key_not_found"),
        (["export", "ghost"], None, "key_not_found"),
        (["delete", "ghost", "--yes"], None, "key_not_found"),
        (["add", "Bad Name"], None, "invalid_key_name"),
        (["import", "bob"], "abandon " * 24, "invalid_mnemonic"),
        (["import", "bob"], "", "no_input"),
        (["add", "bob", "--recover"], "one two three", "invalid_mnemonic"),
    ],
)
def test_invalid_inputs(home: Path, args: list[str], stdin: str | None, expected: str) -> None:
    code, out, _ = run(home, *args, "--keyring-backend", "test", input=stdin)
    assert (code, error_code(out)) == (1, expected)


def test_invalid_duplicate_name(home: Path) -> None:
    run(home, "import", "bob", "--keyring-backend", "test", input=MNEMONIC)
    code, out, _ = run(home, "add", "bob", "--keyring-backend", "test")
    assert (code, error_code(out)) == (1, "key_exists")


def test_invalid_error_text_goes_to_stderr(home: Path) -> None:
    code, out, err = run(home, "show", "ghost", "--keyring-backend", "test", json_out=False)
    assert code == 1
    assert out == ""
    assert "ghost" in err


def voxpop(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, in a child process, without our keyring variables."""
    script = Path(sys.executable).parent / "voxpop"
    env = {k: v for k, v in os.environ.items() if k not in (PASSPHRASE_ENV, BACKEND_ENV)}
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.mark.slow
def test_console_script_json(home: Path) -> None:
    common = ["--home", str(home), "--keyring-backend", "test", "--output", "json"]
    added = voxpop("keys", "add", "alice", *common)
    assert added.returncode == 0, added.stderr
    new = json.loads(added.stdout)
    assert validate_mnemonic(new["mnemonic"]) == new["mnemonic"]

    listed = voxpop("keys", "list", *common)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{k: v for k, v in new.items() if k != "mnemonic"}]

    missing = voxpop("keys", "show", "ghost", *common)
    assert missing.returncode == 1, missing.stderr
    assert json.loads(missing.stdout)["error"]["code"] == "key_not_found"
