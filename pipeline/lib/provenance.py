"""What a release records about where it came from: inputs, code version, notes."""
from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import pyarrow as pa

from pipeline.lib import chain
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
        "stages": chain.code_versions(),
        "tokenizer": backend_name(),
        "gazetteers": gazetteer_version()[:16],
    }


def release_notes(documents: pa.Table, quarantine: pa.Table) -> list[str]:
    """Warnings a reader of the release must see: symbol conflicts, structure warnings, quarantine."""
    notes = []
    for row in documents.select(["doc_id", "symbol", "warnings"]).to_pylist():
        for warning in row["warnings"] or []:
            notes.append(f"{row['symbol'] or row['doc_id']}: {warning}")
    for row in quarantine.to_pylist():
        notes.append(f"quarantined {row['source_file']} ({row['reason']}): {row['detail']}")
    return notes
