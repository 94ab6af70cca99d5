"""A throwaway PostgreSQL cluster on loopback, for the tests of what the docs say works on
PostgreSQL: the tracker store, the console's TRACKER_URL, the Slack installation store.

Debian's `postgresql` package puts the server binaries in /usr/lib/postgresql/<major>/bin,
off PATH. The cluster lives in a temporary folder of its own (not pytest's, which only root
may enter), is run as an unprivileged user because PostgreSQL refuses root, listens on
127.0.0.1 only, and asks for a password over TCP, so the tests pass credentials the way a
deployment does. Nothing is synced to disk: a test run loses nothing it needs to keep.

`postgres` is a session fixture (registered in tests/conftest.py); each test makes its own
database with `create_database`, so tests never see each other's rows.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.stack import free_port

BIN_GLOB = "/usr/lib/postgresql/*/bin"
MISSING = (
    "PostgreSQL is not installed: these tests start their own server on loopback "
    "(apt-get install postgresql; .ci/run does this)"
)


def bin_dir() -> Path | None:
    """The newest installed major version's server binaries, or pg_ctl's folder on PATH."""
    found = [Path(d) for d in glob.glob(BIN_GLOB) if (Path(d) / "postgres").is_file()]
    if found:
        return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    on_path = shutil.which("pg_ctl")
    if on_path and (Path(on_path).parent / "postgres").is_file():
        return Path(on_path).parent
    return None


def require_postgres() -> Path:
    """A missing service is an error, never a skip: CI must not pass without these tests."""
    found = bin_dir()
    if found is None or not (found / "initdb").is_file():
        pytest.fail(MISSING, pytrace=False)
    return found


def _unprivileged_user() -> pwd.struct_passwd | None:
    """None when already unprivileged; else Debian's `postgres` account, or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists")


@dataclass
class PostgresServer:
    bin: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    user: str = "nimbus"
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    root: Path | None = None
    process: subprocess.Popen | None = None

    def url(self, database: str = "postgres", scheme: str = "postgresql") -> str:
        return f"{scheme}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def _as_owner(self) -> dict:
        account = _unprivileged_user()
        if account is None:
            return {}
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def start(self, timeout: float = 30) -> PostgresServer:
        self.root = Path(tempfile.mkdtemp(prefix="nimbus-pg-"))
        data, log = self.root / "data", self.root / "server.log"
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        owner = _unprivileged_user()
        if owner is not None:
            for path in (self.root, password_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(self.root)}
        initdb = subprocess.run(
            [
                str(self.bin / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                self.user,
                "--pwfile",
                str(password_file),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            timeout=120,
            **self._as_owner(),
        )
        if initdb.returncode != 0:
            self._remove()
            raise RuntimeError(f"initdb failed (exit {initdb.returncode}): {initdb.stderr.strip()[-2000:]}")
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-c",
                    f"listen_addresses={self.host}",
                    "-c",
                    f"unix_socket_directories={self.root}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=50",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
                start_new_session=True,
                **self._as_owner(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                detail = log.read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"postgres exited at start (exit {self.process.returncode}): {detail}")
            if self.ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"postgres did not accept connections on port {self.port} within {timeout:.0f} s")

    def ready(self) -> bool:
        """pg_isready, not a bare TCP connect: a starting server accepts TCP but refuses logins."""
        probe = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port), "-t", "1"],
            capture_output=True,
        )
        return probe.returncode == 0

    def create_database(self, name: str) -> str:
        """A fresh database; returns its URL."""
        subprocess.run(
            [str(self.bin / "createdb"), "-h", self.host, "-p", str(self.port), "-U", self.user, name],
            check=True,
            capture_output=True,
            env={**os.environ, "PGPASSWORD": self.password},
            timeout=30,
        )
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: end sessions, no waiting
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._remove()

    def _remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(require_postgres()).start()
    try:
        yield server
    finally:
        server.stop()
