"""`unparl build`'s work: plan what changed in the seeds folder, then run the definitions' own
jobs on the configured instance, in this process.

The runs are made the way the UI makes them: from the code location `unparl` (workspace.yaml),
so they name their job and location and can be re-executed from the UI. Only documents whose
bytes, sidecar or stages' code changed are processed (only the stages that must run again);
the corpus assets then rebuild the release, which is cut only when its data differ from LATEST's.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._utils.hosted_user_process import recon_job_from_origin

try:  # not public API: Dagster 1.13's way to name the state storage for a definitions load
    from dagster._core.storage.defs_state.base import set_defs_state_storage
except ImportError:  # pragma: no cover - another Dagster version: the default lookup
    def set_defs_state_storage(storage):
        return contextlib.nullcontext()

from pipeline.defs.jobs import CORPUS_ASSETS
from pipeline.defs.partitions import documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import planning
from pipeline.lib.text import tokens
from pipeline.lib.text.ingest import DEFAULT_MAX_BYTES
from pipeline.lib.runner import WORKERS_ENV
from pipeline.lib.workdir import remove_work

REPO = Path(__file__).resolve().parents[1]
LOCATION = "unparl"  # workspace.yaml's location_name and [tool.dg.project] code_location_name
# Before a run starts, Dagster records a "planned" event per partition and asset: 3 a document,
# about 10 ms each on SQLite. From this many partitions a run records one per asset instead
# (Dagster's opt-in, PLANNED_EVENTS_ENV). The price: the UI's partitions bar shows that run's
# partitions neither in progress nor, if it fails, failed; the run's page shows both, and a
# failed run's documents are not stamped as done, so the next build redoes them. Smaller runs
# (a new report) keep the default; a value the user has set is always kept.
MANY_PARTITIONS = 20
PLANNED_EVENTS_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# Step events stay in the instance (and the UI); the terminal shows warnings and errors only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# A build's runs name the process that runs them, so that the next build can tell a run whose
# process was killed (kill -9, the OOM killer, a closed terminal) from one still running.
TRIGGER_TAG, PID_TAG, PID_START_TAG, HOST_TAG = "unparl/trigger", "unparl/pid", "unparl/pid_start", "unparl/host"
UNFINISHED = (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    release: dict = field(default_factory=dict)
    summary: str = ""
    abandoned: list[str] = field(default_factory=list)  # runs of killed builds, marked failed now


def build(seeds_dir: Path, data_dir: Path, instance: dg.DagsterInstance | None = None,
          resources: dict | None = None) -> BuildReport:
    """Plan and run. `resources` may give the settings resource (its values reach the runs the
    way the UI's do: through the UNPARL_* variables the definitions read)."""
    if not Path(seeds_dir).is_dir():
        raise SystemExit(f"seeds folder {Path(seeds_dir).resolve()} does not exist")
    seeds_dir, data_dir = Path(seeds_dir).resolve(), Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = (resources or {}).get("settings") or UnparlSettings(seeds_dir=str(seeds_dir), data_dir=str(data_dir))
    instance = instance or dg.DagsterInstance.get()
    # Dagster looks up the definitions' state storage in a context variable that entering an
    # instance sets; an instance entered and dropped elsewhere in this process (a test's, an
    # executor's) can leave it naming a storage whose instance is gone. Name this one's.
    with set_defs_state_storage(instance.defs_state_storage), _settings_env(settings):
        return _build(settings, instance)


def _build(settings: UnparlSettings, instance: dg.DagsterInstance) -> BuildReport:
    seeds_dir, data_dir = settings.seeds_path, settings.data_path
    abandoned = fail_abandoned_runs(instance)
    known = instance.get_dynamic_partitions(documents_partitions.name)
    plan = planning.plan(seeds_dir, data_dir, known=set(known), settings=settings.stamp_settings)
    report = BuildReport(added=plan.added, removed=plan.removed, summary=plan.summary(), abandoned=abandoned)
    if plan.added:
        instance.add_dynamic_partitions(documents_partitions.name, plan.added)
    for key in plan.removed:
        instance.delete_dynamic_partition(documents_partitions.name, key)
        remove_work(data_dir, key)
    order = instance.get_dynamic_partitions(documents_partitions.name)
    report.processed = [k for k in order if k in plan.stages]
    with _code_location(instance) as location:
        for spec in planning.runs(plan, order, one_run=False):
            result = _execute(location, instance, spec)
            report.runs.append(result.run_id)
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == "release":
            report.release = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    return report


def run_tags() -> dict[str, str]:
    """The tags of a run this process creates: who triggered it, and which process on which host
    runs it (see fail_abandoned_runs)."""
    tags = {TRIGGER_TAG: "build", PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = _process_start(os.getpid())
    if started is not None:
        tags[PID_START_TAG] = started
    return tags


def fail_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs of earlier builds on this host whose process is gone.

    A build runs its runs in its own process; killed (kill -9, the OOM killer), it cannot record
    their end, and the UI would show them running for ever. Dagster's run monitoring cannot tell
    either: with the default run launcher it only fails runs that never start. Returns the runs
    marked failed."""
    host = socket.gethostname()
    records = instance.get_run_records(filters=dg.RunsFilter(
        statuses=list(UNFINISHED), tags={TRIGGER_TAG: "build", HOST_TAG: host}))
    failed = []
    for record in records:
        run = record.dagster_run
        if run.parent_run_id is not None:
            continue  # a re-execution or retry (UI, daemon): it inherits the tags, not the process
        try:
            pid = int(run.tags[PID_TAG])
        except (KeyError, ValueError):
            continue  # not ours to judge
        if _process_alive(pid, run.tags.get(PID_START_TAG)):
            continue
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status not in UNFINISHED:
            continue  # finished meanwhile (another build marked it)
        instance.report_run_failed(
            current, f"The build process that ran this run (pid {pid} on {host}) died before the run "
                     f"finished: it was killed (kill -9, out of memory) or its machine stopped. Marked "
                     f"failed by the next `unparl build`; that build redoes the documents it did not finish.")
        failed.append(run.run_id)
    return failed


def _process_start(pid: int) -> str | None:
    """When the process started (clock ticks since boot, from /proc), to tell it from a later
    process given the same pid; None without /proc."""
    stat = _proc_stat(pid)
    return stat[1] if stat else None


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc/<pid>/stat, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], fields[19]


def _process_alive(pid: int, started: str | None) -> bool:
    """Whether the process `pid` (started at `started`, if known) still runs. A zombie (killed,
    not yet reaped by its parent) has ended; so has a process whose pid another now has."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process has this pid
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc: the pid exists
    state, start = stat
    return state not in ("Z", "X") and (started is None or start == started)


def location_origin() -> InProcessCodeLocationOrigin:
    """The definitions as the code location `unparl` (workspace.yaml's module and name), loaded in
    this process."""
    return InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name="pipeline.definitions",
                             working_directory=str(REPO)),
        location_name=LOCATION)


@contextlib.contextmanager
def _code_location(instance: dg.DagsterInstance):
    """The code location `unparl`, loaded in this process."""
    origin = location_origin()
    with warnings.catch_warnings():
        # Dagster 1.13's own snapshot of a schedule reads its deprecated `environment_vars`
        # property (external_data.py), warning about code that is not ours.
        warnings.filterwarnings("ignore", message="Property `ScheduleDefinition.environment_vars`",
                                category=DeprecationWarning)
        location = origin.create_location(instance)
    with location:
        yield location


def _execute(location, instance: dg.DagsterInstance, spec: planning.RunSpec):
    """One run of a planned spec, created as the UI creates it and executed in this process."""
    (repository_name,) = location.get_repository_names()
    assets = None
    tags = run_tags()
    if spec.start is not None:
        tags |= {"dagster/asset_partition_range_start": spec.start, "dagster/asset_partition_range_end": spec.end}
        assets = [dg.AssetKey(k) for k in spec.stages]
        if spec.job == planning.BUILD_JOB:
            assets += [dg.AssetKey(k) for k in CORPUS_ASSETS]
    selector = JobSubsetSelector(location_name=LOCATION, repository_name=repository_name, job_name=spec.job,
                                 op_selection=None, asset_selection=assets)
    remote_job = location.get_job(selector)
    execution_plan = location.get_execution_plan(remote_job, QUIET, step_keys_to_execute=None, known_state=None,
                                                 instance=instance)
    with _one_planned_event_per_asset(spec.documents):
        run = instance.create_run(
            job_name=spec.job, run_id=None, run_config=QUIET, resolved_op_selection=None,
            step_keys_to_execute=None, op_selection=None, status=None, root_run_id=None, parent_run_id=None,
            tags=tags, job_snapshot=remote_job.job_snapshot,
            execution_plan_snapshot=execution_plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot, remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_selection=frozenset(assets) if assets else None, asset_check_selection=None,
            asset_graph=location.get_repository(repository_name).asset_graph)
    return execute_run(recon_job_from_origin(remote_job.get_python_origin()), run, instance, raise_on_error=True)


@contextlib.contextmanager
def _one_planned_event_per_asset(partitions: int):
    """Dagster's opt-in while a run of MANY_PARTITIONS or more is created (see there)."""
    if partitions < MANY_PARTITIONS or PLANNED_EVENTS_ENV in os.environ:
        yield
        return
    os.environ[PLANNED_EVENTS_ENV] = "1"
    try:
        yield
    finally:
        os.environ.pop(PLANNED_EVENTS_ENV, None)


@contextlib.contextmanager
def _settings_env(settings: UnparlSettings) -> Iterator[None]:
    """The settings as the UNPARL_* variables the definitions read (pipeline/defs/resources.py),
    for the length of a build."""
    values = {"UNPARL_SEEDS_DIR": str(settings.seeds_path), "UNPARL_DATA_DIR": str(settings.data_path),
              "UNPARL_MAX_BYTES": str(settings.max_bytes) if settings.max_bytes != DEFAULT_MAX_BYTES else None,
              tokens.ENV_VAR: settings.tokenizer or None,
              WORKERS_ENV: str(settings.workers) if settings.workers else None}
    with environment(values):
        yield


@contextlib.contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    """These environment variables set (a None value leaves its variable as it is) for the
    length of the block, then each back as it was."""
    before = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is not None:
                os.environ[name] = value
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def ensure_instance_home(default: Path) -> Path:
    """A repo-local SQLite instance unless DAGSTER_HOME says otherwise."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(default))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # The repo's template (what `make` copies), else the least a local instance needs.
        template = REPO / ".dagster.yaml"
        config.write_text(template.read_text() if template.is_file() else "telemetry:\n  enabled: false\n")
    # Two builds started at once on a new instance would both create its SQLite tables:
    # create them under a lock, once.
    import fcntl

    with open(home / ".unparl-init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = dg.DagsterInstance.get()
        instance.dispose()
    return home
