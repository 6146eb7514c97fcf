"""The production tier's services, started by the test session itself and always stopped.

- `postgres`: a throwaway PostgreSQL cluster on a free port, with TLS on (tests/production/services.py).
- `redis`: a `redis-server` (Debian's `redis-server` package) on a free port, nothing persisted.
- `pg_instance`: a Dagster home whose `dagster.yaml` is the production file, on a fresh database.

Every process is started in its own session and stopped by a finalizer, even when a test fails.
Without the packages the tier is skipped, except in CI (`CI` set), where it fails: `.ci/run`
installs them.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.build import environment
from tests.conftest import copy_seeds

from .services import (START_TIMEOUT, PostgresServer, free_port, postgres_bindir, start_postgres, stop_group,
                       wait_for)

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
SAMPLES = REPO.parent / "shared" / "samples"
CHECK_RELEASE = REPO.parent / "shared" / "tools" / "check_release.py"
POSTGRES_YAML = REPO / "docs" / "production" / "dagster.postgres.yaml"
CELERY_YAML = REPO / "docs" / "production" / "celery.yaml"
BIN = Path(sys.executable).parent


def _missing(what: str) -> None:
    message = f"{what}: install it (`.ci/run` does: apt-get install postgresql redis-server)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    if postgres_bindir() is None or shutil.which("openssl") is None:
        _missing("PostgreSQL (initdb, pg_ctl) or openssl is not installed")
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class RedisServer:
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture(scope="session")
def redis(tmp_path_factory) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server is not installed")
    import redis as redis_client

    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = open(folder / "redis.log", "w")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--daemonize", "no"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def pong():
            if process.poll() is not None:
                raise AssertionError(f"redis-server exited: {(folder / 'redis.log').read_text()}")
            with contextlib.suppress(redis_client.exceptions.ConnectionError):
                return redis_client.Redis(port=port, socket_connect_timeout=1).ping()
        wait_for(pong, START_TIMEOUT, "redis-server to answer PING", 0.2)
        yield RedisServer(process, port)
    finally:
        stop_group(process)
        log.close()


@dataclass
class Instance:
    """A Dagster home on the production config and its own database, with the folders of a build."""
    home: Path
    seeds: Path
    data: Path
    env: dict[str, str]
    database: str

    def dagster(self):
        """A DagsterInstance on this home (the caller disposes it)."""
        import dagster as dg

        with environment(self.env):
            return dg.DagsterInstance.from_config(str(self.home))

    @property
    def latest(self) -> str | None:
        path = self.data / "LATEST"
        return path.read_text().strip() if path.exists() else None

    def manifest(self, version: str | None = None) -> dict:
        version = version or self.latest
        return json.loads((self.data / "releases" / version / "manifest.json").read_text())


def base_env(home: Path, seeds: Path, data: Path) -> dict[str, str]:
    """The environment of a process a user starts: the instance, the folders, the venv first."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DAGSTER_", "UNPARL_", "PYTEST_"))}
    env.update({"DAGSTER_HOME": str(home), "UNPARL_SEEDS_DIR": str(seeds), "UNPARL_DATA_DIR": str(data),
                "PATH": str(BIN) + os.pathsep + os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(REPO),
                "UNPARL_WORKERS": "1"})
    return env


@pytest.fixture
def pg_instance(postgres, tmp_path) -> Instance:
    """A Dagster home whose dagster.yaml is docs/production/dagster.postgres.yaml, on a new database."""
    database = postgres.create_database()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(POSTGRES_YAML, home / "dagster.yaml")
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    env = base_env(home, seeds, data) | postgres.env(database)
    # The tables, created once as the README's step 3 does: processes started together on an empty
    # database (two Celery workers) race to create them, and one fails ("type run_tags already exists").
    created = subprocess.run([str(BIN / "dagster"), "instance", "migrate"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stdout + created.stderr
    return Instance(home, seeds, data, env, database)


@pytest.fixture(scope="session")
def sqlite_build(tmp_path_factory) -> Instance:
    """The seeds built once by `unparl build` on the embedded default (the repo's .dagster.yaml,
    SQLite under the home): the release the other instances and executors must equal. Read only."""
    root = tmp_path_factory.mktemp("sqlite")
    home = root / "sqlite_home"
    home.mkdir()
    shutil.copy(REPO / ".dagster.yaml", home / "dagster.yaml")
    seeds, data = copy_seeds(root / "seeds"), root / "data"
    instance = Instance(home, seeds, data, base_env(home, seeds, data), "")
    unparl_build(instance)
    return instance


def unparl_build(instance: Instance, extra_env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`unparl build` as a user runs it, on the instance's home and folders."""
    result = subprocess.run(
        [str(BIN / "unparl"), "build", "--seeds", str(instance.seeds), "--data", str(instance.data)],
        cwd=REPO, env=instance.env | (extra_env or {}), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"unparl build failed:\n{result.stdout}\n{result.stderr[-6000:]}"
    return result


@dataclass
class Service:
    """A background process started by a test, with its log file."""
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def services():
    """Starts background processes for a test (each in its own session) and stops every one of
    them, and what they started, at the end, whatever happened."""
    started: list[Service] = []
    handles = []

    def start(args: list[str], env: dict, log_path: Path, cwd: Path = REPO) -> Service:
        log = open(log_path, "ab")
        handles.append(log)
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        service = Service(process, log_path)
        started.append(service)
        return service

    try:
        yield start
    finally:
        for service in reversed(started):
            stop_group(service.process)
        for handle in handles:
            handle.close()
