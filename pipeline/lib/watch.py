"""What changed in a folder of reports between two looks, for the new-report sensor.

The cursor is a JSON map of document id → content key (hash of the file and its
sidecar), size and modification time. A file is hashed again only when its size or
time moved, and a file whose size is still changing waits for the next look.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib.ingest import doc_id_for, is_document_file, sha256_file, sidecar_for


@dataclass
class Observation:
    doc_id: str
    name: str
    size: int
    mtime_ns: int
    key: str | None = None  # content key; None until hashed


@dataclass
class Plan:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    cursor: str = "{}"

    @property
    def to_process(self) -> list[str]:
        return sorted(self.added + self.changed)


def observe(folder: Path) -> dict[str, Observation]:
    found: dict[str, Observation] = {}
    for path in sorted(p for p in Path(folder).iterdir() if is_document_file(p)):
        doc_id = doc_id_for(path)
        if doc_id in found:  # the same id twice: scan_sources disambiguates the later one
            import hashlib
            doc_id = f"{doc_id}_{hashlib.sha256(path.name.encode()).hexdigest()[:8]}"
        stat = path.stat()
        sidecar = sidecar_for(path)
        size, mtime = stat.st_size, stat.st_mtime_ns
        if sidecar.is_file():
            s = sidecar.stat()
            size, mtime = size + s.st_size, max(mtime, s.st_mtime_ns)
        found[doc_id] = Observation(doc_id, path.name, size, mtime)
    return found


def _content_key(folder: Path, name: str) -> str:
    import hashlib

    path = Path(folder) / name
    sidecar = sidecar_for(path)
    side = sha256_file(sidecar) if sidecar.is_file() else ""
    return hashlib.sha256(f"{sha256_file(path)}:{side}".encode()).hexdigest()


def plan(folder: Path, cursor: str | None, known_partitions: set[str],
         processed: Callable[[str], str | None] | None = None) -> Plan:
    """Compare the folder with the cursor; decide what to add, rerun, remove or wait for.

    `processed` gives the content key a document's work files were built from (None if
    none), so a fresh cursor does not rerun documents an earlier build already processed;
    it is asked only about files the cursor does not know.
    """
    processed = processed or (lambda doc_id: None)
    state = json.loads(cursor) if cursor else {}
    seen: dict = state.get("files", {})
    pending: dict = state.get("pending", {})
    now = observe(folder)
    result = Plan()
    files: dict = {}
    new_pending: dict = {}
    for doc_id, obs in now.items():
        before = seen.get(doc_id)
        if before and before["size"] == obs.size and before["mtime_ns"] == obs.mtime_ns:
            files[doc_id] = before
            if doc_id not in known_partitions:
                result.added.append(doc_id)
            continue
        done = processed(doc_id) if before is None and doc_id in known_partitions else None
        if done is not None:
            # Known from an earlier build: no need to wait, its bytes tell whether it changed.
            key = _content_key(folder, obs.name)
            if key == done:
                files[doc_id] = {"key": key, "size": obs.size, "mtime_ns": obs.mtime_ns, "name": obs.name}
                continue
        if pending.get(doc_id) != obs.size:
            # First sight of this size: the file may still be growing; look again next tick.
            new_pending[doc_id] = obs.size
            result.waiting.append(doc_id)
            if before:
                files[doc_id] = before
            continue
        key = _content_key(folder, obs.name)
        files[doc_id] = {"key": key, "size": obs.size, "mtime_ns": obs.mtime_ns, "name": obs.name}
        if doc_id not in known_partitions:
            result.added.append(doc_id)
        elif (before["key"] if before else processed(doc_id)) != key:
            result.changed.append(doc_id)
    result.removed = sorted(k for k in known_partitions if k not in now)
    result.cursor = json.dumps({"files": files, "pending": new_pending}, sort_keys=True)
    return result
