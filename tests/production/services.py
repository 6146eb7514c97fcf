"""The services the production tier and the Postgres benchmark start: a throwaway PostgreSQL
cluster (Debian's `postgresql` package: `initdb` and `pg_ctl`) in a temporary folder on a free
port of 127.0.0.1, with TLS on (a self-signed certificate), so that
`docs/production/dagster.postgres.yaml` is used exactly as users get it (`sslmode: require`).
`initdb` refuses to run as root: as root the cluster runs as the `postgres` system user.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_USER = "unparl"
START_TIMEOUT = 60


def free_port() -> int:
    """A port the kernel has just handed out as free on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL's binaries (Debian keeps them out of PATH, per major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def stop_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process started with start_new_session and everything it started: SIGTERM, then
    SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
            break
        except subprocess.TimeoutExpired:
            continue
    # Children that outlived their leader still carry its group id.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class PostgresServer:
    """One throwaway cluster: TLS on, a password user, one database per test."""
    bindir: Path
    root: Path
    port: int
    password: str
    run_as: tuple[int, int] | None  # uid, gid of the server's user when started as root
    databases: list[str] = field(default_factory=list)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        user = {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []} if self.run_as else {}
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "LANG": "C", "HOME": str(self.root)}
        return subprocess.run(args, env=env, cwd=self.root, capture_output=True, text=True, timeout=120,
                              check=True, **user, **kwargs)

    def env(self, database: str) -> dict[str, str]:
        """The variables docs/production/dagster.postgres.yaml reads."""
        return {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_DB": database,
                "DAGSTER_PG_USERNAME": PG_USER, "DAGSTER_PG_PASSWORD": self.password}

    def connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, dbname=database, user=PG_USER,
                                password=self.password, sslmode="require")

    def create_database(self, prefix: str = "dagster") -> str:
        name = f"{prefix}_{len(self.databases)}_{secrets.token_hex(3)}"
        connection = self.connect()
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        self.databases.append(name)
        return name

    def start(self, fsync: bool = False) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "pwfile").write_text(self.password + "\n")
        (self.root / "sockets").mkdir()
        if self.run_as:
            for path in (self.root, self.root / "pwfile", self.root / "sockets"):
                os.chown(path, *self.run_as)
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", PG_USER, "--pwfile",
                  str(self.root / "pwfile"), "--auth=scram-sha-256", "-E", "UTF8", "--no-locale")
        # A self-signed certificate: the production file asks for `sslmode: require`.
        self._run("openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=127.0.0.1",
                  "-keyout", str(self.datadir / "server.key"), "-out", str(self.datadir / "server.crt"))
        os.chmod(self.datadir / "server.key", 0o600)
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root / 'sockets'} -c ssl=on "
                   f"-c max_connections=300")
        if not fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", str(START_TIMEOUT), "start")

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30",
                          "stop")
            except (subprocess.SubprocessError, OSError):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def start_postgres(fsync: bool = False) -> PostgresServer:
    """A started cluster (the caller stops it). `fsync=False` trades durability, which a throwaway
    cluster does not need, for speed."""
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL's initdb was not found (Debian package `postgresql`)")
    run_as = None
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")  # created by Debian's package
        run_as = (user.pw_uid, user.pw_gid)
    # Not under pytest's own temporary folder: that one is private to root, the server's user
    # could not enter it.
    root = Path(tempfile.mkdtemp(prefix="unparl-pg-"))
    server = PostgresServer(bindir, root, free_port(), secrets.token_urlsafe(16), run_as)
    try:
        server.start(fsync)
    except BaseException:
        log = server.log()
        server.stop()
        sys.stderr.write(log[-4000:])
        raise
    return server
