"""Checks of a written release against itself: checksums, data package, statistics."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.lib.storage import sha256_file




def checksums_match(release: Path) -> tuple[bool, dict]:
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    files = manifest.get("files") or {}
    wrong = [name for name, entry in files.items()
             if not (release / name).exists() or sha256_file(release / name) != entry.get("sha256")]
    unlisted = [p.relative_to(release).as_posix() for p in release.rglob("*")
                if p.is_file() and p.name != "manifest.json" and p.relative_to(release).as_posix() not in files]
    return not wrong and not unlisted, {"files": len(files), "mismatched": wrong, "unlisted": unlisted}


def tables_in_datapackage(release: Path) -> tuple[bool, dict]:
    package = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    listed = {r.get("path") for r in package.get("resources", [])}
    tables = sorted(p.name for p in release.glob("*.parquet"))
    missing = [t for t in tables if t not in listed]
    return not missing, {"tables": len(tables), "missing_from_datapackage": missing}


def counts_agree(release: Path) -> tuple[bool, dict]:
    """Row counts of the Parquet files equal the manifest's and statistics.json's corpus counts."""
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    summary = json.loads((release / "statistics.json").read_text(encoding="utf-8")).get("corpus", {})
    disagree = {}
    for path in release.glob("*.parquet"):
        rows = pq.ParquetFile(path).metadata.num_rows
        if manifest["files"].get(path.name, {}).get("rows") not in (None, rows):
            disagree[path.name] = {"file": rows, "manifest": manifest["files"][path.name]["rows"]}
        if path.stem in summary and isinstance(summary[path.stem], int) and summary[path.stem] != rows:
            disagree[path.name] = {"file": rows, "statistics": summary[path.stem]}
    return not disagree, {"disagreements": disagree}


def ids_unique(release: Path) -> tuple[bool, dict]:
    """para_id and sent_id are unique across the whole corpus, entity_id across the catalog."""
    repeated = {}
    for table, column in (("paragraphs", "para_id"), ("sentences", "sent_id"), ("entity_catalog", "entity_id")):
        values = pq.read_table(release / f"{table}.parquet", columns=[column]).column(column).to_pylist()
        seen, twice = set(), set()
        for value in values:
            (twice if value in seen else seen).add(value)
        if twice:
            repeated[column] = sorted(twice)[:20]
    return not repeated, {"repeated": repeated}


CHECKS = {
    "checksums_match": checksums_match,
    "tables_in_datapackage": tables_in_datapackage,
    "counts_agree": counts_agree,
    "ids_unique": ids_unique,
}


def outcomes(release: Path) -> dict[str, tuple[bool, dict]]:
    """Every check's outcome on a release folder: (passed, details) by name."""
    return {name: check(release) for name, check in CHECKS.items()}


def problems(checked: dict[str, tuple[bool, dict]]) -> list[str]:
    """The failed outcomes, in words; empty when the release holds."""
    return [f"{name}: {json.dumps(details, ensure_ascii=False, default=str)[:300]}"
            for name, (passed, details) in checked.items() if not passed]
