"""What a dead or unprivileged process leaves behind: a build killed with `kill -9` (or by the
OOM killer) must not leave its worker pool running or its runs shown as running for ever, and
the sensor must not stop on a file it may not read (issue 14, items 5 and 7)."""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from pipeline import build as build_module
from pipeline.lib.text.ingest import doc_id_for
from conftest import LETTER, REPO, REPORT_FILE, copy_seeds

GONE_WITHIN = 10  # seconds a dead owner's pool may take to go


# --- processes, from /proc ----------------------------------------------------------------------

def proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from the state on (state, ppid, ..., start time at [19]), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def parent_of(pid: int) -> int:
    return int(proc_stat(pid)[1])


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) and int(stat[1]) == pid:
            found.add(int(entry.name))
    return found


class Processes:
    """Processes remembered by pid and start time, so a pid given to a later process is not
    taken for the one that had it. A zombie (exited, not yet reaped: this sandbox's init does not
    reap) counts as gone."""

    def __init__(self, pids):
        self.started = {pid: proc_stat(pid)[19] for pid in pids}

    def running(self) -> set[int]:
        return {pid for pid, start in self.started.items()
                if (stat := proc_stat(pid)) and stat[19] == start and stat[0] not in ("Z", "X")}

    def wait_gone(self, seconds: float) -> set[int]:
        deadline = time.monotonic() + seconds
        while (alive := self.running()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return alive

    def kill_survivors(self) -> None:
        """A failed test must not leave ~740 MB of orphans behind."""
        for pid in self.running():
            os.kill(pid, signal.SIGKILL)


def letters(folder: Path, count: int) -> None:
    """Distinct documents (copies would be set aside as duplicates, not built)."""
    for i in range(count):
        (folder / f"letter_{i:02}.txt").write_text(f"{LETTER}\n第{i}号信。\n", "utf-8")


def read_line(process: subprocess.Popen, seconds: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, f"no answer from the subprocess within {seconds} s"
    return process.stdout.readline()


# --- 5. a killed owner's worker pool ------------------------------------------------------------

OWNER = """
import time
from pipeline.lib import runner
runner.start(2, "jieba")
print(" ".join(str(pid) for pid in runner.pool(2, "jieba")._processes), flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_a_killed_owners_pool_exits_within_seconds():
    owner = subprocess.Popen([sys.executable, "-c", OWNER], cwd=REPO, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    pool = Processes([])
    try:
        workers = [int(pid) for pid in read_line(owner, 120).split()]
        assert len(workers) == 2
        fork_servers = {parent_of(pid) for pid in workers}
        assert owner.pid not in fork_servers  # the workers are the fork server's children, not the owner's
        # The fork server, the resource tracker and the workers: all the owner started.
        pool = Processes([*workers, *fork_servers, *children_of(owner.pid)])
        assert len(pool.started) >= 4

        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)

        assert pool.wait_gone(GONE_WITHIN) == set(), "the pool outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        pool.kill_survivors()


@pytest.mark.slow
def test_a_pool_works_while_its_owner_lives(tmp_path):
    """The watch on the owner does not end a worker whose owner is alive: a batch big enough for
    the pool is built on it, in this process, and the workers are still there afterwards."""
    from pipeline.lib import runner
    from pipeline.lib.text import tokens

    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    letters(seeds, runner.MIN_BATCH)
    keys = [doc_id_for(p) for p in sorted(seeds.iterdir())]
    outcomes = runner.run_documents(keys, ("documents",), data_dir=data, seeds_dir=seeds, workers=2)
    assert {o["documents"].status for o in outcomes.values()} == {"ok"}
    workers = Processes(runner.pool(2, tokens.current_backend())._processes)
    time.sleep(1.5)  # longer than a watch that wrongly took a live owner for dead would need
    assert workers.running() == set(workers.started)


@pytest.mark.slow
def test_a_worker_that_dies_on_one_document_sets_aside_that_document_only(tmp_path):
    """A worker killed under a document (a segfault in native code, the OOM killer) breaks the
    pool: the document is set aside with the reason, and the batch's others are all built."""
    from pipeline.lib import runner
    from crashing_stage import run_or_crash

    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    letters(seeds, runner.MIN_BATCH)
    (seeds / "crash_me.txt").write_text(f"{LETTER}\n坏信。\n", "utf-8")
    keys = [doc_id_for(p) for p in sorted(seeds.iterdir())]
    outcomes = runner.run_documents(keys, data_dir=data, seeds_dir=seeds, workers=2, run=run_or_crash)
    crashed = outcomes.pop("crash_me")
    assert crashed["documents"].status == "failed" and crashed["documents"].reason == "internal_error"
    assert "crash_me.txt" in crashed["documents"].detail and "process reading it died" in crashed["documents"].detail
    assert {o.status for o in crashed.values()} <= {"failed", "quarantined", "ok"}
    assert {o[stage].status for o in outcomes.values() for stage in o} == {"ok"}
    assert all(o["entities"].rows["entities"] > 0 for o in outcomes.values())


@pytest.mark.slow
def test_a_pdf_is_read_in_a_worker_however_few_the_documents(tmp_path):
    """A PDF's reader is native code: even in a batch of two, its crash takes a worker, not the
    build, and the other document is built."""
    from pipeline.lib import runner
    from crashing_stage import run_or_crash

    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    letters(seeds, 1)
    pdf = seeds / "crash_me.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + b"0" * 4096 + b"\n%%EOF\n")
    keys = [doc_id_for(p) for p in sorted(seeds.iterdir())]
    outcomes = runner.run_documents(keys, ("documents",), data_dir=data, seeds_dir=seeds, workers=1,
                                    run=run_or_crash)
    crashed = outcomes[doc_id_for(pdf)]["documents"]
    assert crashed.status == "failed" and crashed.detail.startswith("crash_me.pdf: ")
    assert outcomes["letter_00"]["documents"].status == "ok"


def _batch_in_a_daemon(seeds: Path, data: Path, answers) -> None:
    from pipeline.lib import runner

    keys = [doc_id_for(p) for p in sorted(seeds.iterdir())]
    outcomes = runner.run_documents(keys, ("documents",), data_dir=data, seeds_dir=seeds, workers=2)
    answers.put(sorted(o["documents"].status for o in outcomes.values()))


@pytest.mark.slow
def test_a_daemonic_process_builds_a_batch_without_a_pool(tmp_path):
    """A daemonic process may not start workers: a batch big enough for the pool, PDF included,
    is built in that process instead of failing."""
    import multiprocessing

    from pipeline.lib import runner

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    letters(seeds, runner.MIN_BATCH)
    (seeds / "scan.pdf").write_bytes(b"%PDF-1.7\n" + b"0" * 4096 + b"\n%%EOF\n")
    context = multiprocessing.get_context("forkserver")
    answers = context.Queue()
    daemon = context.Process(target=_batch_in_a_daemon, args=(seeds, tmp_path / "data", answers), daemon=True)
    daemon.start()
    statuses = answers.get(timeout=120)
    daemon.join(30)
    assert daemon.exitcode == 0
    assert statuses == ["ok"] * runner.MIN_BATCH + ["quarantined"]  # the PDF has no text layer: read, set aside


# --- a killed build's runs ---------------------------------------------------------------------

@dg.op
def nothing() -> None:
    pass


@dg.job
def tiny():
    nothing()


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def zombie() -> subprocess.Popen:
    """A process that has exited and that its parent (this test) has not reaped yet."""
    process = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while proc_stat(process.pid)[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc_stat(process.pid)[0] == "Z"
    return process


def started_run(instance, tags: dict, parent: str | None = None) -> str:
    return instance.create_run_for_job(tiny, tags=tags, status=dg.DagsterRunStatus.STARTED,
                                       parent_run_id=parent, root_run_id=parent).run_id


def status(instance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def test_runs_of_a_killed_build_are_marked_failed_by_the_next(instance):
    ours = build_module.run_tags()  # what a build's runs carry: its pid, start time and host
    assert ours[build_module.PID_TAG] == str(os.getpid())
    waiting = zombie()
    try:
        dead = {
            "pid gone": started_run(instance, {**ours, build_module.PID_TAG: str(dead_pid())}),
            "pid now another process's": started_run(instance, {**ours, build_module.PID_START_TAG: "1"}),
            "killed, not yet reaped": started_run(instance, {**ours, build_module.PID_TAG: str(waiting.pid)}),
        }
        alive = {
            "this process's": started_run(instance, ours),
            "another host's": started_run(instance, {**ours, build_module.PID_TAG: str(dead_pid()),
                                                     build_module.HOST_TAG: "elsewhere.example"}),
            "not a build's": started_run(instance, {**ours, build_module.PID_TAG: str(dead_pid()),
                                                    build_module.TRIGGER_TAG: "new_reports_sensor"}),
            # Re-executed from the UI (or retried by the daemon): the parent's tags, another process.
            "a re-execution's": started_run(instance, {**ours, build_module.PID_TAG: str(dead_pid())},
                                            parent=dead["pid gone"]),
        }
        marked = build_module.fail_abandoned_runs(instance)
    finally:
        waiting.wait()

    assert sorted(marked) == sorted(dead.values())
    for case, run_id in dead.items():
        assert status(instance, run_id) == dg.DagsterRunStatus.FAILURE, case
        (failure,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert "build process" in failure.message and "died" in failure.message, case
    for case, run_id in alive.items():
        assert status(instance, run_id) == dg.DagsterRunStatus.STARTED, case
    assert build_module.fail_abandoned_runs(instance) == []  # once


@pytest.mark.slow
def test_a_build_killed_mid_run_leaves_no_pool_and_its_run_is_failed_by_the_next(tmp_path, monkeypatch):
    """The real thing: `python -m pipeline build` on a pool of two workers, killed with -9 while
    its run is going; then a build in this process on the same instance."""
    seeds, data, home = copy_seeds(tmp_path / "seeds"), tmp_path / "data", tmp_path / "home"
    letters(seeds, 12)  # a batch for the pool (runner.MIN_BATCH or more)
    home.mkdir()
    shutil.copy(REPO / ".dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "UNPARL_WORKERS": "2", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "build", "--seeds", str(seeds), "--data", str(data)],
                               cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pool = Processes([])
    try:
        deadline = time.monotonic() + 180
        workers: set[int] = set()
        while process.poll() is None and time.monotonic() < deadline:
            servers = {pid for pid in children_of(process.pid) if b"forkserver" in _cmdline(pid)}
            workers = {w for s in servers for w in children_of(s)}
            if len(workers) == 2:
                break
            time.sleep(0.05)
        assert len(workers) == 2, "the build ended before its pool started"
        pool = Processes([*workers, *children_of(process.pid)])
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert pool.wait_gone(GONE_WITHIN) == set(), "the pool outlived the build"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        pool.kill_survivors()

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        (killed,) = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        report = build_module.build(seeds, data, instance=instance)
        assert report.abandoned == [killed.run_id]
        assert status(instance, killed.run_id) == dg.DagsterRunStatus.FAILURE
        assert not instance.get_runs(filters=dg.RunsFilter(statuses=list(build_module.UNFINISHED)))
        assert report.release["created"] is True


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_new_instance_has_run_monitoring(tmp_path, monkeypatch):
    """The daemon fails a run it launched that never starts. `unparl build` makes a new instance
    from the repo's template (as `make` does), which Dagster validates here."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = build_module.ensure_instance_home(tmp_path / "unused")
    assert (home / "dagster.yaml").read_text() == (REPO / ".dagster.yaml").read_text()
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled
        assert "MONITORING" in instance.get_required_daemon_types()


# --- 7. the sensor and a file it may not read ---------------------------------------------------

SENSOR = """
import json, sys
from pathlib import Path
import dagster as dg
from pipeline.defs.documents.sensors import new_reports_sensor
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import runner

seeds, data, locked = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
try:
    (seeds / locked).read_bytes()
    readable = True
except PermissionError:
    readable = False
settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
ticks = []
with dg.instance_for_test() as instance:
    cursor = None
    for _ in range(2):  # a file first seen waits one look (it may still be being written)
        result = new_reports_sensor(dg.build_sensor_context(instance=instance, cursor=cursor,
                                                            resources={"settings": settings}))
        cursor = result.cursor
        ticks.append({"runs": [{"job": r.job_name, "tags": r.tags} for r in result.run_requests],
                      "added": [k for p in result.dynamic_partitions_requests for k in p.partition_keys]})
doc_id = sys.argv[4]
outcome = runner.run_documents([doc_id], ("documents",), data_dir=data, seeds_dir=seeds)[doc_id]["documents"]
print(json.dumps({"readable": readable, "ticks": ticks, "status": outcome.status, "reason": outcome.reason,
                  "detail": outcome.detail}))
"""

# As root, reading is refused only without the capabilities that override file permissions.
NO_DAC = ["setpriv", "--inh-caps", "-dac_override,-dac_read_search",
          "--bounding-set", "-dac_override,-dac_read_search"]


@pytest.mark.slow
def test_the_sensor_adds_an_unreadable_file_for_the_chain_to_set_aside(tmp_path):
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("as root, a file can be made unreadable only by dropping capabilities (setpriv)")
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    shutil.copy(REPORT_FILE, seeds / REPORT_FILE.name)
    locked = seeds / "locked.txt"
    locked.write_text(LETTER, "utf-8")
    locked.chmod(0)
    doc_id = doc_id_for(locked)
    prefix = NO_DAC if os.geteuid() == 0 else []
    done = subprocess.run([*prefix, sys.executable, "-c", SENSOR, str(seeds), str(data), locked.name, doc_id],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["readable"] is False  # the test's premise

    first, second = seen["ticks"]
    assert first["runs"] == []  # both files wait one look
    assert sorted(second["added"]) == sorted([doc_id, doc_id_for(REPORT_FILE)])
    (run,) = second["runs"]
    order = second["added"]  # the partitions in the order they are added
    span = order[order.index(run["tags"]["dagster/asset_partition_range_start"]):
                 order.index(run["tags"]["dagster/asset_partition_range_end"]) + 1]
    assert doc_id in span and run["job"] == "build"

    # The run's chain then sets it aside, as the build does.
    assert (seen["status"], seen["reason"]) == ("quarantined", "unreadable")
    assert locked.name in seen["detail"]
