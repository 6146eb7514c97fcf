"""Cutting a release: an immutable, versioned folder of Parquet, JSON and
metadata, with an archive beside it, and LATEST naming the newest.

Versions are calendar versions (vYYYY.MM.DD, then vYYYY.MM.DD.2 for a second
release on the same day), as PUDL names its releases. A release is built in a
hidden temporary folder inside data_dir and renamed into place, so a reader
never sees half a release; builders take turns on a lock file, so LATEST only
ever names a complete one. A rebuild whose data equals LATEST's cuts nothing:
the comparison uses a hash of the tables' contents, which does not depend on
the version string written into the files.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import struct
import tarfile
import tempfile
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.lib import release_verify, storage
from pipeline.lib.release_card import croissant_metadata, data_card, data_package
from pipeline.lib.release_charts import cjk_font_path, draw_charts
from pipeline.lib.stats import STATS_DESCRIPTIONS, STATS_SCHEMAS

DATASET = "unparl"
JSONL_TABLES = ("documents", "paragraphs", "entities")
LOCK_FILE = ".release.lock"
TEMP_PREFIX = ".build-"
ARCHIVE_TEMP_PREFIX = ".archive-"
VERSION_PATTERN = re.compile(r"^v(\d{4})\.(\d{2})\.(\d{2})(?:\.(\d+))?$")
TABLE_DESCRIPTIONS = {
    "documents": "One row per document: metadata (with provenance), cleaned text and counts.",
    "paragraphs": "Paragraphs with their kind, number, section and offsets into clean_text.",
    "sentences": "Sentences with offsets into clean_text.",
    "tokens": "Tokens (jieba segmentation) with part-of-speech tags and offsets into clean_text.",
    "entities": "Entity mentions with canonical entity_id, type and offsets into clean_text.",
    "entity_catalog": "One row per canonical entity: name, aliases, ISO3 for countries, mention counts.",
    "quarantine": "Source files that were not processed, with the reason.",
}
DESCRIPTIONS = {**TABLE_DESCRIPTIONS, **STATS_DESCRIPTIONS}


class ReleaseInvalid(RuntimeError):
    """The release written in the hidden folder failed its own checks; nothing was published."""


@dataclass
class ReleaseResult:
    version: str | None
    path: Path | None
    created: bool
    content_hash: str
    changes: dict = field(default_factory=dict)
    reason: str = ""


# --- versions -----------------------------------------------------------------------------

def version_key(name: str) -> tuple[int, int, int, int] | None:
    match = VERSION_PATTERN.match(name)
    if not match:
        return None
    year, month, day, n = match.groups()
    return int(year), int(month), int(day), int(n or 1)


def list_releases(data_dir: Path) -> list[str]:
    """Names of the release folders, oldest first."""
    releases = Path(data_dir) / "releases"
    if not releases.is_dir():
        return []
    names = [p.name for p in releases.iterdir() if p.is_dir() and version_key(p.name)]
    return sorted(names, key=version_key)


def next_version(existing: list[str], today: datetime.date) -> str:
    keys = [version_key(n) for n in existing]
    day = (today.year, today.month, today.day)
    newest_day = max((k[:3] for k in keys), default=day)
    # A clock set back must not produce a version that sorts before LATEST.
    year, month, dd = max(day, newest_day)
    taken = [k[3] for k in keys if k[:3] == (year, month, dd)]
    base = f"v{year:04d}.{month:02d}.{dd:02d}"
    return base if not taken else f"{base}.{max(taken) + 1}"


def latest_release(data_dir: Path) -> Path | None:
    """The release folder LATEST names, or None when there is none yet."""
    latest = Path(data_dir) / "LATEST"
    if not latest.is_file():
        return None
    name = latest.read_text(encoding="utf-8").strip()
    path = Path(data_dir) / "releases" / name
    return path if version_key(name) and (path / "manifest.json").is_file() else None


# --- canonical tables and their hash -----------------------------------------------------

def _plain_strings(table: pa.Table) -> pa.Table:
    columns = [
        col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col
        for col in table.columns
    ]
    return pa.Table.from_arrays(columns, schema=pa.schema([
        pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type,
                 f.nullable, f.metadata) for f in table.schema]))


def _sortable(type_: pa.DataType) -> bool:
    return (pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_boolean(type_)
            or pa.types.is_string(type_) or pa.types.is_large_string(type_))


def canonical_table(table: pa.Table, schema: pa.Schema, sort_by: list[str] | None) -> pa.Table:
    """Cast to the schema, sort, and rebuild dictionaries from the sorted rows, so
    equal content gives equal bytes whatever order or chunking the input had."""
    table = storage.to_arrow(table, schema)
    plain = _plain_strings(table).combine_chunks()
    if sort_by and plain.num_rows:
        # Every scalar column breaks ties, so the order is total.
        keys = list(sort_by) + [f.name for f in plain.schema
                                if f.name not in sort_by and _sortable(f.type)]
        plain = plain.take(pc.sort_indices(plain, sort_keys=[(k, "ascending") for k in keys]))
    columns = []
    for field_, column in zip(schema, plain.columns):
        if pa.types.is_dictionary(field_.type):
            column = column.dictionary_encode().cast(field_.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema).combine_chunks()


class _HashingFile:
    """A write-only file that hashes what it is given and, when it has one, writes it through
    to `file`: a table or an archive is hashed as it is written, never copied whole in memory."""

    def __init__(self, file=None) -> None:
        self.file, self.digest, self.closed = file, hashlib.sha256(), False

    def write(self, data) -> int:
        self.digest.update(data)
        return self.file.write(data) if self.file is not None else len(data)

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()

    def close(self) -> None:
        self.closed = True


class TableDigest:
    """sha256 of a table's rows (dictionaries decoded) in Arrow IPC form, fed a piece at a
    time. Rows are re-cut into fixed-size batches first, so the digest depends on the rows
    only, never on how they were chunked or streamed."""

    ROWS = 1 << 16

    def __init__(self, schema: pa.Schema) -> None:
        self._sink = _HashingFile()
        plain = _plain_strings(schema.empty_table())
        self._stream = pa.PythonFile(self._sink, mode="w")
        self._writer = pa.ipc.new_stream(self._stream, plain.schema)
        self._pending = plain

    def update(self, table: pa.Table) -> None:
        self._pending = pa.concat_tables([self._pending, _plain_strings(table)])
        while self._pending.num_rows >= self.ROWS:
            self._writer.write_table(_copied(self._pending.slice(0, self.ROWS)))
            self._pending = self._pending.slice(self.ROWS)

    def hexdigest(self) -> str:
        if self._pending.num_rows:
            self._writer.write_table(_copied(self._pending))
        self._writer.close()
        self._stream.close()
        return self._sink.digest.hexdigest()


def _copied(table: pa.Table) -> pa.Table:
    """The rows in fresh buffers: IPC writes a slice of a string column differently from the
    same rows in a column of their own, and the digest must not see the difference."""
    return table.take(pa.array(range(table.num_rows), pa.int64())).combine_chunks()


def table_digest(table: pa.Table) -> str:
    digest = TableDigest(table.schema)
    digest.update(table)
    return digest.hexdigest()


def content_hash(digests: dict[str, str], summary: dict) -> str:
    """Hash of the release's data: every table's digest and the summary, not the version."""
    digest = hashlib.sha256()
    for name in sorted(digests):
        digest.update(f"{name}\0{digests[name]}\n".encode())
    digest.update(storage.dumps_json(summary).encode())
    return "sha256:" + digest.hexdigest()


# --- changes against the previous release -------------------------------------------------

def describe_changes(previous: Path | None, documents: pa.Table, row_counts: dict[str, int]) -> dict:
    current = {d: (s, sym) for d, s, sym in zip(documents.column("doc_id").to_pylist(),
                                                documents.column("source_sha256").to_pylist(),
                                                documents.column("symbol").to_pylist())}
    before: dict[str, tuple[str, str | None]] = {}
    before_counts: dict[str, int] = {}
    previous_version = None
    if previous is not None:
        previous_version = previous.name
        manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
        before_counts = manifest.get("tables", {})
        old = pq.read_table(previous / "documents.parquet", columns=["doc_id", "source_sha256", "symbol"])
        before = {d: (s, sym) for d, s, sym in zip(*(old.column(c).to_pylist()
                                                     for c in ("doc_id", "source_sha256", "symbol")))}

    def entry(doc_id: str, side: dict) -> dict:
        return {"doc_id": doc_id, "symbol": side[doc_id][1], "source_sha256": side[doc_id][0]}

    changed = []
    for doc_id in sorted(set(current) & set(before)):
        if current[doc_id][0] != before[doc_id][0]:
            changed.append({"doc_id": doc_id, "symbol": current[doc_id][1],
                            "source_sha256_before": before[doc_id][0],
                            "source_sha256": current[doc_id][0]})
    names = sorted(set(row_counts) | set(before_counts))
    return {
        "previous_version": previous_version,
        "documents": {
            "added": [entry(d, current) for d in sorted(set(current) - set(before))],
            "changed": changed,
            "removed": [entry(d, before) for d in sorted(set(before) - set(current))],
        },
        "rows": {
            name: {"before": before_counts.get(name), "after": row_counts.get(name),
                   "change": (row_counts.get(name) or 0) - (before_counts.get(name) or 0)}
            for name in names
        },
    }


# --- writing ------------------------------------------------------------------------------

def write_jsonl_rows(out, table: pa.Table) -> None:
    """Rows as JSON objects, one a line, UTF-8, to a file open for bytes (Polars' writer: the
    same values as json.dumps(row, ensure_ascii=False) and, on the release's columns, the same
    bytes, far faster)."""
    pl.from_arrow(table).write_ndjson(out)


class _ThreadedGzip:
    """A write-only file that gzips what it is given, CHUNK bytes at a time on a few threads
    (zlib releases the GIL), as pigz does: each chunk is deflated on its own and ended with a
    sync flush, so the pieces, written in order, make one deflate stream and one gzip member
    that every reader takes, streaming ones included. Chunks cut where the bytes fall and a
    header without time, name or system make the same bytes whatever the number of threads."""

    CHUNK = 4 << 20
    # gzip magic, deflate, no flags, mtime 0, no extra flags, OS unknown (as Python's GzipFile).
    HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

    def __init__(self, out, *, level: int = 6, threads: int | None = None) -> None:
        self._out, self._level = out, level
        self._threads = threads or min(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(self._threads)
        self._pending: deque = deque()
        self._buffer = bytearray()
        self._crc, self._size = 0, 0
        self._out.write(self.HEADER)

    def _deflate(self, chunk: bytes) -> bytes:
        compressor = zlib.compressobj(self._level, zlib.DEFLATED, -zlib.MAX_WBITS)
        return compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) >= self.CHUNK:
            self._submit(bytes(self._buffer[:self.CHUNK]))
            del self._buffer[:self.CHUNK]
        return len(data)

    def _submit(self, chunk: bytes) -> None:
        self._crc, self._size = zlib.crc32(chunk, self._crc), self._size + len(chunk)
        self._pending.append(self._pool.submit(self._deflate, chunk))
        while len(self._pending) > 2 * self._threads:  # bounded: a few chunks in memory at once
            self._out.write(self._pending.popleft().result())

    def flush(self) -> None:
        pass

    def close(self, *, complete: bool = True) -> None:
        """Write what is left and the gzip trailer; with complete=False (the archive failed),
        only stop the threads."""
        try:
            if complete:
                if self._buffer:
                    self._submit(bytes(self._buffer))
                    self._buffer.clear()
                while self._pending:
                    self._out.write(self._pending.popleft().result())
                # An empty final block ends the deflate stream; then CRC-32 and size, as gzip has them.
                self._out.write(zlib.compressobj(self._level, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH))
                self._out.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        finally:
            self._pool.shutdown(cancel_futures=True)


def write_archive(folder: Path, target: Path, root_name: str, *, threads: int | None = None) -> str:
    """A deterministic .tar.gz of the folder (sorted members, mtime 0, owner 0:0), streamed to
    `target`, a temporary name the caller renames; the same bytes whatever the number of
    compressing threads. Returns its sha256."""
    files = sorted(p for p in folder.rglob("*"))
    with open(target, "wb") as raw:
        out = _HashingFile(raw)
        gz = _ThreadedGzip(out, threads=threads)
        complete = False
        try:
            with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for path in files:
                    rel = path.relative_to(folder).as_posix()
                    info = tarfile.TarInfo(f"{root_name}/{rel}")
                    info.mtime = 0
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    if path.is_dir():
                        info.type = tarfile.DIRTYPE
                        info.mode = 0o755
                        tar.addfile(info)
                    else:
                        info.size = path.stat().st_size
                        info.mode = 0o644
                        with open(path, "rb") as f:
                            tar.addfile(info, f)
            complete = True
        finally:
            gz.close(complete=complete)
        raw.flush()
        os.fsync(raw.fileno())
    return out.digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_public(path: Path, text: str) -> None:
    storage.atomic_write_text(path, text)
    os.chmod(path, 0o644)


def _make_readable(folder: Path) -> None:
    """Temporary files and folders are private (0600/0700); a release is for everyone to read."""
    os.chmod(folder, 0o755)
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


@contextlib.contextmanager
def release_lock(data_dir: Path):
    """Serialise builders: only one cuts a release at a time."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def remove_leftovers(data_dir: Path) -> list[str]:
    """Temporary folders and files of release builders that were killed. Call under the
    lock. Only names this module makes are touched: other writers may share data_dir."""
    removed = []
    releases = data_dir / "releases"
    ours = {
        data_dir: (".LATEST.",),
        releases: (TEMP_PREFIX, ARCHIVE_TEMP_PREFIX, f".{DATASET}-"),
    }
    for parent, prefixes in ours.items():
        if not parent.is_dir():
            continue
        for path in sorted(parent.iterdir()):
            if not path.name.startswith(prefixes):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def _parquet_metadata(version: str, name: str, description: str) -> dict[str, str]:
    return {"unparl:version": version, "unparl:table": name, "unparl:description": description}


def _canonical_batches(table, schema: pa.Schema, sort_by: list[str]) -> Iterator[pa.Table]:
    """A table in release order: in memory (already canonical), or streamed a batch of whole
    documents at a time (stages.DocumentTable), each batch put in order on its own."""
    if isinstance(table, pa.Table):
        yield table
    else:
        for batch in table.batches():
            yield canonical_table(batch, schema, sort_by)


def _write_table(path: Path, table, schema: pa.Schema, sort_by: list[str] | None,
                 metadata: dict[str, str], jsonl: Path | None = None) -> tuple[str, int]:
    """Write one release table as Parquet (and as JSON Lines when `jsonl` is given) and hash
    its rows as they go by, in one pass: (digest, rows)."""
    digest = TableDigest(schema)
    with contextlib.ExitStack() as stack:
        lines = None
        if jsonl is not None:
            lines = stack.enter_context(open(stack.enter_context(storage.atomic_path(jsonl)), "wb"))

        def passing():
            for batch in _canonical_batches(table, schema, sort_by or []):
                digest.update(batch)
                if lines is not None:
                    write_jsonl_rows(lines, batch)
                yield batch

        rows = storage.write_parquet_batches(path, schema, passing(), metadata=metadata)
    return digest.hexdigest(), rows


def cut_release(
    data_dir: Path,
    tables: dict[str, pa.Table],
    stats: dict[str, pa.Table],
    summary: dict,
    *,
    inputs: list[dict],
    notes: list[str],
    code_version: dict,
    today: datetime.date,
) -> ReleaseResult:
    """Write a new release unless its data equals LATEST's. A table may be streamed (any
    object with `batches()` and `num_rows`, as stages.DocumentTable): it is read, put in
    order and written a batch at a time, never whole in memory."""
    data_dir = Path(data_dir)
    canonical: dict = {}
    for name, schema in schemas.TABLES.items():
        table = tables.get(name)
        if table is None or isinstance(table, pa.Table):
            table = canonical_table(table if table is not None else schema.empty_table(),
                                    schema, schemas.SORT_KEYS[name])
        canonical[name] = table
    for name, schema in STATS_SCHEMAS.items():
        table = stats.get(name)
        # Statistics come ranked; their order is part of their meaning.
        canonical[name] = canonical_table(table if table is not None else schema.empty_table(),
                                          schema, None)

    with release_lock(data_dir):
        remove_leftovers(data_dir)
        previous = latest_release(data_dir)
        releases = data_dir / "releases"
        releases.mkdir(parents=True, exist_ok=True)
        version = next_version(list_releases(data_dir), today)
        build = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{version}-", dir=releases))
        archive_tmp = releases / f"{ARCHIVE_TEMP_PREFIX}{version}-{os.getpid()}.tar.gz"
        try:
            # The tables are hashed as they are written, so the largest is read once.
            digests, row_counts = {}, {}
            for name, table in canonical.items():
                digests[name], row_counts[name] = _write_table(
                    build / f"{name}.parquet", table, _schema_of(name), schemas.SORT_KEYS.get(name),
                    _parquet_metadata(version, name, DESCRIPTIONS[name]),
                    jsonl=build / f"{name}.jsonl" if name in JSONL_TABLES else None)
            digest = content_hash(digests, summary)
            if previous is not None:
                manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
                if manifest.get("content_hash") == digest:
                    shutil.rmtree(build, ignore_errors=True)
                    return ReleaseResult(previous.name, previous, False, digest, {},
                                         f"data identical to {previous.name}; no new release")
            changes = _write_release(build, version, canonical, row_counts, summary, previous,
                                     inputs=inputs, notes=notes, code_version=code_version,
                                     today=today, content_hash=digest)
            problems = release_verify.problems(build)
            if problems:
                raise ReleaseInvalid(f"release {version} not published: " + "; ".join(problems))
            archive_name = f"{DATASET}-{version}.tar.gz"
            archive_sha = write_archive(build, archive_tmp, f"{DATASET}-{version}")
            _make_readable(build)
            os.chmod(archive_tmp, 0o644)
            target = releases / version
            os.rename(build, target)
            os.replace(archive_tmp, releases / archive_name)
            _write_public(releases / f"{archive_name}.sha256", f"{archive_sha}  {archive_name}\n")
            _fsync_dir(releases)
            _write_public(data_dir / "LATEST", version + "\n")
            _fsync_dir(data_dir)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            archive_tmp.unlink(missing_ok=True)
            raise
    reason = "first release" if previous is None else f"data differ from {previous.name}"
    return ReleaseResult(version, target, True, digest, changes, reason)


def _schema_of(name: str) -> pa.Schema:
    return schemas.TABLES[name] if name in schemas.TABLES else STATS_SCHEMAS[name]


def _write_release(
    folder: Path,
    version: str,
    tables: dict[str, pa.Table],
    row_counts: dict[str, int],
    summary: dict,
    previous: Path | None,
    *,
    inputs: list[dict],
    notes: list[str],
    code_version: dict,
    today: datetime.date,
    content_hash: str,
) -> dict:
    """Everything of a release but its Parquet tables (written already)."""
    storage.atomic_write_text(folder / "statistics.json", storage.dumps_json(summary))

    notes = list(notes)
    if cjk_font_path() is None:
        notes.append("No CJK font was found when the charts were drawn: their Chinese labels may show as boxes.")
    charts = draw_charts({n: t for n, t in tables.items() if n in STATS_SCHEMAS}, folder / "charts")

    changes = describe_changes(previous, tables["documents"], row_counts)
    storage.atomic_write_text(folder / "CHANGES.json", storage.dumps_json(changes))

    context = {
        "version": version,
        "today": today,
        "content_hash": content_hash,
        "tables": tables,
        "descriptions": DESCRIPTIONS,
        "summary": summary,
        "inputs": inputs,
        "notes": notes,
        "code_version": code_version,
        "changes": changes,
        "charts": {name: path.relative_to(folder).as_posix() for name, path in charts.items()},
    }
    storage.atomic_write_text(folder / "datapackage.json", storage.dumps_json(data_package(folder, context)))
    storage.atomic_write_text(folder / "croissant.json", storage.dumps_json(croissant_metadata(folder, context)))
    storage.atomic_write_text(folder / "README.md", data_card(context))

    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        entry = {"sha256": storage.sha256_file(path), "bytes": path.stat().st_size}
        stem = path.name.split(".")[0]
        if path.suffix == ".parquet":
            entry["rows"] = row_counts[stem]
        elif path.suffix == ".jsonl":
            entry["rows"] = row_counts[stem]
        files[rel] = entry
    manifest = {
        "name": DATASET,
        "version": version,
        "release_date": today.isoformat(),
        "content_hash": content_hash,
        "previous_version": changes["previous_version"],
        "inputs": sorted(inputs, key=lambda i: (str(i.get("source_file")), json.dumps(i, sort_keys=True))),
        "code_version": code_version,
        "tables": row_counts,
        "files": files,
    }
    storage.atomic_write_text(folder / "manifest.json", storage.dumps_json(manifest))
    return changes
