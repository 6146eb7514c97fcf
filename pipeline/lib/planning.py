"""What changed in the seeds folder, and what to run for it: one planner for `unparl build`,
the new-report sensor and the weekly schedule.

`plan` compares the folder with what was built (the stamps) and, for the sensor, with its
cursor: a JSON map of document id → content key (hash of the file and its sidecar), size and
modification time. A file is hashed again only when its size or time moved; with `wait=True`
(the sensor) a file whose size was never seen before waits one look, in case it is still being
written. `runs` turns a plan into the runs to request, named by job.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib import chain, stamps
from pipeline.lib.text import ingest

# The Dagster jobs a run can target (pipeline/defs/jobs.py defines them by these names).
DOCUMENT_JOB = "document_chain"  # the per-document stages, over a range of partitions
CORPUS_JOB = "corpus_release"  # the corpus assets: assembly, status, catalog, statistics, release
BUILD_JOB = "build"  # both, in one run: what the sensor and the schedule request


@dataclass
class Observation:
    doc_id: str
    name: str
    size: int
    mtime_ns: int


@dataclass
class Plan:
    added: list[str] = field(default_factory=list)  # new files: a partition to add
    changed: list[str] = field(default_factory=list)  # bytes or sidecar changed since built
    removed: list[str] = field(default_factory=list)  # partitions whose file has gone
    waiting: list[str] = field(default_factory=list)  # first seen at this size: looked at again next time
    code_stale: list[str] = field(default_factory=list)  # unchanged files whose stages' code changed
    freed: list[str] = field(default_factory=list)  # duplicates of a removed file: now stand for themselves
    stages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # doc_id -> the stages it must run
    cursor: str = "{}"
    files: int = 0

    @property
    def to_process(self) -> list[str]:
        return sorted(self.stages)

    def summary(self) -> str:
        """What was seen, in one line (a sensor tick's or a build's)."""
        parts = [f"{self.files} file(s) in the folder"]
        for label, docs in (("new", self.added), ("changed", self.changed), ("deleted", self.removed),
                            ("stale after a code change", self.code_stale),
                            ("no longer duplicates", self.freed)):
            if docs:
                parts.append(f"{label}: {_listed(docs)}")
        if self.waiting:
            parts.append(f"waiting one more look for files first seen at this size (may still be "
                         f"being written): {_listed(self.waiting)}")
        if len(parts) == 1:
            parts.append("nothing new, changed or deleted")
        return "; ".join(parts)


def _listed(docs: list[str], shown: int = 10) -> str:
    more = f" and {len(docs) - shown} more" if len(docs) > shown else ""
    return ", ".join(docs[:shown]) + more


def observe(folder: Path) -> dict[str, Observation]:
    """Every document file's size and time (with its sidecar's), by document id: the documents
    and ids of ingest.list_documents, the rule the chain's scan follows too."""
    found: dict[str, Observation] = {}
    for entry in ingest.list_documents(folder):
        size, mtime = ingest.input_state(entry)
        found[entry.doc_id] = Observation(entry.doc_id, entry.path.name, size, mtime)
    return found


def _content_key(folder: Path, name: str) -> str | None:
    """The file's content key, read the way the chain reads it; None when it cannot be read (a
    link out of the folder, a FIFO, a bad sidecar...): the chain sets such a file aside."""
    source = ingest.scan_entry(ingest.entry_for(Path(folder) / name, doc_id=""))
    return None if source.error else source.content_key


def plan(seeds_dir: Path, data_dir: Path, *, known: set[str], settings: str, cursor: str | None = None,
         wait: bool = False, code_changes: bool = True) -> Plan:
    """Compare the folder with the cursor and the stamps: what to add, rerun, remove or wait for.

    `known` are the partitions the instance has. With `code_changes`, documents whose bytes did
    not change but some of whose stages' code did are planned too (from that stage on)."""
    versions = chain.code_versions()
    state = json.loads(cursor) if cursor else {}
    seen: dict = state.get("files", {})
    pending: dict = state.get("pending", {})
    now = observe(seeds_dir)
    result = Plan(files=len(now))
    files: dict = {}
    new_pending: dict = {}
    located = None  # scanned (hashing every file) only when a document's stamp must be compared

    for doc_id, obs in now.items():
        before = seen.get(doc_id)
        built = None  # the content key its work files were built from, when read
        if before is not None and (before["size"], before["mtime_ns"]) == (obs.size, obs.mtime_ns):
            files[doc_id] = before
            key = before["key"]
            if doc_id in known and not code_changes:
                continue  # as it was at the last look, when it was planned already
        else:
            built = stamps.processed_key(data_dir, doc_id, settings, versions) if doc_id in known else None
            key = None
            if built is not None or not wait or pending.get(doc_id) == obs.size:
                key = _content_key(seeds_dir, obs.name)
            if wait and obs.size >= 0 and pending.get(doc_id) != obs.size and (key is None or key != built):
                # First sight of this size, and not what was built: the file may still be growing.
                new_pending[doc_id] = obs.size
                result.waiting.append(doc_id)
                if before:
                    files[doc_id] = before
                continue
            files[doc_id] = {"key": key, "size": obs.size, "mtime_ns": obs.mtime_ns, "name": obs.name}
        if doc_id not in known:
            result.added.append(doc_id)
            result.stages[doc_id] = chain.NAMES
            continue
        if built is None:
            built = stamps.processed_key(data_dir, doc_id, settings, versions)
        if key is not None and built == key:
            continue  # built from these bytes with this code
        if located is None:
            located = chain.locate_sources(seeds_dir)
        if doc_id not in located:
            continue
        source, twin = located[doc_id]
        stale = stamps.stale_stages(data_dir, source, twin, settings, versions)
        if not stale:
            continue
        if not _same_bytes(data_dir, doc_id, source):
            result.changed.append(doc_id)
        elif code_changes:
            result.code_stale.append(doc_id)
        else:
            continue
        result.stages[doc_id] = stale

    result.removed = sorted(k for k in known if k not in now)
    if result.removed:
        gone = {raw["source_file"] for k in result.removed if (raw := _raw_or_none(data_dir, k))}
        for doc_id in stamps.twins_of(data_dir, known - set(result.removed), gone):
            if doc_id not in result.stages:
                result.freed.append(doc_id)
                result.stages[doc_id] = chain.NAMES
    result.cursor = json.dumps({"files": files, "pending": new_pending}, sort_keys=True)
    return result


def _same_bytes(data_dir: Path, doc_id: str, source) -> bool:
    stamp = stamps.read_stamp(data_dir, doc_id)
    return stamp is not None and (stamp.get("source_sha256"), stamp.get("sidecar_sha256")) == (
        source.sha256, source.sidecar_sha256)


def _raw_or_none(data_dir: Path, doc_id: str) -> dict | None:
    try:
        return chain.read_raw(data_dir, doc_id)
    except (FileNotFoundError, IndexError):
        return None


# --- runs ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunSpec:
    """One run to request: a job, over a range of the documents partitions (None: no partition),
    of these per-document stages (the corpus assets too, for the build and corpus jobs)."""

    job: str
    start: str | None = None
    end: str | None = None
    stages: tuple[str, ...] = ()
    documents: int = 0  # how many partitions the range spans


def contiguous_ranges(order: list[str], selected: set[str]) -> list[tuple[str, str]]:
    """Runs of consecutive selected keys in partition order."""
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


# How long a run the daemon launches may take before run monitoring fails it (then run_retries
# retries it): the default run launcher cannot tell that a run's process died (a lost machine), so
# without a limit such a run stays Started and the sensor's next runs wait behind it for ever.
RUN_SECONDS_MIN = 3600
RUN_SECONDS_PER_DOCUMENT = 60


def run_time_limit(spec: RunSpec, *, minimum: int = RUN_SECONDS_MIN,
                   per_document: int = RUN_SECONDS_PER_DOCUMENT) -> int:
    """Seconds a daemon-launched run of this spec may take: a minimum, or more for many documents."""
    return max(minimum, per_document * spec.documents)


def runs(result: Plan, order: list[str], *, one_run: bool) -> list[RunSpec]:
    """The runs a plan asks for, given the partitions in order (added ones included).

    one_run (the sensor and the schedule): a single build run over the one range that covers
    every document to process, with every stage any of them needs, so one release follows; the
    documents in between that needed no work are redone, which is cheaper than runs racing to cut
    releases. Otherwise (`unparl build`): a document-chain run per contiguous range of documents
    that need the same stages, then one corpus run."""
    wanted = result.stages
    if one_run:
        if not wanted:
            return [RunSpec(CORPUS_JOB)] if result.removed else []
        chosen = [k for k in order if k in wanted]
        stages = chain.downstream({s for k in chosen for s in wanted[k]})
        span = order.index(chosen[-1]) - order.index(chosen[0]) + 1
        return [RunSpec(BUILD_JOB, chosen[0], chosen[-1], stages, span)]
    specs = []
    by_stages: dict[tuple[str, ...], set[str]] = {}
    for key, stages in wanted.items():
        by_stages.setdefault(stages, set()).add(key)
    for stages, keys in sorted(by_stages.items(), key=lambda item: [chain.NAMES.index(s) for s in item[0]]):
        for start, end in contiguous_ranges(order, keys):
            specs.append(RunSpec(DOCUMENT_JOB, start, end, stages, order.index(end) - order.index(start) + 1))
    return specs + [RunSpec(CORPUS_JOB)]
