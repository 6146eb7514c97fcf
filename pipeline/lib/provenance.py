"""What a release records about where it came from: inputs, code version, notes."""
from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import pyarrow as pa

from pipeline.lib import stages
from pipeline.lib.tokens import backend_name


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def code_version() -> dict:
    from pipeline.lib.entities import gazetteer_version

    try:
        package = metadata.version("unparl")
    except metadata.PackageNotFoundError:
        package = "unknown"
    return {
        "package": package,
        "git_commit": git_commit(),
        "code_fingerprint": stages.code_fingerprint(),
        "tokenizer": backend_name(),
        "gazetteers": gazetteer_version()[:16],
    }


def release_inputs(data_dir: Path, doc_ids) -> list[dict]:
    def read(doc_id: str) -> dict | None:
        return stages.read_raw(data_dir, doc_id) if stages.work_path(data_dir, "raw", doc_id).exists() else None

    inputs = []
    for doc_id, raw in zip(order := sorted(doc_ids), stages.read_ahead(read, order)):
        if raw is None:
            continue
        inputs.append({"source_file": raw["source_file"], "sha256": raw["source_sha256"],
                       "bytes": raw["source_bytes"], "doc_id": doc_id, "status": raw["status"]})
        if raw["sidecar_file"]:
            inputs.append({"source_file": raw["sidecar_file"], "sha256": raw["sidecar_sha256"],
                           "bytes": raw["sidecar_bytes"], "doc_id": doc_id, "status": "sidecar"})
    return inputs


def release_notes(documents: pa.Table, quarantine: pa.Table) -> list[str]:
    """Warnings a reader of the release must see: symbol conflicts, structure warnings, quarantine."""
    notes = []
    for row in documents.select(["doc_id", "symbol", "warnings"]).to_pylist():
        for warning in row["warnings"] or []:
            notes.append(f"{row['symbol'] or row['doc_id']}: {warning}")
    for row in quarantine.to_pylist():
        notes.append(f"quarantined {row['source_file']} ({row['reason']}): {row['detail']}")
    return notes
