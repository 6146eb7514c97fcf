"""Asset metadata the UI shows: row counts, column schemas, paths and Markdown previews."""
from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
import pyarrow as pa

from pipeline.schemas import description

OWNERS = ["team:unparl"]
# A run can hold thousands of partitions and Dagster records its metadata on each: keep lists short.
LISTED = 50
KINDS = {"python", "polars", "parquet"}


def check_results(asset: str, outcomes: dict[str, tuple[bool, dict]],
                  severities: dict[str, str] | None = None) -> list[dg.AssetCheckResult]:
    """Asset check results from the invariants' outcomes, (passed, details) by check name."""
    severities = severities or {}
    return [dg.AssetCheckResult(check_name=name, asset_key=asset, passed=passed, metadata=details,
                                severity=dg.AssetCheckSeverity(severities.get(name, "ERROR")))
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
            value = "" if row[c] is None else str(row[c]).replace("|", "\\|").replace("\n", " ")
            cells.append(value if len(value) <= width else value[: width - 1] + "…")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def listed(lines: list[str]) -> dg.MetadataValue:
    shown = "\n".join(f"- {line}" for line in lines[:LISTED])
    more = f"\n- … and {len(lines) - LISTED} more" if len(lines) > LISTED else ""
    return dg.MetadataValue.md(shown + more)


def table_metadata(table: pa.Table, schema: pa.Schema, preview_columns: Iterable[str] | None = None) -> dict:
    """The metadata of an unpartitioned table asset: its rows are its own."""
    return {
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(schema),
        "preview": dg.MetadataValue.md(preview(table, preview_columns)),
    }
