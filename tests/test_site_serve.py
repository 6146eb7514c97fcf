"""`unparl serve`: the data folder's download page and releases over HTTP, read-only, on
127.0.0.1 only; nothing outside the releases (work files, a cut in progress, a path climbing out
of the folder) is served."""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.lib.release.site import write_index
from tests.test_site import make_release

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@contextmanager
def serving(data: Path, port: int = 0) -> Iterator[tuple[subprocess.Popen, int]]:
    """`unparl serve` in a subprocess; yields it and the port it printed."""
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--data", str(data), "--port", str(port)],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        yield process, int(match.group(1))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: never leave a server behind
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("serve") / "data"
    make_release(data, "v2026.12.01", previous=None, documents=["000_report"],
                 added=[{"doc_id": "000_report", "symbol": "A/74/759", "source_sha256": "1" * 64}])
    write_index(data)
    (data / "work").mkdir()
    (data / "work" / "secret.parquet").write_bytes(b"work file")
    (data / "releases" / ".build-x").mkdir()
    (data / "releases" / ".build-x" / "half.parquet").write_bytes(b"half")
    outside = data.parent / "outside.txt"
    outside.write_text("outside the data folder")
    (data / "releases" / "v2026.12.01" / "escape.txt").symlink_to(outside)
    return data


@pytest.fixture(scope="module")
def server(data) -> Iterator[int]:
    with serving(data) as (_, port):
        yield port


def request(port: int, method: str, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        # The path is sent as written: no client-side normalisation of '..'.
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_page_and_a_part_are_served(data, server):
    status, body = request(server, "GET", "/")
    assert status == 200 and body == (data / "index.html").read_bytes()
    part = data / "releases" / "v2026.12.01" / "tokens" / "part-00000.parquet"
    status, body = request(server, "GET", "/releases/v2026.12.01/tokens/part-00000.parquet")
    assert status == 200 and hashlib.sha256(body).hexdigest() == hashlib.sha256(part.read_bytes()).hexdigest()
    assert request(server, "HEAD", "/LATEST")[0] == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_only_get_and_head(data, server, method):
    before = sorted(p.name for p in data.rglob("*"))
    status, _ = request(server, method, "/index.html")
    assert status == 501
    assert sorted(p.name for p in data.rglob("*")) == before


@pytest.mark.parametrize("path", [
    "/../outside.txt", "/releases/../../outside.txt", "/%2e%2e/outside.txt", "/releases/%2e%2e/%2e%2e/outside.txt",
    "/releases/v2026.12.01/escape.txt",  # a link pointing out of the folder
    "/work/secret.parquet", "/releases/../work/secret.parquet",  # work files are not published
    "/releases/.build-x/half.parquet",  # nor a cut in progress
])
def test_nothing_outside_the_releases_is_served(server, path):
    status, body = request(server, "GET", path)
    assert status == 404, (path, body[:200])
    assert b"outside the data folder" not in body and b"work file" not in body and b"half" != body


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port`, from the kernel's table (IPv4)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_bound_to_loopback_only(server):
    assert listening_addresses(server) == {"127.0.0.1"}
    # And so not reachable on the machine's own outward address, when it has one.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # a documentation address: nothing is sent
        outward = probe.getsockname()[0]
    except OSError:
        outward = None
    finally:
        probe.close()
    if outward and outward != "127.0.0.1":
        with pytest.raises(OSError):
            socket.create_connection((outward, server), timeout=2).close()


def test_a_taken_port_or_a_missing_folder_is_a_clear_error(data, server, tmp_path):
    taken = subprocess.run([sys.executable, "-m", "pipeline", "serve", "--data", str(data), "--port", str(server)],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert taken.returncode == 2 and "unparl serve:" in taken.stderr and "in use" in taken.stderr
    missing = subprocess.run([sys.executable, "-m", "pipeline", "serve", "--data", str(tmp_path / "nope"), "--port", "0"],
                             cwd=REPO, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    assert missing.returncode == 2 and "nope: no such data folder" in missing.stderr


def test_before_the_first_cut_the_root_says_so(tmp_path):
    (tmp_path / "releases").mkdir()
    with serving(tmp_path) as (_, port):
        status, body = request(port, "GET", "/")
        assert status == 404 and b"cut a release first" in body
