"""What a release records about where it came from: inputs, code version, notes."""
from __future__ import annotations

import re
import subprocess
from collections import Counter
from importlib import metadata
from pathlib import Path

import pyarrow as pa

from pipeline.lib import chain
from pipeline.lib.text.tokens import backend_name


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[3]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def code_version() -> dict:
    from pipeline.lib.entities.tagger import gazetteer_version

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


# A document gives at most this many notes; the rest are counted, one line per kind.
NOTES_PER_DOCUMENT = 5
NOTE_CHARS = 500  # a note longer than this is cut
# What varies between two warnings of one kind: quoted values, and words holding a digit (ids,
# numbers, symbols such as A/74/759:p19~23).
_VARYING = re.compile(r"(?<!\w)'[^']*'|(?<!\w)\"[^\"]*\"|\S*\d\S*")


def _cut(note: str) -> str:
    return note if len(note) <= NOTE_CHARS else note[:NOTE_CHARS - 1] + "…"


def note_kind(warning: str) -> str:
    """A warning with what varies between warnings of its kind replaced by …: 'paragraph id
    A/74/759:p19 repeats; the later one is A/74/759:p19~23' → 'paragraph id … repeats; the
    later one is …'."""
    return _VARYING.sub("…", warning)


def bounded_notes(label: str, warnings: list[str], limit: int = NOTES_PER_DOCUMENT) -> list[str]:
    """One document's notes: its first `limit` warnings, then for each kind of the others
    '… and K more of the same kind: <kind>', most frequent kind first."""
    notes = [_cut(f"{label}: {warning}") for warning in warnings[:limit]]
    rest = Counter(note_kind(warning) for warning in warnings[limit:])
    for kind, count in sorted(rest.items(), key=lambda item: (-item[1], item[0])):
        notes.append(_cut(f"{label}: … and {count:,} more of the same kind: {kind}"))
    return notes


def release_notes(documents: pa.Table, quarantine: pa.Table) -> list[str]:
    """Warnings a reader of the release must see: symbol conflicts, structure warnings, quarantine.
    At most NOTES_PER_DOCUMENT a document, the others counted by kind (bounded_notes)."""
    notes = []
    for row in documents.select(["doc_id", "symbol", "warnings"]).to_pylist():
        notes.extend(bounded_notes(row["symbol"] or row["doc_id"], row["warnings"] or []))
    for row in quarantine.to_pylist():
        notes.append(_cut(f"quarantined {row['source_file']} ({row['reason']}): {row['detail']}"))
    return notes
