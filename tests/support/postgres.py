"""A throwaway PostgreSQL server (Debian's `postgresql` package) for tests and benchmarks.

    with PostgresServer.start() as server:
        engine = open_index(server.dsn)

`initdb` and `pg_ctl` come from /usr/lib/postgresql/*/bin. initdb refuses to run as root (CI runs
as root): then every server command runs through `runuser -u postgres --`, in a data directory
made under /tmp and owned by postgres (pytest's own temp dirs are private to root). The server
listens on loopback only, on a free port, with fsync off (a test server: its data is thrown away),
and is stopped (immediate mode) and deleted at the end.

The `postgres_dsn` fixture is session-scoped: one server for the whole run. It skips when the
binaries are absent, except in CI (env CI set), where it fails: CI installs them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pytest

from voxpop.client.testing import free_port

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
START_TIMEOUT = 60.0


def find_pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (with initdb), or None."""
    found = sorted(
        (Path(p) for p in glob.glob(PG_BIN_GLOB) if (Path(p) / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


class PostgresError(Exception):
    pass


@dataclass
class PostgresServer:
    root: Path
    port: int
    bin_dir: Path
    as_postgres: bool

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = START_TIMEOUT) -> None:
        command = list(argv)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise PostgresError(f"{argv[0]} failed: {done.stdout!r} {done.stderr!r}")

    @classmethod
    def start(cls, bin_dir: Path | None = None) -> PostgresServer:
        """initdb + pg_ctl start on a free loopback port. Raises PostgresError."""
        bin_dir = bin_dir or find_pg_bin()
        if bin_dir is None:
            raise PostgresError(f"no PostgreSQL server binaries in {PG_BIN_GLOB}")
        as_postgres = os.geteuid() == 0
        root = Path(tempfile.mkdtemp(prefix="voxpop-pg-", dir="/tmp"))
        if as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
        server = cls(root, free_port(), bin_dir, as_postgres)
        try:
            server._run(
                str(bin_dir / "initdb"),
                "-D",
                str(server.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
            options = (
                f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            server._run(
                str(bin_dir / "pg_ctl"),
                "-D",
                str(server.data_dir),
                "-o",
                options,
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
                "start",
            )
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop the server (immediate: its data is thrown away) and delete its directory."""
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(PostgresError, subprocess.TimeoutExpired):
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "stop",
                )
        for _ in range(50):  # the server's last files may still be closing
            try:
                shutil.rmtree(self.root)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its DSN (tests share one server, not one database)."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name: the caller's own identifier
        return self.dsn.rsplit("/", 1)[0] + f"/{name}"

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (skipped without the binaries, outside
    CI only)."""
    if find_pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL server binaries missing in {PG_BIN_GLOB} (CI installs them)")
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN_GLOB}")
    with PostgresServer.start() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """The DSN of the session's throwaway server's default database."""
    return postgres_server.dsn
