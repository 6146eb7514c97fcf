"""`dagster-daemon run` on the Postgres instance: the sensor, the run queue, a daemon killed with
`kill -9` in the middle of a run, a run whose machine stops (run monitoring and retries), and the
release pool.

Each test first builds the seeds with `unparl build` (a first release), then leaves the rest to
the daemon: no other process launches anything.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import dagster as dg
import pytest

from pipeline.lib.text.ingest import doc_id_for

from .conftest import BIN, REPO, SAMPLES, Instance, unparl_build, wait_for

pytestmark = pytest.mark.production

SENSOR = "new_reports_sensor"
TRIGGER = "unparl/trigger"
RUN_TIMEOUT = 300
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def start_daemon(services, instance: Instance, name: str, **env: str):
    return services([str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
                    instance.env | env, instance.home / f"{name}.log")


class ReleaseWatch:
    """Every value LATEST took while a test waited, each checked to name a complete release."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self.seen: list[str] = []

    def look(self) -> str | None:
        version = self.instance.latest
        if version is not None and (not self.seen or self.seen[-1] != version):
            folder = self.instance.data / "releases" / version
            manifest = json.loads((folder / "manifest.json").read_text())
            assert manifest["version"] == version
            for relpath, entry in manifest["files"].items():
                assert (folder / relpath).stat().st_size == entry["bytes"], f"{version}: {relpath} is incomplete"
            self.seen.append(version)
        return version


def sensor_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return [r.dagster_run for r in instance.get_run_records(filters=dg.RunsFilter(tags={TRIGGER: SENSOR}))]


def event_types(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [e.dagster_event.event_type_value for e in instance.all_logs(run_id) if e.dagster_event]


def doc_ids(manifest: dict) -> set[str]:
    return {entry["doc_id"] for entry in manifest["inputs"]}


def first_build(pg_instance: Instance) -> str:
    unparl_build(pg_instance)
    first = pg_instance.latest
    assert first is not None
    return first


def add_report(pg_instance: Instance, name: str) -> str:
    """Copy a new report into the seeds folder (as a user would); its doc_id."""
    target = pg_instance.seeds / name
    shutil.copy(SAMPLES / name, target)
    return doc_id_for(target)


def test_the_sensor_picks_up_a_new_report_and_the_daemon_queues_launches_and_releases(services, pg_instance):
    first = first_build(pg_instance)
    dagster = pg_instance.dagster()
    try:
        daemon = start_daemon(services, pg_instance, "daemon")
        new = add_report(pg_instance, "A_RES_61_211.operative-part.zh.txt")
        watch = ReleaseWatch(pg_instance)

        def released():
            assert daemon.process.poll() is None, f"dagster-daemon exited:\n{daemon.log()[-4000:]}"
            return watch.look() != first and [r for r in sensor_runs(dagster) if r.status in FINISHED]
        (run,) = wait_for(released, RUN_TIMEOUT, "the sensor's run and a new release", 1)

        assert run.status == dg.DagsterRunStatus.SUCCESS, daemon.log()[-4000:]
        assert run.job_name == "build"
        assert run.tags["dagster/asset_partition_range_start"] == run.tags["dagster/asset_partition_range_end"] == new
        # Queued by the sensor, then taken from the queue and launched by the daemon.
        events = event_types(dagster, run.run_id)
        assert events.index("PIPELINE_ENQUEUED") < events.index("PIPELINE_STARTING") < events.index("PIPELINE_START")
        assert new in dagster.get_dynamic_partitions("documents")

        manifest = pg_instance.manifest()
        assert manifest["previous_version"] == first
        assert doc_ids(manifest) == doc_ids(pg_instance.manifest(first)) | {new}
        assert watch.seen[-1] == pg_instance.latest
    finally:
        dagster.dispose()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def sensor_run_started(daemon, dagster: dg.DagsterInstance, watch: ReleaseWatch) -> dg.DagsterRun:
    """The sensor's run, as soon as it has started (the daemon still up, every LATEST seen whole)."""
    def started():
        assert daemon.process.poll() is None, f"dagster-daemon exited:\n{daemon.log()[-4000:]}"
        watch.look()
        return [r for r in sensor_runs(dagster) if r.status == dg.DagsterRunStatus.STARTED]
    (run,) = wait_for(started, RUN_TIMEOUT, "the sensor's run to start", 0.2)
    return run


def test_a_daemon_killed_in_the_middle_of_a_run_publishes_nothing_half_done(services, pg_instance):
    first = first_build(pg_instance)
    dagster = pg_instance.dagster()
    try:
        daemon = start_daemon(services, pg_instance, "daemon")
        new = add_report(pg_instance, "UN_Charter.zh.txt")
        watch = ReleaseWatch(pg_instance)
        run = sensor_run_started(daemon, dagster, watch)
        os.kill(daemon.process.pid, signal.SIGKILL)
        daemon.process.wait(timeout=10)
        assert dagster.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED, "killed too late"
        assert watch.look() == first

        # The run's own process (started by the daemon's code server) is not the daemon: the run
        # goes on, or run monitoring fails it; either way the restarted daemon finishes the work.
        restarted = start_daemon(services, pg_instance, "daemon-restarted")

        def done():
            assert restarted.process.poll() is None, f"dagster-daemon exited:\n{restarted.log()[-4000:]}"
            watch.look()
            runs = sensor_runs(dagster)
            return (all(r.status in FINISHED for r in runs) and watch.seen[-1] != first
                    and new in doc_ids(pg_instance.manifest()) and runs)
        runs = wait_for(done, RUN_TIMEOUT, "the work of the killed daemon's run to be completed", 1)

        assert dagster.get_run_by_id(run.run_id).status in FINISHED
        assert any(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert all(version == first or new in doc_ids(pg_instance.manifest(version)) for version in watch.seen)
        # Nothing of the killed daemon is left running: its code server ends once its run has.
        wait_for(lambda: not _group_alive(daemon.process.pid), 120,
                 "the killed daemon's code server and run process to exit")
    finally:
        dagster.dispose()


def test_a_run_whose_machine_stops_is_failed_by_run_monitoring_and_retried(services, pg_instance):
    """`kill -9` of the daemon's whole process group (the daemon, its code server and the run's
    own process), as when the machine stops: the default run launcher cannot see the run die, so
    the run stays Started until the time limit its sensor gave it; run monitoring then fails it,
    run_retries retries it, and the retry cuts the release."""
    first = first_build(pg_instance)
    config = pg_instance.home / "dagster.yaml"
    config.write_text(config.read_text().replace("poll_interval_seconds: 60", "poll_interval_seconds: 5"))
    limit = {"UNPARL_RUN_SECONDS_MIN": "150"}
    dagster = pg_instance.dagster()
    try:
        daemon = start_daemon(services, pg_instance, "daemon", **limit)
        new = add_report(pg_instance, "UN_Charter.zh.txt")
        watch = ReleaseWatch(pg_instance)
        run = sensor_run_started(daemon, dagster, watch)
        assert run.tags["dagster/max_runtime"] == "150"
        os.killpg(daemon.process.pid, signal.SIGKILL)
        daemon.process.wait(timeout=10)
        wait_for(lambda: not _group_alive(daemon.process.pid), 30, "the daemon's code server and run process to die")
        assert dagster.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED, "killed too late"
        assert watch.look() == first

        restarted = start_daemon(services, pg_instance, "daemon-restarted", **limit)

        def retried():
            assert restarted.process.poll() is None, f"dagster-daemon exited:\n{restarted.log()[-4000:]}"
            watch.look()
            if dagster.get_run_by_id(run.run_id).status != dg.DagsterRunStatus.FAILURE:
                return None
            retries = dagster.get_runs(filters=dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}))
            return retries if retries and all(r.status in FINISHED for r in retries) else None
        (retry,) = wait_for(retried, RUN_TIMEOUT + 150, "run monitoring to fail the run and its retry to end", 1)

        messages = " ".join(e.message or "" for e in dagster.all_logs(run.run_id))
        assert "maximum runtime of 150 seconds" in messages, messages[-2000:]
        assert retry.status == dg.DagsterRunStatus.SUCCESS, restarted.log()[-4000:]
        assert retry.tags["unparl/trigger"] == SENSOR and retry.tags["dagster/max_runtime"] == "150"
        assert watch.look() != first and new in doc_ids(pg_instance.manifest())
        assert all(version == first or new in doc_ids(pg_instance.manifest(version)) for version in watch.seen)
    finally:
        dagster.dispose()


def _launch(pg_instance: Instance, trigger: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dagster"), "job", "launch", "-w", str(REPO / "workspace.yaml"), "-j", "corpus_release",
         "--tags", json.dumps({TRIGGER: trigger})],
        cwd=REPO, env=pg_instance.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _step_window(dagster: dg.DagsterInstance, run_id: str, step: str) -> tuple[float, float]:
    times = {e.dagster_event.event_type_value: e.timestamp for e in dagster.all_logs(run_id)
             if e.dagster_event and e.dagster_event.step_key == step}
    return times["STEP_START"], times["STEP_SUCCESS"]


def test_two_runs_at_once_cut_one_release_at_a_time(services, pg_instance):
    first_build(pg_instance)
    dagster = pg_instance.dagster()
    try:
        # Sensor and schedule stopped: only the two runs below are in the queue.
        daemon = start_daemon(services, pg_instance, "daemon", UNPARL_AUTOMATION="off")
        launches = [_launch(pg_instance, "pool-a"), _launch(pg_instance, "pool-b")]
        for launch in launches:
            output, _ = launch.communicate(timeout=120)
            assert launch.returncode == 0, output

        def finished():
            assert daemon.process.poll() is None, f"dagster-daemon exited:\n{daemon.log()[-4000:]}"
            runs = [r.dagster_run for r in dagster.get_run_records(
                filters=dg.RunsFilter(tags={TRIGGER: ["pool-a", "pool-b"]}))]
            return len(runs) == 2 and all(r.status in FINISHED for r in runs) and runs
        runs = wait_for(finished, RUN_TIMEOUT, "both runs to finish", 1)
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}, daemon.log()[-4000:]

        # Both were queued and launched by the daemon, and both ran the release step, one after
        # the other: the pool unparl_release has one slot.
        windows = sorted(_step_window(dagster, r.run_id, "release") for r in runs)
        assert windows[0][1] <= windows[1][0], f"the two release steps overlapped: {windows}"
        for run in runs:
            events = event_types(dagster, run.run_id)
            assert events.index("PIPELINE_ENQUEUED") < events.index("PIPELINE_STARTING"), events
    finally:
        dagster.dispose()
