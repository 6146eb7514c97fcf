"""Checks of a written release against itself: checksums, data package, statistics."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.lib.storage import sha256_file


def _parts(release: Path) -> dict[str, list[Path]]:
    """Each table's Parquet files: the parts in its folder (or `<table>.parquet`, flat)."""
    tables: dict[str, list[Path]] = {}
    for path in sorted(release.glob("*/part-*.parquet")):
        tables.setdefault(path.parent.name, []).append(path)
    for path in sorted(release.glob("*.parquet")):
        tables.setdefault(path.stem, []).append(path)
    return tables




def checksums_match(release: Path, trusted: frozenset[str] | set[str] = frozenset()) -> tuple[bool, dict]:
    """Every file's sha256 equals the manifest's (files in `trusted` were hash-checked as they
    were linked from an earlier release: only their presence and size are checked), and every
    file is listed."""
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    files = manifest.get("files") or {}

    def matches(name: str, entry: dict) -> bool:
        path = release / name
        if not path.is_file():
            return False
        if name in trusted:
            return path.stat().st_size == entry.get("bytes")
        return sha256_file(path) == entry.get("sha256")

    wrong = [name for name, entry in files.items() if not matches(name, entry)]
    unlisted = [p.relative_to(release).as_posix() for p in release.rglob("*")
                if p.is_file() and p.name != "manifest.json" and p.relative_to(release).as_posix() not in files]
    return not wrong and not unlisted, {"files": len(files), "mismatched": wrong, "unlisted": unlisted}


def tables_in_datapackage(release: Path) -> tuple[bool, dict]:
    package = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    listed = set()
    for resource in package.get("resources", []):
        paths = resource.get("path")
        listed.update(paths if isinstance(paths, list) else [paths])
    tables = sorted(p.relative_to(release).as_posix() for paths in _parts(release).values() for p in paths)
    missing = [t for t in tables if t not in listed]
    return not missing, {"tables": len(tables), "missing_from_datapackage": missing}


def counts_agree(release: Path, trusted: frozenset[str] | set[str] = frozenset()) -> tuple[bool, dict]:
    """Row counts of the Parquet files equal the manifest's and statistics.json's corpus counts
    (a file in `trusted` has the bytes its manifest entry describes, rows included: its count is
    taken from there)."""
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    summary = json.loads((release / "statistics.json").read_text(encoding="utf-8")).get("corpus", {})
    disagree = {}
    for table, paths in _parts(release).items():
        total = 0
        for path in paths:
            name = path.relative_to(release).as_posix()
            known = manifest["files"].get(name, {}).get("rows")
            rows = known if name in trusted and known is not None else pq.ParquetFile(path).metadata.num_rows
            total += rows
            if manifest["files"].get(name, {}).get("rows") not in (None, rows):
                disagree[name] = {"file": rows, "manifest": manifest["files"][name]["rows"]}
        if manifest.get("tables", {}).get(table) not in (None, total):
            disagree[table] = {"files": total, "manifest": manifest["tables"][table]}
        if table in summary and isinstance(summary[table], int) and summary[table] != total:
            disagree[table] = {"files": total, "statistics": summary[table]}
    return not disagree, {"disagreements": disagree}


def ids_unique(release: Path, trusted: frozenset[str] | set[str] = frozenset()) -> tuple[bool, dict]:
    """para_id is unique across the whole corpus, entity_id across the catalog, and sent_id
    within each part written anew: a sent_id begins with its para_id, so with para_ids unique
    across the corpus, sent_ids unique within each part are unique across it (the parts in
    `trusted`, linked from an earlier release, were checked when they were written)."""
    repeated = {}
    parts = _parts(release)
    for table, column in (("paragraphs", "para_id"), ("sentences", "sent_id"), ("entity_catalog", "entity_id")):
        paths = [p for p in parts.get(table, [])
                 if table != "sentences" or p.relative_to(release).as_posix() not in trusted]
        chunks = [pq.read_table(path, columns=[column]).column(column).cast(pa.string()).combine_chunks()
                  for path in paths]
        if not chunks:
            continue
        values = pa.chunked_array(chunks, pa.string())
        counts = pc.value_counts(values)
        if len(counts) != len(values):
            twice = counts.filter(pc.greater(counts.field("counts"), 1)).field("values").to_pylist()
            repeated[column] = sorted(twice)[:20]
    return not repeated, {"repeated": repeated}


CHECKS = {
    "checksums_match": checksums_match,
    "tables_in_datapackage": tables_in_datapackage,
    "counts_agree": counts_agree,
    "ids_unique": ids_unique,
}


def outcomes(release: Path, trusted: frozenset[str] | set[str] = frozenset()) -> dict[str, tuple[bool, dict]]:
    """Every check's outcome on a release folder: (passed, details) by name. `trusted`: files
    linked from an earlier release after their hash check (see checksums_match)."""
    return {name: (check(release, trusted) if name in TRUSTING else check(release)) for name, check in CHECKS.items()}


# The checks that take linked files' manifest entries as checked.
TRUSTING = ("checksums_match", "counts_agree", "ids_unique")


def problems(checked: dict[str, tuple[bool, dict]]) -> list[str]:
    """The failed outcomes, in words; empty when the release holds."""
    return [f"{name}: {json.dumps(details, ensure_ascii=False, default=str)[:300]}"
            for name, (passed, details) in checked.items() if not passed]
