"""Atomic, deterministic table files: write to a temporary name, then rename.

Parquet is written the way open-data projects publish it: zstd, statistics on,
rows sorted by key, the Arrow schema (with column descriptions) embedded.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


def to_arrow(rows: pl.DataFrame | list[dict] | pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast rows to the table's schema (column order, types, dictionary encoding)."""
    if isinstance(rows, pa.Table):
        table = rows
    elif isinstance(rows, pl.DataFrame):
        table = rows.to_arrow()
    else:
        table = pa.Table.from_pylist(list(rows), schema=_plain(schema))
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            if pa.types.is_dictionary(field.type) and not pa.types.is_dictionary(column.type):
                column = column.cast(field.type.value_type).dictionary_encode()
                column = column.cast(field.type)
            else:
                column = column.cast(field.type)
        else:
            column = pa.nulls(table.num_rows, type=field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def _plain(schema: pa.Schema) -> pa.Schema:
    """The schema with dictionary columns as plain strings, for building from Python rows."""
    return pa.schema([
        pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type,
                 nullable=True, metadata=f.metadata)
        for f in schema
    ])


def sort_table(table: pa.Table, keys: list[str]) -> pa.Table:
    if table.num_rows == 0 or not keys:
        return table
    sort_keys = []
    for key in keys:
        column = table.column(key)
        if pa.types.is_dictionary(column.type):
            # Sort by value, not by dictionary index.
            table = table.append_column(f"__sort_{key}", column.cast(column.type.value_type))
            sort_keys.append((f"__sort_{key}", "ascending"))
        else:
            sort_keys.append((key, "ascending"))
    indices = pa.compute.sort_indices(table, sort_keys=sort_keys)
    table = table.take(indices)
    return table.select([n for n in table.column_names if not n.startswith("__sort_")])


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# zstd's default level: higher levels cost far more time than they save bytes here.
PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True, "use_dictionary": True, "store_schema": True}


@contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """A temporary file beside `path` to write; renamed over `path` (after fsync) when the
    block ends without error, removed otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _with_metadata(schema: pa.Schema, metadata: Mapping[str, str] | None) -> pa.Schema:
    if not metadata:
        return schema
    merged = dict(schema.metadata or {})
    merged.update({k.encode(): v.encode() for k, v in metadata.items()})
    return schema.with_metadata(merged)


def write_parquet(
    path: Path,
    table: pa.Table,
    *,
    sort_by: list[str] | None = None,
    metadata: Mapping[str, str] | None = None,
    options: Mapping[str, object] | None = None,
) -> pa.Table:
    """Write a table atomically as Parquet (PARQUET_OPTIONS unless `options` are given);
    returns the table as written."""
    if sort_by:
        table = sort_table(table, sort_by)
    table = table.replace_schema_metadata(_with_metadata(table.schema, metadata).metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **(options or PARQUET_OPTIONS))
    return table


def read_parquet(path: Path) -> pa.Table:
    return pq.read_table(path)


def dumps_json(value, *, indent: int | None = 2) -> str:
    """Deterministic JSON: sorted keys, Chinese characters unescaped."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=indent) + "\n"


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
