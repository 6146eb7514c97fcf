"""Stamps: what a document's work files were built from.

A stamp records the document's bytes, its sidecar, the earlier file with the same bytes (if
any), the settings that shape the output (tokenizer backend, size limit) and, for each stage,
the code version it ran with (chain.code_version). `stale_stages` is the one rule for what must
run again; the code versions are the ones Dagster shows, so the UI and `unparl build` agree.
"""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.lib import chain
from pipeline.lib.text.ingest import Source, content_key
from pipeline.lib.storage import atomic_write_text, dumps_json
from pipeline.lib.workdir import stamp_path, work_path


def settings_key(max_bytes: int, backend: str) -> str:
    """The settings a document's tables depend on, as recorded in its stamp."""
    return f"{backend}; max_bytes={max_bytes}"


def read_stamp(data_dir: Path, doc_id: str) -> dict | None:
    path = stamp_path(data_dir, doc_id)
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def write_stamp(data_dir: Path, doc_id: str, stages, settings: str, versions: dict[str, str] | None = None) -> None:
    """Record that these stages of the document ran on its present bytes with this code. The
    stages not named keep their versions only when the bytes are the same as before."""
    from pipeline.lib.chain import read_raw

    raw = read_raw(data_dir, doc_id)
    versions = versions or chain.code_versions()
    before = read_stamp(data_dir, doc_id) or {}
    same_input = (before.get("source_sha256"), before.get("sidecar_sha256"), before.get("twin_file"),
                  before.get("settings")) == (raw["source_sha256"], raw["sidecar_sha256"], raw["twin_file"], settings)
    done = dict(before.get("stages", {})) if same_input else {}
    done.update({name: versions[name] for name in stages})
    atomic_write_text(stamp_path(data_dir, doc_id), dumps_json({
        "source_sha256": raw["source_sha256"], "sidecar_sha256": raw["sidecar_sha256"],
        "twin_file": raw["twin_file"], "settings": settings,
        "stages": {name: done[name] for name in chain.NAMES if name in done},
    }))


def stale_stages(data_dir: Path, source: Source, twin: Source | None, settings: str,
                 versions: dict[str, str] | None = None) -> tuple[str, ...]:
    """The stages a document must run (every stage when its bytes, sidecar, twin or settings
    changed; else each stage whose code version changed, and those after it)."""
    stamp = read_stamp(data_dir, source.doc_id)
    if (stamp is None or source.error
            or (stamp.get("source_sha256"), stamp.get("sidecar_sha256"), stamp.get("twin_file"), stamp.get("settings"))
            != (source.sha256, source.sidecar_sha256, twin.name if twin else None, settings)):
        return chain.NAMES
    versions = versions or chain.code_versions()
    done = stamp.get("stages", {})
    changed = [name for name in chain.NAMES
               if done.get(name) != versions[name]
               or not all(work_path(data_dir, t, source.doc_id).exists() for t in chain.stage(name).tables)]
    return chain.downstream(changed)


def processed_key(data_dir: Path, doc_id: str, settings: str, versions: dict[str, str] | None = None) -> str | None:
    """The content key a document's work files were built from, when every stage ran with this
    code and these settings."""
    stamp = read_stamp(data_dir, doc_id)
    versions = versions or chain.code_versions()
    if stamp is None or stamp.get("settings") != settings or stamp.get("stages") != versions:
        return None
    return content_key(stamp["source_sha256"], stamp["sidecar_sha256"])


def twins_of(data_dir: Path, doc_ids, file_names: set[str]) -> list[str]:
    """Documents set aside as duplicates of one of these files (which have gone)."""
    return sorted(d for d in doc_ids if (stamp := read_stamp(data_dir, d)) and stamp.get("twin_file") in file_names)
