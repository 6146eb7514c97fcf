"""Asset metadata the UI shows: row counts, column schemas, paths and Markdown previews."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import pyarrow as pa

from pipeline.schemas import description

OWNERS = ["team:unparl"]
_PACKAGE = Path(__file__).resolve().parents[1]


def code_version(*files: str) -> str:
    """A code version that follows the logic an asset runs: a hash of its modules and data
    files (paths inside the package), so the UI marks the asset stale when they change."""
    h = hashlib.sha256()
    for name in files:
        h.update(name.encode())
        h.update((_PACKAGE / name).read_bytes())
    return h.hexdigest()[:12]
# A run can hold thousands of partitions and Dagster records its metadata on each: keep lists short.
LISTED = 50
KINDS = {"python", "polars", "parquet"}


def check_results(asset: str, outcomes: dict[str, tuple[bool, dict]]) -> list[dg.AssetCheckResult]:
    """Asset check results from the invariants' outcomes, (passed, details) by check name."""
    return [dg.AssetCheckResult(check_name=name, asset_key=asset, passed=passed, metadata=details)
            for name, (passed, details) in outcomes.items()]


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(f.name, str(f.type), description=description(schema, f.name) or None)
        for f in schema
    ])


def preview(table: pa.Table, columns: Iterable[str] | None = None, rows: int = 5, width: int = 40) -> str:
    columns = [c for c in (columns or table.column_names) if c in table.column_names][:6]
    if not columns:
        return "(no columns)"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table.slice(0, rows).select(columns).to_pylist():
        cells = []
        for c in columns:
            value = str(row[c]).replace("|", "\\|").replace("\n", " ")
            cells.append(value if len(value) <= width else value[: width - 1] + "…")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table_metadata(table: pa.Table, schema: pa.Schema, paths: list[Path],
                   preview_columns: Iterable[str] | None = None, warnings: list[str] | None = None) -> dict:
    counts = None
    if "doc_id" in table.column_names and len(paths) > 1:
        counts = {c["values"]: c["counts"] for c in table.column("doc_id").value_counts().to_pylist()}
    return _metadata(table, table.num_rows, counts, schema, paths, preview_columns, warnings)


def results_metadata(results: list, schema: pa.Schema, preview_columns: Iterable[str] | None = None,
                     warnings: list[str] | None = None) -> dict:
    """table_metadata from a batch's per-document stage results (lib.stages.StageResult), which
    may hold only their tables' first rows: nothing the size of the batch's table is built."""
    head = pa.concat_tables([r.table.slice(0, 5) for r in results[:5]]) if results else schema.empty_table()
    counts = {r.path.stem: r.num_rows for r in results} if len(results) > 1 else None
    return _metadata(head, sum(r.num_rows for r in results), counts, schema, [r.path for r in results],
                     preview_columns, warnings)


def _metadata(head: pa.Table, rows: int, counts: dict[str, int] | None, schema: pa.Schema, paths: list[Path],
              preview_columns: Iterable[str] | None, warnings: list[str] | None) -> dict:
    meta = {
        "dagster/row_count": rows,
        "dagster/column_schema": column_schema(schema),
        "preview": dg.MetadataValue.md(preview(head, preview_columns)),
    }
    if counts is not None:
        # One run can hold many partitions; Dagster records the same metadata on each, so say
        # which rows belong to which document.
        listed = sorted(counts.items())
        meta["documents"] = len(listed)
        meta["rows_by_document"] = dg.MetadataValue.json(
            dict(listed[:LISTED]) | ({"…": f"{len(listed) - LISTED} more"} if len(listed) > LISTED else {}))
    if len(paths) == 1:
        meta["path"] = dg.MetadataValue.path(str(paths[0]))
    else:
        meta["folder"] = dg.MetadataValue.path(str(paths[0].parent)) if paths else ""
    if warnings:
        shown = "\n".join(f"- {w}" for w in warnings[:LISTED])
        more = f"\n- … and {len(warnings) - LISTED} more" if len(warnings) > LISTED else ""
        meta["warnings"] = dg.MetadataValue.md(shown + more)
    return meta
