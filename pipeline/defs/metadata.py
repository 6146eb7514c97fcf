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
    meta = {
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(schema),
        "preview": dg.MetadataValue.md(preview(table, preview_columns)),
    }
    if "doc_id" in table.column_names and len(paths) > 1:
        # One run can hold many partitions; Dagster records the same metadata on each, so say
        # which rows belong to which document.
        counts = sorted(table.column("doc_id").value_counts().to_pylist(), key=lambda c: c["values"])
        meta["documents"] = len(counts)
        meta["rows_by_document"] = dg.MetadataValue.json(
            {c["values"]: c["counts"] for c in counts[:LISTED]} | ({"…": f"{len(counts) - LISTED} more"}
                                                                   if len(counts) > LISTED else {}))
    if len(paths) == 1:
        meta["path"] = dg.MetadataValue.path(str(paths[0]))
    else:
        meta["folder"] = dg.MetadataValue.path(str(paths[0].parent)) if paths else ""
    if warnings:
        shown = "\n".join(f"- {w}" for w in warnings[:LISTED])
        more = f"\n- … and {len(warnings) - LISTED} more" if len(warnings) > LISTED else ""
        meta["warnings"] = dg.MetadataValue.md(shown + more)
    return meta
