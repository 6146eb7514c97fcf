"""Building the corpus through Dagster, in-process, on the configured instance.

The runs land in the instance's history, so `make ui` shows them. Only documents
whose bytes, sidecar or code changed are processed; the corpus-wide assets then
rebuild the release, which is cut only when its data differ from LATEST's.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

try:  # not public API: Dagster 1.13's way to name the state storage for a definitions load
    from dagster._core.storage.defs_state.base import set_defs_state_storage
except ImportError:  # pragma: no cover - another Dagster version: the default lookup
    def set_defs_state_storage(storage):
        return contextlib.nullcontext()

from pipeline.lib import stages

PER_DOCUMENT = ("raw_documents", "clean_documents", "document_metadata", "paragraphs", "sentences",
                "tokens", "entities")
CORPUS = ("entity_catalog", "corpus_statistics", "release")
PARTITIONS = "documents"
# Before a run starts, Dagster records a "planned" event per partition and asset: 7 a document,
# about 5 ms each on SQLite, a fifth of a 1000-document build and an hour before the first step
# at 100,000. From this many partitions a run records one per asset instead (Dagster's opt-in,
# PLANNED_EVENTS_ENV). The price: the UI's partitions bar shows that run's partitions neither in
# progress nor, if it fails, failed; the run's page shows both, and a failed run's documents are
# not stamped as done, so the next build redoes them. Smaller runs (a new report) keep the
# default, so the bar shows their failures; a value the user has set is always kept.
MANY_PARTITIONS = 20
PLANNED_EVENTS_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# Step events stay in the instance (and the UI); the terminal shows warnings and errors only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    release: dict = field(default_factory=dict)


def sync_partitions(instance: dg.DagsterInstance, seeds_dir: Path, data_dir: Path) -> tuple[dict, list, list]:
    """Make the documents partitions match the files; returns (located sources, added, removed)."""
    located = stages.locate_sources(seeds_dir)
    wanted = list(located)
    existing = instance.get_dynamic_partitions(PARTITIONS)
    added = [k for k in wanted if k not in set(existing)]
    removed = [k for k in existing if k not in set(wanted)]
    if added:
        instance.add_dynamic_partitions(PARTITIONS, added)
    for key in removed:
        instance.delete_dynamic_partition(PARTITIONS, key)
        stages.remove_work(data_dir, key)
    return located, added, removed


def covering_range(order: list[str], selected: set[str]) -> tuple[str, str] | None:
    """The one range of the partition order that covers every selected key, so a single run
    (and a single release) takes them all; documents between them that needed no work are
    redone, which is cheaper than runs racing to cut releases."""
    chosen = [k for k in order if k in selected]
    return (chosen[0], chosen[-1]) if chosen else None


def contiguous_ranges(order: list[str], selected: set[str]) -> list[tuple[str, str]]:
    """Runs of consecutive selected keys in partition order: one Dagster run per range."""
    ranges, start, prev = [], None, None
    for key in order:
        if key in selected:
            start = start or key
            prev = key
        elif start:
            ranges.append((start, prev))
            start = None
    if start:
        ranges.append((start, prev))
    return ranges


def _assets(names) -> list:
    from pipeline.definitions import defs

    wanted = set(names)
    return [a for a in defs().assets if any(k.to_user_string() in wanted for k in a.keys)]


def build(seeds_dir: Path, data_dir: Path, instance: dg.DagsterInstance | None = None,
          resources: dict | None = None) -> BuildReport:
    if not Path(seeds_dir).is_dir():
        raise SystemExit(f"seeds folder {Path(seeds_dir).resolve()} does not exist")
    instance = instance or dg.DagsterInstance.get()
    # Dagster looks up the definitions' state storage in a context variable that entering an
    # instance sets; an instance entered and dropped elsewhere in this process (a test's, an
    # executor's) can leave it naming a storage whose instance is gone. Name this one's.
    with set_defs_state_storage(instance.defs_state_storage):
        return _build(seeds_dir, data_dir, instance, resources)


def _build(seeds_dir: Path, data_dir: Path, instance: dg.DagsterInstance, resources: dict | None) -> BuildReport:
    from pipeline.defs.resources import UnparlSettings

    seeds_dir, data_dir = Path(seeds_dir).resolve(), Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    resources = resources or {"settings": UnparlSettings(seeds_dir=str(seeds_dir), data_dir=str(data_dir))}
    report = BuildReport()
    located, report.added, report.removed = sync_partitions(instance, seeds_dir, data_dir)
    settings_key = resources["settings"].stamp_settings
    stale = {doc_id for doc_id, (source, twin) in located.items()
             if not stages.is_current(data_dir, source, twin, settings_key)}
    order = instance.get_dynamic_partitions(PARTITIONS)
    per_document = _assets(PER_DOCUMENT)
    for start, end in contiguous_ranges(order, stale):
        with _one_planned_event_per_asset(order.index(end) - order.index(start) + 1):
            result = dg.materialize(per_document, instance=instance, resources=resources, run_config=QUIET, tags={
                "dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end,
                "unparl/trigger": "build"})
        report.runs.append(result.run_id)
    report.processed = [k for k in order if k in stale]
    result = dg.materialize(_assets(CORPUS), instance=instance, resources=resources, run_config=QUIET,
                            tags={"unparl/trigger": "build"})
    report.runs.append(result.run_id)
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == "release":
            report.release = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    return report


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


def ensure_instance_home(default: Path) -> Path:
    """A repo-local SQLite instance unless DAGSTER_HOME says otherwise."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(default))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    # Two builds started at once on a new instance would both create its SQLite tables:
    # create them under a lock, once.
    import fcntl

    with open(home / ".unparl-init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = dg.DagsterInstance.get()
        instance.dispose()
    return home
