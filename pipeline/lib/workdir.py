"""The work folder: one Parquet file per table and document, `<data>/work/<table>/<doc_id>.parquet`,
replaced whole on a rerun (never appended), and the corpus assets' files under `work/corpus/`."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lib.storage import write_parquet

# Every per-document table a stage writes. `raw` and `clean` are the chain's own intermediate
# tables (decoded text, cleaned text with its map); the others are release tables.
TABLES = ("raw", "clean", "documents", "paragraphs", "sentences", "tokens", "entities")

# Work files are read back by the next stage and the release, never published: written fast
# (lz4, no column statistics) rather than small.
WORK_PARQUET_OPTIONS = {"compression": "lz4", "write_statistics": False, "use_dictionary": True, "store_schema": True}


class WorkPathError(ValueError):
    pass


@dataclass
class StageResult:
    """One table of one document, as a stage wrote it."""

    table: pa.Table
    path: Path
    warnings: list[str] = field(default_factory=list)
    quarantined: bool = False
    # The document's own checks, run where its table was made: name -> (passed, details).
    checks: dict[str, tuple[bool, dict]] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)  # counts for the asset's metadata
    rows: int | None = None  # set when `table` holds only the first rows (see slim)

    @property
    def num_rows(self) -> int:
        return self.table.num_rows if self.rows is None else self.rows

    def slim(self, head: int = 5) -> StageResult:
        """The result with only its first rows (for a preview), as a worker sends it back
        when the whole table would be costly to copy between processes."""
        return replace(self, table=self.table.slice(0, head), rows=self.num_rows)


def work_path(data_dir: Path, table: str, doc_id: str) -> Path:
    """The work file of one table and document; refuses any id that would leave the folder."""
    if table not in TABLES:
        raise WorkPathError(f"unknown work table {table!r}")
    if not doc_id or "/" in doc_id or "\\" in doc_id or doc_id in (".", "..") or "\x00" in doc_id:
        raise WorkPathError(f"document id {doc_id!r} cannot name a file")
    # With no separator and not "." or "..", the id names a file in the folder: no need to resolve
    # it (a resolve costs a system call per path component, on every read and write).
    return _work_folder(os.path.abspath(data_dir), table) / f"{doc_id}.parquet"


@lru_cache(maxsize=64)
def _work_folder(data_dir: str, table: str) -> Path:
    return (Path(data_dir) / "work" / table).resolve()


def read_work(data_dir: Path, table: str, doc_id: str, columns: list[str] | None = None) -> pa.Table:
    """One work file of one document (only `columns`, when given)."""
    path = work_path(data_dir, table, doc_id)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the chain for {doc_id} first")
    # One small file: no dataset discovery, read-ahead or threads.
    return pq.ParquetFile(path, pre_buffer=False).read(columns=columns, use_threads=False)


def write_work(data_dir: Path, table: str, doc_id: str, rows: pa.Table, sort_by: list[str] | None = None) -> Path:
    path = work_path(data_dir, table, doc_id)
    write_parquet(path, rows, sort_by=sort_by, options=WORK_PARQUET_OPTIONS)
    return path


def stamp_path(data_dir: Path, doc_id: str) -> Path:
    """Where a document's stamp (lib/stamps.py) lies: work/stamps/<doc_id>.json."""
    return work_path(data_dir, "raw", doc_id).parent.parent / "stamps" / f"{doc_id}.json"


def remove_work(data_dir: Path, doc_id: str) -> None:
    """Forget a document whose file was deleted: its rows leave the next release."""
    for table in TABLES:
        work_path(data_dir, table, doc_id).unlink(missing_ok=True)
    stamp_path(data_dir, doc_id).unlink(missing_ok=True)


def corpus_folder(data_dir: Path, name: str) -> Path:
    """Where a corpus-wide asset keeps its files (work/corpus/<name>)."""
    if not re.fullmatch(r"[a-z_]+", name):
        raise WorkPathError(f"bad corpus asset name {name!r}")
    return Path(data_dir).resolve() / "work" / "corpus" / name


def file_rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows
