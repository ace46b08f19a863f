"""The outside client: the real `ovos-backend-client` from PyPI, in its own virtualenv.

It pins `ovos-config<1` (it would downgrade the ovos-config our `.venv` uses for OVOS plugins), so
it never goes in `.venv`: `ensure_ovos_venv()` makes `build/ovos-venv` once per machine
(`make ovos-venv` does the same), and `run_ovos()` runs a snippet of Python inside it, with HOME
pointing at a temp dir (its identity file and mycroft.conf live there), and returns the JSON the
snippet prints on its last line.

    result = run_ovos(home, agent_url, '''
        from ovos_backend_client.api import DeviceApi
        emit(DeviceApi(URL).get())
    ''')
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OVOS_VENV = Path(os.environ.get("VOXPOP_OVOS_VENV", REPO / "build" / "ovos-venv"))
OVOS_CLIENT_PIN = "ovos-backend-client==1.0.1"
_MARKER = ".installed-" + OVOS_CLIENT_PIN


class OvosSnippetError(AssertionError):
    """The snippet failed inside the ovos venv (its stderr is in the message)."""


def ovos_python(venv_dir: Path = OVOS_VENV) -> Path:
    return venv_dir / "bin" / "python"


def ensure_ovos_venv(venv_dir: Path = OVOS_VENV) -> Path:
    """The venv's python, creating the venv and installing the pinned client if needed."""
    marker = venv_dir / _MARKER
    if marker.exists():
        return ovos_python(venv_dir)
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    pip = [
        str(ovos_python(venv_dir)),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, OVOS_CLIENT_PIN], check=True)
    marker.write_text(OVOS_CLIENT_PIN + "\n")
    return ovos_python(venv_dir)


_PRELUDE = """
import json, sys
URL = {url!r}
def emit(value):
    sys.stdout.write("\\n" + json.dumps(value, default=repr) + "\\n")
"""


def write_mycroft_conf(home: Path, url: str) -> Path:
    """`~/.config/mycroft/mycroft.conf` pointing the client at the agent (what a device owner
    writes: docs/operations/agent.md)."""
    path = home / ".config" / "mycroft" / "mycroft.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    conf = {"server": {"url": url, "version": "v1", "backend_type": "personal"}}
    path.write_text(json.dumps(conf))
    return path


def _env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TMPDIR": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_ovos(home: Path, url: str, snippet: str, *, timeout: float = 120.0) -> Any:
    """Run `snippet` in the ovos venv as a device whose HOME is `home`, pointed at `url`; the
    JSON it passed to `emit()` last. Raises OvosSnippetError when it fails."""
    python = ensure_ovos_venv()
    home.mkdir(parents=True, exist_ok=True)
    write_mycroft_conf(home, url)
    env = _env(home)
    code = _PRELUDE.format(url=url) + textwrap.dedent(snippet)
    done = subprocess.run(
        [str(python), "-c", code],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise OvosSnippetError(f"ovos snippet failed ({done.returncode}):\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise OvosSnippetError(f"the ovos snippet emitted nothing:\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def spawn_ovos(home: Path, url: str, snippet: str) -> subprocess.Popen[str]:
    """Like run_ovos, without waiting: the test acts while the device runs (e.g. pairing)."""
    python = ensure_ovos_venv()
    home.mkdir(parents=True, exist_ok=True)
    write_mycroft_conf(home, url)
    code = _PRELUDE.format(url=url) + textwrap.dedent(snippet)
    return subprocess.Popen(
        [str(python), "-c", code],
        cwd=home,
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result_of(process: subprocess.Popen[str], timeout: float = 120.0) -> Any:
    """What a spawned snippet emitted last. Raises OvosSnippetError."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise OvosSnippetError(f"the ovos snippet timed out:\n{err[-4000:]}") from None
    if process.returncode != 0:
        raise OvosSnippetError(f"ovos snippet failed ({process.returncode}):\n{err[-4000:]}")
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        raise OvosSnippetError(f"the ovos snippet emitted nothing:\n{err[-2000:]}")
    return json.loads(lines[-1])


def write_identity(home: Path, login: dict[str, Any]) -> Path:
    """The identity file a paired device keeps (what IdentityManager.save writes)."""
    import time

    path = home / ".config" / "mycroft" / "identity" / "identity2.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    identity = {
        "uuid": login["uuid"],
        "access": login["accessToken"],
        "refresh": login["refreshToken"],
        "expires_at": time.time() + login["expiration"],
    }
    path.write_text(json.dumps(identity))
    return path


if __name__ == "__main__":
    # `python tests/agent/ovos_env.py`: make the venv (what `make ovos-venv` runs)
    print(ensure_ovos_venv(Path(sys.argv[1]) if len(sys.argv) > 1 else OVOS_VENV))
