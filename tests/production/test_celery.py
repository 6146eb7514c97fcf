"""A build of the seeds whose steps run on Celery workers (dagster-celery's executor, a Redis broker), on the
Postgres instance: the workers are separate processes started here, the steps hand their work to
each other only through the data folder, and the release equals the one an in-process build on
SQLite cuts."""
from __future__ import annotations

import os
import re

import dagster as dg
import pytest

from .conftest import BIN, CELERY_YAML, unparl_build, wait_for

pytestmark = pytest.mark.production

WORKERS = 2


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_a_build_on_celery_workers_gives_the_release_an_in_process_build_gives(
        services, redis, pg_instance, sqlite_build):
    celery = {"UNPARL_EXECUTOR": "celery", "UNPARL_CELERY_BROKER": redis.url, "UNPARL_CELERY_BACKEND": redis.url}
    env = pg_instance.env | celery
    workers = [services([str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                         "-y", str(CELERY_YAML), "-n", f"unparl{i}", "--", "--pool=solo"],
                        env, pg_instance.home / f"worker{i}.log") for i in range(WORKERS)]

    def ready():
        for worker in workers:
            assert worker.process.poll() is None, f"a Celery worker exited:\n{worker.log()[-4000:]}"
        return all(re.search(r"unparl\d@\S+ ready\.", worker.log()) for worker in workers)
    wait_for(ready, 90, "the Celery workers to be ready")

    unparl_build(pg_instance, celery)
    assert pg_instance.manifest()["content_hash"] == sqlite_build.manifest()["content_hash"]
    assert pg_instance.manifest()["tables"] == sqlite_build.manifest()["tables"]

    dagster = pg_instance.dagster()
    try:
        runs = [r.dagster_run for r in dagster.get_run_records()]
        assert runs and {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        steps = [e for run in runs for e in dagster.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)]
        executed = {e.step_key for e in steps}
        assert {"document_stages", "release"} <= executed, executed
        # Every step ran in a worker's process, none in the build's own.
        build_pids = {int(run.tags["unparl/pid"]) for run in runs}
        worker_groups = {worker.process.pid for worker in workers}
        for event in steps:
            pid = event.dagster_event.pid
            assert pid not in build_pids, f"{event.step_key} ran in the build's process"
            assert _pgid(pid) in worker_groups, f"{event.step_key} ran in process {pid}, not a worker's"
    finally:
        dagster.dispose()
    logs = "".join(worker.log() for worker in workers)
    assert len(re.findall(r"Task execute_plan\[[^\]]+\] succeeded", logs)) == len(steps)
