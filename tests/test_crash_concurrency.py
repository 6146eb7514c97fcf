"""A build killed while it writes a release, two builds at once, and reproducible bytes.

The builds here are the real thing: `python -m pipeline build` in subprocesses (what
`make run` calls), or pipeline.build.build in this process, on folders under tmp_path.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from pipeline.lib.release.cut import latest_release
from pipeline.lib.release.verify import checksums_match
from conftest import LETTER, copy_seeds

# Builds through Dagster, in this process and in subprocesses: the integration tier.
pytestmark = pytest.mark.slow

TIMEOUT = 180


@dataclass
class Folders:
    seeds: Path
    data: Path

    @property
    def latest(self) -> str:
        return (self.data / "LATEST").read_text().strip()

    def visible_releases(self) -> list[str]:
        return sorted(p.name for p in (self.data / "releases").iterdir() if not p.name.startswith("."))

    def hidden_releases(self) -> list[str]:
        return sorted(p.name for p in (self.data / "releases").iterdir() if p.name.startswith("."))


def build_here(folders: Folders):
    from pipeline.build import build

    with dg.DagsterInstance.ephemeral() as instance:
        return build(folders.seeds, folders.data, instance=instance)


def build_command(folders: Folders, home: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(home), "UNPARL_WORKERS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "build", "--seeds", str(folders.seeds), "--data", str(folders.data)],
        env=env, cwd=home.parent, stdout=log.open("w"), stderr=subprocess.STDOUT)


def assert_complete(data: Path) -> Path:
    """LATEST names a release whose every file is there with the manifest's checksum."""
    release = latest_release(data)
    assert release is not None, "LATEST names no complete release"
    passed, details = checksums_match(release)
    assert passed, details
    return release


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Folders:
    """The seeds built once, in this process: the state the other tests start from or compare with."""
    root = tmp_path_factory.mktemp("reference")
    folders = Folders(copy_seeds(root / "seeds"), root / "data")
    build_here(folders)
    return folders


def test_a_build_killed_while_writing_a_release_leaves_latest_alone(tmp_path, reference):
    folders = Folders(copy_seeds(tmp_path / "seeds"), tmp_path / "data")
    shutil.copytree(reference.data, folders.data)
    (folders.seeds / "002_letter.txt").write_text(LETTER, "utf-8")  # new data: a new release is due
    before_latest, before_visible = folders.latest, folders.visible_releases()
    home = tmp_path / "home"
    home.mkdir()

    process = build_command(folders, home, tmp_path / "killed.log")
    releases = folders.data / "releases"
    killed_in = None
    deadline = time.monotonic() + TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        building = [p for p in releases.iterdir() if p.name.startswith(".build-") and p.is_dir()]
        if building and any(building[0].iterdir()):
            os.kill(process.pid, signal.SIGKILL)
            killed_in = building[0].name
            break
        time.sleep(0.002)
    process.wait(timeout=30)
    log = (tmp_path / "killed.log").read_text()
    assert killed_in is not None, f"the build ended before it wrote a release:\n{log[-3000:]}"
    assert process.returncode == -signal.SIGKILL

    # Nothing half-written is visible, and LATEST still names the old, complete release.
    assert folders.visible_releases() == before_visible
    assert folders.latest == before_latest
    assert assert_complete(folders.data).name == before_latest
    assert killed_in in folders.hidden_releases()  # the dead writer's folder, hidden

    # The next run completes normally and clears what the dead one left.
    report = build_here(folders)
    assert report.release["created"] is True
    assert folders.latest == f"{before_latest}.2"
    assert assert_complete(folders.data).name == folders.latest
    assert not [n for n in folders.hidden_releases() if n.startswith((".build-", ".archive-"))]
    assert sorted(folders.visible_releases()) == sorted(before_visible + [
        folders.latest, f"unparl-{folders.latest}.zip", f"unparl-{folders.latest}.zip.sha256"])


def test_two_builds_at_once_on_one_data_folder(tmp_path, reference):
    folders = Folders(copy_seeds(tmp_path / "seeds"), tmp_path / "data")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # One instance for both, as two `make run` share .dagster_home; created before they start.
    subprocess.run([sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().dispose()"],
                   env={**os.environ, "DAGSTER_HOME": str(home)}, check=True, timeout=TIMEOUT)

    seen, broken = set(), []
    done = threading.Event()

    def watch_latest():
        while not done.is_set():
            latest = folders.data / "LATEST"
            if latest.exists():
                name = latest.read_text().strip()
                if name not in seen:
                    seen.add(name)
                    release = latest_release(folders.data)
                    if release is None or not checksums_match(release)[0]:
                        broken.append(name)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch_latest)
    watcher.start()
    try:
        processes = [build_command(folders, home, tmp_path / f"build{i}.log") for i in (1, 2)]
        codes = [p.wait(timeout=TIMEOUT) for p in processes]
    finally:
        done.set()
        watcher.join()
    logs = "\n".join((tmp_path / f"build{i}.log").read_text()[-2000:] for i in (1, 2))
    assert codes == [0, 0], logs
    assert not broken, f"LATEST named an incomplete release: {broken}"

    # One release: the second builder found the same data and cut nothing new.
    release = assert_complete(folders.data)
    assert [n for n in folders.visible_releases() if not n.startswith("unparl-")] == [release.name]
    assert not [n for n in folders.hidden_releases() if n.startswith((".build-", ".archive-"))]
    assert "no new release" in logs or logs.count("(first release)") == 1

    # Same inputs, same bytes: every data file equals the one the reference build wrote.
    reference_release = assert_complete(reference.data)
    assert reference_release.name == release.name, "the two builds straddled midnight; rerun"
    data_files = sorted(p.relative_to(reference_release).as_posix() for p in reference_release.rglob("*")
                        if p.suffix in (".parquet", ".jsonl", ".conllu"))
    assert len(data_files) >= 10 and "tokens/part-00000.parquet" in data_files
    for name in data_files + ["statistics.json"]:
        assert (release / name).read_bytes() == (reference_release / name).read_bytes(), name
