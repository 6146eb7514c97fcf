"""Cutting a release: an immutable, versioned folder of Parquet, JSON Lines, CoNLL-U and
metadata, LATEST naming the newest, and (written apart, archive_release) an archive beside it.

Versions are calendar versions (vYYYY.MM.DD, then vYYYY.MM.DD.2 for a second
release on the same day), as PUDL names its releases. A release is built in a
hidden temporary folder inside data_dir and renamed into place, so a reader
never sees half a release; builders take turns on a lock file, so LATEST only
ever names a complete one. A rebuild whose data equals LATEST's cuts nothing:
the comparison uses the content hash, a hash of the data files' sha256 (the
Parquet and JSON Lines files and statistics.json, as manifest.json lists them).
Those files carry neither the version nor the date, and their bytes depend on
their rows only (never on how the rows were batched), so equal data gives an
equal hash; the files that do name the version or date (README.md, CHANGES.json,
datapackage.json, croissant.json, manifest.json) are left out of it, as are the
charts, which are drawn from the statistics.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.lib import storage
from pipeline.lib.release import verify as release_verify
from pipeline.lib.release.card import croissant_metadata, data_card, data_package, un_document_url
from pipeline.lib.release.names import ARCHIVE_SUFFIX, DATASET, VERSION_PATTERN, archive_name, version_key  # noqa: F401 (re-exported)
from pipeline.lib.release.site import ReleaseUnreadable, write_index
from pipeline.lib.release.charts import draw_charts
from pipeline.lib.release.stats import STATS_DESCRIPTIONS, STATS_SCHEMAS

JSONL_TABLES = ("documents", "paragraphs", "sentences", "entities", "entity_catalog", "document_status", "quarantine")
LOCK_FILE = ".release.lock"
TEMP_PREFIX = ".build-"
ARCHIVE_TEMP_PREFIX = ".archive-"
# Rows in a Parquet row group. Every table is re-cut to it as it is written, so a file's bytes
# (and sha256) depend on its rows only, whatever batches they arrived in.
ROW_GROUP_ROWS = 1 << 17
TABLE_DESCRIPTIONS = {
    "documents": "One row per document: metadata (with provenance), cleaned text and counts.",
    "paragraphs": "Paragraphs with their kind, number, section and offsets into clean_text.",
    "sentences": "Sentences with offsets into clean_text.",
    "tokens": "Tokens (jieba segmentation) with part-of-speech tags and offsets into clean_text.",
    "entities": "Entity mentions with canonical entity_id, type and offsets into clean_text.",
    "entity_catalog": "One row per canonical entity: name, aliases, ISO3 for countries, mention counts.",
    "quarantine": "Source files that were not processed, with the reason.",
    "document_status": "Where every document of the build stands: ok, quarantined or failed, with the "
                       "reason, rows per stage, warnings and the code version it was built with.",
}
DESCRIPTIONS = {**TABLE_DESCRIPTIONS, **STATS_DESCRIPTIONS}


@dataclass
class ReleaseResult:
    version: str | None
    path: Path | None
    created: bool
    content_hash: str
    changes: dict = field(default_factory=dict)
    reason: str = ""
    # The release's checks (release_verify), run once on the folder before it is published:
    # a release that fails one is not published. Empty when no release was written.
    checks: dict[str, tuple[bool, dict]] = field(default_factory=dict)
    parts_written: int = 0  # parts of the per-document tables written anew
    parts_linked: int = 0  # parts linked, unchanged, from the previous release
    index_problem: str = ""  # why data/index.html could not be regenerated, if it could not


# --- versions -----------------------------------------------------------------------------

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
    """A write-only file that hashes what it is given and writes it through to `file`: a
    table's Parquet and JSON Lines files are hashed as they are written, never read back."""

    def __init__(self, file) -> None:
        self.file, self.digest, self.closed = file, hashlib.sha256(), False

    def write(self, data) -> int:
        self.digest.update(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.closed = True  # the caller closes `file`


def is_content_file(name: str) -> bool:
    """Whether a release file (its path in the release, as manifest.json has it) is one the
    content hash covers: the tables' parts in Parquet, JSON Lines and CoNLL-U, and
    statistics.json."""
    return name.endswith((".parquet", ".jsonl", ".conllu")) or name == "statistics.json"


def content_hash(file_sha256: dict[str, str]) -> str:
    """The release's content hash: sha256 over the sorted lines `<file>\\0<sha256>\\n` of the
    data files (is_content_file) among `file_sha256` (a file's path → its hex sha256, as
    manifest.json's "files" gives them). Neither the version nor the date is in those files."""
    digest = hashlib.sha256()
    for name in sorted(n for n in file_sha256 if is_content_file(n)):
        digest.update(f"{name}\0{file_sha256[name]}\n".encode())
    return "sha256:" + digest.hexdigest()


def manifest_content_hash(manifest: dict) -> str:
    """The content hash recomputed from a release's manifest.json (equal to its content_hash)."""
    return content_hash({name: entry["sha256"] for name, entry in manifest["files"].items()})


# --- changes against the previous release -------------------------------------------------

def table_paths(release: Path, table: str) -> list[Path]:
    """The Parquet files of one table of a release, in order: its folder's parts, or the single
    file of a release in the earlier flat layout."""
    parts = sorted((release / table).glob("part-*.parquet"))
    flat = release / f"{table}.parquet"
    return parts or ([flat] if flat.is_file() else [])


def read_table(release: Path, table: str, columns: list[str] | None = None) -> pa.Table:
    """One table of a release, all its parts, in order."""
    paths = table_paths(release, table)
    if not paths:
        raise FileNotFoundError(f"{release} has no table {table!r}")
    return pa.concat_tables([pq.read_table(path, columns=columns) for path in paths])


def table_rows(release: Path, table: str) -> int:
    return sum(pq.ParquetFile(path).metadata.num_rows for path in table_paths(release, table))


def describe_changes(previous: Path | None, documents: list[dict], row_counts: dict[str, int]) -> dict:
    current = {d["doc_id"]: (d["source_sha256"], d["symbol"]) for d in documents}
    before: dict[str, tuple[str, str | None]] = {}
    before_counts: dict[str, int] = {}
    previous_version = None
    if previous is not None:
        previous_version = previous.name
        manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
        before_counts = manifest.get("tables", {})
        for path in table_paths(previous, "documents"):
            old = pq.read_table(path, columns=["doc_id", "source_sha256", "symbol"])
            before.update({d: (s, sym) for d, s, sym in zip(*(old.column(c).to_pylist()
                                                              for c in ("doc_id", "source_sha256", "symbol")))})

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


# Text is deflated; everything else (Parquet, already zstd-compressed, PNG) is stored as it is.
DEFLATED_SUFFIXES = frozenset({".json", ".jsonl", ".md", ".csv", ".tsv", ".txt", ".conllu", ".svg"})
ARCHIVE_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time ZIP can hold


def archive_release(data_dir: Path, version: str) -> tuple[Path, str]:
    """The release's archive, `releases/unparl-<version>.zip` with its `.sha256`, written once (a
    release's archive, like the release, is never rewritten): (path, sha256). Its cost follows the
    size of the whole release, so it is written apart from the cut, after the release is published."""
    data_dir = Path(data_dir)
    releases = data_dir / "releases"
    target = releases / archive_name(version)
    checksum = releases / f"{archive_name(version)}.sha256"
    with release_lock(data_dir):
        if target.is_file() and checksum.is_file():
            return target, checksum.read_text(encoding="utf-8").split()[0]
        folder = releases / version
        if not (folder / "manifest.json").is_file():
            raise FileNotFoundError(f"{folder} is not a published release")
        temp = releases / f"{ARCHIVE_TEMP_PREFIX}{version}-{os.getpid()}{ARCHIVE_SUFFIX}"
        try:
            sha = write_archive(folder, temp, f"{DATASET}-{version}")
            os.chmod(temp, 0o644)
            os.replace(temp, target)
            _write_public(checksum, f"{sha}  {target.name}\n")
            _fsync_dir(releases)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        _refresh_index(data_dir)
    return target, sha


def write_archive(folder: Path, target: Path, root_name: str) -> str:
    """A deterministic ZIP of the folder's files at `target`, a temporary name the caller renames:
    members `root_name/<path>` in sorted order, each dated 1980-01-01 00:00, mode 0644, text
    deflated and the rest stored. The same folder gives the same bytes. Returns its sha256."""
    files = sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob("*") if p.is_file())
    with open(target, "wb") as raw:
        with zipfile.ZipFile(raw, "w") as archive:
            for rel, path in files:
                info = zipfile.ZipInfo(f"{root_name}/{rel}", date_time=ARCHIVE_DATE_TIME)
                info.compress_type = (zipfile.ZIP_DEFLATED if path.suffix.lower() in DEFLATED_SUFFIXES
                                      else zipfile.ZIP_STORED)
                info.create_system = 3  # Unix, so that unzip applies the mode below
                info.external_attr = 0o644 << 16
                # The size known ahead lets zipfile choose ZIP64 for a member of 2 GiB or more.
                info.file_size = path.stat().st_size
                with open(path, "rb") as source, archive.open(info, "w") as member:
                    shutil.copyfileobj(source, member, 1 << 20)
        raw.flush()
        os.fsync(raw.fileno())
    with open(target, "rb") as written:
        return hashlib.file_digest(written, "sha256").hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_public(path: Path, text: str) -> None:
    storage.atomic_write_text(path, text)
    os.chmod(path, 0o644)


def _make_readable(folder: Path, skip: set[str] = frozenset()) -> None:
    """Temporary files and folders are private (0600/0700); a release is for everyone to read.
    Files linked from an earlier release (`skip`) are published already and never touched."""
    os.chmod(folder, 0o755)
    for path in folder.rglob("*"):
        if path.is_dir():
            os.chmod(path, 0o755)
        elif path.relative_to(folder).as_posix() not in skip:
            os.chmod(path, 0o644)


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


def _parquet_metadata(name: str, description: str) -> dict[str, str]:
    """Key-value metadata of a release's Parquet file. No version or date: a table that did not
    change keeps its bytes, and its sha256, from one release to the next."""
    return {"unparl:table": name, "unparl:description": description}


def _canonical_batches(table, schema: pa.Schema, sort_by: list[str]) -> Iterator[pa.Table]:
    """A table in release order: in memory (already canonical), or streamed a batch of whole
    documents at a time (stages.DocumentTable), each batch put in order on its own."""
    if isinstance(table, pa.Table):
        yield table
    else:
        for batch in table.batches():
            yield canonical_table(batch, schema, sort_by)


def _row_groups(tables: Iterable[pa.Table], schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """The rows re-cut into tables of `rows` rows (the last one fewer), each one contiguous
    chunk whose dictionaries are built from its own rows, in order of first appearance: the
    Parquet writer then writes the same bytes for the same rows however they arrived."""
    pending: pa.Table | None = None
    for table in tables:
        pending = table if pending is None else pa.concat_tables([pending, table])
        while pending.num_rows >= rows:
            yield _encoded(pending.slice(0, rows), schema)
            pending = pending.slice(rows)
    if pending is not None and pending.num_rows:
        yield _encoded(pending, schema)


def _encoded(table: pa.Table, schema: pa.Schema) -> pa.Table:
    plain = _plain_strings(table).combine_chunks()
    columns = [column.dictionary_encode().cast(field_.type) if pa.types.is_dictionary(field_.type) else column
               for field_, column in zip(schema, plain.columns)]
    return pa.Table.from_arrays(columns, schema=schema).combine_chunks()


def _write_table(path: Path, table, schema: pa.Schema, sort_by: list[str] | None,
                 metadata: dict[str, str], jsonl: Path | None = None,
                 keep: Callable[[pa.Table], None] | None = None,
                 transform: Callable[[pa.Table], pa.Table] | None = None) -> tuple[dict[Path, str], int]:
    """Write one table (or one part of a table) as Parquet (and as JSON Lines when `jsonl` is
    given), each file hashed as it is written, in one pass over the rows: ({path: sha256},
    rows). `transform` fills what the release adds to each canonical batch; `keep`, when given,
    sees every batch as written (the CoNLL-U writer reads them)."""
    file_schema = schema.with_metadata({**(schema.metadata or {}),
                                        **{k.encode(): v.encode() for k, v in metadata.items()}})
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    if jsonl is not None:
        jsonl.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        lines = None
        if jsonl is not None:
            lines = _HashingFile(stack.enter_context(open(stack.enter_context(storage.atomic_path(jsonl)), "wb")))
        parquet = _HashingFile(stack.enter_context(open(stack.enter_context(storage.atomic_path(path)), "wb")))
        writer = stack.enter_context(pq.ParquetWriter(pa.PythonFile(parquet, mode="w"), file_schema,
                                                      **storage.PARQUET_OPTIONS))

        def passing() -> Iterator[pa.Table]:
            nonlocal rows
            for batch in _canonical_batches(table, schema, sort_by or []):
                if transform is not None:
                    batch = transform(batch)
                if lines is not None:
                    write_jsonl_rows(lines, batch)
                if keep is not None:
                    keep(batch)
                rows += batch.num_rows
                yield batch

        for group in _row_groups(passing(), file_schema, ROW_GROUP_ROWS):
            writer.write_table(group)
        # An empty table is a file with its schema and no row group.
    hashes = {path: parquet.digest.hexdigest()}
    if lines is not None:
        hashes[jsonl] = lines.digest.hexdigest()
    return hashes, rows


# --- parts --------------------------------------------------------------------------------
#
# Every table has a folder of its own, `<table>/part-NNNNN.parquet`, and nothing else in it, so
# each reader loads a table by its folder. The per-document tables are cut into parts of whole
# documents; a document, once placed, stays in its part from one release to the next, and a new
# document joins the newest part until it is full. A part whose documents are all unchanged
# (same fingerprints, same writer) is hard-linked from the previous release after its files pass
# their hash check; only parts holding a changed, added or removed document are written.

PER_DOCUMENT = ("documents", "paragraphs", "sentences", "tokens", "entities")
# Rows of the per-document tables a part holds before it is full (about 40 documents of the
# seeds' size): some 2.5 MB of Parquet, tokens most of it, and 25 MB with its JSON Lines and
# CoNLL-U. A new report rewrites one part, so this bounds what it costs.
PART_ROWS = 250_000
# The files whose code decides a part's bytes: a change to any of them rewrites every part.
WRITER_FILES = ("lib/release/cut.py", "lib/release/conllu.py", "lib/storage.py", "schemas.py",
                "gazetteers/jieba_upos.tsv")


def part_name(number: int) -> str:
    return f"part-{number:05d}"


def part_files(table: str, part: str) -> list[str]:
    """The files of one table's part in a release, Parquet first."""
    files = [f"{table}/{part}.parquet"]
    if table in JSONL_TABLES:
        files.append(f"jsonl/{table}/{part}.jsonl")
    return files


@functools.lru_cache(maxsize=1)
def writer_version() -> str:
    """The version of the code that writes a part's bytes, as this process loaded it."""
    from pipeline.lib import chain

    return f"{chain.files_version(*WRITER_FILES)}; pyarrow {pa.__version__}"


@dataclass(frozen=True)
class Part:
    name: str
    documents: tuple[str, ...]
    fingerprint: str | None  # None: never linked (a document's fingerprint is unknown)


def assign_parts(rows: dict[str, int], previous: list[dict], part_rows: int = PART_ROWS) -> list[tuple[str, list[str]]]:
    """Documents into parts: each stays in the part the previous release put it in; new ones
    (in doc_id order) fill the newest part, then new parts, up to `part_rows` rows a part.
    `rows` is a document's rows in the per-document tables; `previous` the previous manifest's
    "parts". Part numbers are never reused."""
    parts: list[tuple[str, list[str]]] = []
    placed: set[str] = set()
    highest = -1
    for entry in previous:
        highest = max(highest, int(entry["part"].removeprefix("part-")))
        kept = [d for d in entry["documents"] if d in rows]
        placed.update(kept)
        if kept:
            parts.append((entry["part"], kept))
    parts.sort()
    fresh = sorted(d for d in rows if d not in placed)
    filled = sum(rows[d] for d in parts[-1][1]) if parts else 0
    for doc_id in fresh:
        if not parts or (filled >= part_rows and parts[-1][1]):
            highest += 1
            parts.append((part_name(highest), []))
            filled = 0
        parts[-1][1].append(doc_id)
        filled += rows[doc_id]
    if not parts:
        parts.append((part_name(highest + 1), []))
    return [(name, sorted(docs)) for name, docs in parts]


def part_fingerprint(documents: list[str], fingerprints: dict[str, str] | None, writer: str) -> str | None:
    if fingerprints is None or any(d not in fingerprints for d in documents):
        return None
    digest = hashlib.sha256(writer.encode())
    for doc_id in documents:
        digest.update(f"\n{doc_id}\0{fingerprints[doc_id]}".encode())
    return "sha256:" + digest.hexdigest()


def _document_rows(tables: dict) -> dict[str, int]:
    """Each document's rows in the per-document tables (for sizing parts)."""
    counts: dict[str, int] = {}
    for name in PER_DOCUMENT:
        table = tables[name]
        if isinstance(table, pa.Table):
            if table.num_rows:
                for item in pc.value_counts(table.column("doc_id")).to_pylist():
                    counts[item["values"]] = counts.get(item["values"], 0) + item["counts"]
        else:
            for work in table.parts:
                counts[work.doc_id] = counts.get(work.doc_id, 0) + work.rows
    for doc_id in tables["documents"].column("doc_id").to_pylist() if isinstance(tables["documents"], pa.Table) else []:
        counts.setdefault(doc_id, 1)
    return counts


def _subset(table, doc_ids: list[str]):
    """The rows of these documents: a filtered table, or a DocumentTable of their files."""
    if isinstance(table, pa.Table):
        if not table.num_rows:
            return table
        return table.filter(pc.is_in(table.column("doc_id"), pa.array(doc_ids, pa.string())))
    wanted = set(doc_ids)
    return type(table)(table.name, table.schema, [p for p in table.parts if p.doc_id in wanted])


VERIFIED_FILE = ".verified.json"


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    # ctime too: a file's mtime can be set back (os.utime, cp -p over it), its ctime cannot.
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _load_verified(releases: Path) -> dict[str, list]:
    """What the last cut knew of LATEST's data files: path in releases/ -> [inode, size, mtime_ns,
    sha256] as they were when their sha256 was last computed."""
    try:
        return json.loads((releases / VERIFIED_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def _save_verified(releases: Path, release: Path, files: dict[str, dict]) -> None:
    known = {}
    for rel, entry in files.items():
        if is_content_file(rel):
            known[f"{release.name}/{rel}"] = [*_stat_key(release / rel), entry["sha256"]]
    storage.atomic_write_text(releases / VERIFIED_FILE, storage.dumps_json(known, indent=None))


def unchanged_since_checked(release: Path) -> set[str]:
    """The files of a published release (paths in it) whose inode, size and times are those
    they had when their sha256 was last computed: a check of the release need not read them
    again (see _linkable)."""
    release = Path(release)
    known = _load_verified(release.parent)
    prefix = f"{release.name}/"
    unchanged = set()
    for name, entry in known.items():
        if name.startswith(prefix):
            rel = name[len(prefix):]
            try:
                if [*_stat_key(release / rel), entry[-1]] == entry:
                    unchanged.add(rel)
            except FileNotFoundError:
                continue
    return unchanged


def _linkable(previous: Path | None, previous_files: dict, files: list[str], verified: dict[str, list]) -> bool:
    """Whether a previous release's part files can be reused: all listed, present, and equal to
    the sha256 its manifest gives (a part that fails its hash check is rewritten, never linked).
    A file whose inode, size and time are those it had when its sha256 was last computed (by
    this cut's predecessor) is not read again, as git trusts its index: any write to it changes
    its time, so the check reads only files touched since."""
    if previous is None:
        return False
    unsure = []
    for rel in files:
        entry = previous_files.get(rel)
        path = previous / rel
        if entry is None or not path.is_file() or path.stat().st_size != entry.get("bytes"):
            return False
        if verified.get(f"{previous.name}/{rel}") != [*_stat_key(path), entry["sha256"]]:
            unsure.append(rel)
    with ThreadPoolExecutor(4) as pool:  # hashlib releases the GIL on large buffers
        return all(pool.map(lambda rel: storage.sha256_file(previous / rel) == previous_files[rel]["sha256"], unsure))


def _link(source: Path, target: Path) -> None:
    """A hard link to a published file (its bytes are shared, never the file changed); a copy
    where links cannot be made (another file system, a file system without links)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        with storage.atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o644)  # published as the linked file is (_make_readable skips it)


@dataclass
class _Written:
    """What the data files of a release are: sha256 and entry of each file, rows of each table."""

    folder: Path
    files: dict[str, dict] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    linked: set[str] = field(default_factory=set)

    def add(self, hashes: dict[Path, str], table: str | None = None, rows: int | None = None) -> None:
        for path, sha in hashes.items():
            rel = path.relative_to(self.folder).as_posix()
            entry = {"sha256": sha, "bytes": path.stat().st_size}
            if table is not None:
                entry.update(table=table, format=path.suffix.lstrip("."), rows=rows)
            self.files[rel] = entry

    def sha256(self) -> dict[str, str]:
        return {rel: entry["sha256"] for rel, entry in self.files.items()}


def _write_parts(build: Path, tables: dict, previous: Path | None, fingerprints: dict[str, str] | None,
                 part_rows: int, written: _Written) -> list[dict]:
    """The per-document tables, part by part, linked where unchanged: the manifest's "parts"."""
    previous_manifest = _manifest(previous) if previous is not None else {}
    previous_parts = {p["part"]: p for p in previous_manifest.get("parts", [])}
    previous_files = previous_manifest.get("files", {})
    verified = _load_verified(build.parent)
    writer = writer_version()
    layout = []
    for name, documents in assign_parts(_document_rows(tables), list(previous_parts.values()), part_rows):
        fingerprint = part_fingerprint(documents, fingerprints, writer)
        files = [f for table in PER_DOCUMENT for f in part_files(table, name)] + [f"conllu/{name}.conllu"]
        before = previous_parts.get(name)
        if (fingerprint is not None and before is not None and before.get("fingerprint") == fingerprint
                and before.get("documents") == documents and _linkable(previous, previous_files, files, verified)):
            for rel in files:
                _link(previous / rel, build / rel)
                written.files[rel] = dict(previous_files[rel])
                written.linked.add(rel)
                if previous_files[rel].get("format") == "parquet":
                    table = previous_files[rel]["table"]
                    written.rows[table] = written.rows.get(table, 0) + previous_files[rel]["rows"]
        else:
            _write_part(build, name, {t: _subset(tables[t], documents) for t in PER_DOCUMENT}, written)
        layout.append({"part": name, "documents": documents, "fingerprint": fingerprint})
    return layout


def _write_part(build: Path, part: str, tables: dict, written: _Written) -> None:
    from pipeline.lib.release.conllu import write_conllu

    kept: dict[str, list[pa.Table]] = {"sentences": [], "tokens": [], "entities": []}
    # Entities first: the paragraphs' `addressees` come from their mentions' roles.
    order = ("documents", "entities", "paragraphs", "sentences", "tokens")
    for name in order:
        files = part_files(name, part)
        hashes, rows = _write_table(
            build / files[0], tables[name], schemas.TABLES[name], schemas.SORT_KEYS[name],
            _parquet_metadata(name, DESCRIPTIONS[name]),
            jsonl=build / files[1] if len(files) > 1 else None,
            keep=kept[name].append if name in kept else None,
            transform=(_with_addressees(_concat(kept["entities"], schemas.ENTITIES)) if name == "paragraphs"
                       else _with_un_url if name == "documents" else None))
        written.add(hashes, name, rows)
        written.rows[name] = written.rows.get(name, 0) + rows
    target = build / "conllu" / f"{part}.conllu"
    target.parent.mkdir(parents=True, exist_ok=True)
    with storage.atomic_path(target) as tmp, open(tmp, "wb") as raw:
        out = _HashingFile(raw)
        counts = write_conllu(out, *(_concat(kept[n], schemas.TABLES[n]) for n in ("sentences", "tokens", "entities")),
                              source=f"conllu/{part}.conllu")
    # Its rows: the sentences it holds (a sentence with no token is left out of CoNLL-U).
    written.add({target: out.digest.hexdigest()}, "conllu", counts.sentences)


def _with_un_url(documents: pa.Table) -> pa.Table:
    """Fills documents' `un_url`: the UN's own copy, from the symbol."""
    values = [un_document_url(symbol) for symbol in documents.column("symbol").to_pylist()]
    i = documents.schema.get_field_index("un_url")
    return documents.set_column(i, documents.schema.field("un_url"), pa.array(values, pa.string()))


def _with_addressees(entities: pa.Table) -> Callable[[pa.Table], pa.Table]:
    """Fills paragraphs' `addressees` from the mentions of these entities whose role is
    'addressee', in the order of the text (rows are in char_start order), each id once."""
    rows = entities.select(["para_id", "entity_id", "role"]).to_pylist() if "role" in entities.column_names else []
    found: dict[str, list[str]] = {}
    for row in rows:
        if row["role"] == "addressee" and row["entity_id"] not in found.setdefault(row["para_id"], []):
            found[row["para_id"]].append(row["entity_id"])
    field_ = schemas.PARAGRAPHS.field("addressees")

    def fill(paragraphs: pa.Table) -> pa.Table:
        values = [found.get(para_id, []) for para_id in paragraphs.column("para_id").to_pylist()]
        i = paragraphs.schema.get_field_index("addressees")
        return paragraphs.set_column(i, field_, pa.array(values, field_.type))

    return fill


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _manifest(release: Path) -> dict:
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))


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
    fingerprints: dict[str, str] | None = None,
    part_rows: int = PART_ROWS,
    settings: dict | None = None,
    index: pa.Table | None = None,
    quality: dict | None = None,
) -> ReleaseResult:
    """Write a new release unless its data equals LATEST's. A per-document table may be streamed
    (a DocumentTable: its documents' work files, read a few at a time, never whole in memory).
    `fingerprints` (doc_id -> what its rows were made from) lets unchanged parts be linked from
    LATEST; without them every part is written. `index`: the documents' rows without their text
    (lib.corpus.Corpus.documents), so the card and the change list need not read the texts.
    `settings`: maintainers and contact for the card; `quality`: the entity tagger's recorded
    scores (lib.entities.evaluation.recorded_quality)."""
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
        try:
            # The data files, each hashed as it is written (or checked as it is linked): their
            # sha256 make the content hash and go into the manifest as they are.
            written = _Written(build)
            layout = _write_parts(build, canonical, previous, fingerprints, part_rows, written)
            for name, table in canonical.items():
                if name in PER_DOCUMENT:
                    continue
                files = part_files(name, part_name(0))
                hashes, rows = _write_table(
                    build / files[0], table, _schema_of(name), schemas.SORT_KEYS.get(name),
                    _parquet_metadata(name, DESCRIPTIONS[name]),
                    jsonl=build / files[1] if len(files) > 1 else None)
                written.add(hashes, name, rows)
                written.rows[name] = rows
            statistics = storage.dumps_json(summary).encode()
            storage.atomic_write_bytes(build / "statistics.json", statistics)
            written.files["statistics.json"] = {"sha256": hashlib.sha256(statistics).hexdigest(),
                                                "bytes": len(statistics)}
            digest = content_hash(written.sha256())
            if previous is not None and _manifest(previous).get("content_hash") == digest:
                shutil.rmtree(build, ignore_errors=True)
                # Linking changed the ctime of LATEST's linked files: record them as checked now.
                _save_verified(releases, previous, {rel: e for rel, e in written.files.items() if rel in written.linked})
                return ReleaseResult(previous.name, previous, False, digest, {},
                                     f"data identical to {previous.name}; no new release")
            changes = _write_release(build, version, canonical, written, summary, previous, layout,
                                     index if index is not None else canonical["documents"], inputs=inputs, notes=notes, code_version=code_version,
                                     today=today, content_hash=digest, settings=settings or {},
                                     quality=quality or {})
            checked = release_verify.outcomes(build, trusted=written.linked)
            if release_verify.problems(checked):
                shutil.rmtree(build, ignore_errors=True)
                return ReleaseResult(None, None, False, digest, changes,
                                     f"release {version} not published: it failed its checks", checked)
            _make_readable(build, skip=written.linked)
            target = releases / version
            os.rename(build, target)
            _fsync_dir(releases)
            _save_verified(releases, target, written.files)
            _write_public(data_dir / "LATEST", version + "\n")
            _fsync_dir(data_dir)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        # The download page lists every release; the release itself is published already, so a
        # page that cannot be made (an older release's manifest unreadable) is reported, not raised.
        index_problem = _refresh_index(data_dir)
    reason = "first release" if previous is None else f"data differ from {previous.name}"
    linked = sum(1 for p in layout if f"conllu/{p['part']}.conllu" in written.linked)
    return ReleaseResult(version, target, True, digest, changes, reason, checked,
                         parts_written=len(layout) - linked, parts_linked=linked, index_problem=index_problem)


def _refresh_index(data_dir: Path) -> str:
    """Regenerate data/index.html; what went wrong, in words, or ''."""
    try:
        write_index(data_dir)
    except ReleaseUnreadable as exc:
        return f"data/index.html was not regenerated: {exc}"
    return ""


def _schema_of(name: str) -> pa.Schema:
    return schemas.TABLES[name] if name in schemas.TABLES else STATS_SCHEMAS[name]


def _write_release(
    folder: Path,
    version: str,
    tables: dict,
    written: _Written,
    summary: dict,
    previous: Path | None,
    layout: list[dict],
    index,
    *,
    inputs: list[dict],
    notes: list[str],
    code_version: dict,
    today: datetime.date,
    content_hash: str,
    settings: dict,
    quality: dict,
) -> dict:
    """Everything of a release but its data files (the tables and statistics.json, written or
    linked already, in `written`). Every other file is hashed once, when written."""
    files = written.files

    def hashed(path: Path) -> Path:
        with open(path, "rb") as f:
            files[path.relative_to(folder).as_posix()] = {
                "sha256": hashlib.file_digest(f, "sha256").hexdigest(), "bytes": path.stat().st_size}
        return path

    notes = list(notes)
    charts = draw_charts({n: t for n, t in tables.items() if n in STATS_SCHEMAS}, folder / "charts")
    for path in charts.values():
        hashed(path)

    documents = _documents_list(index)
    changes = describe_changes(previous, documents, written.rows)
    storage.atomic_write_text(folder / "CHANGES.json", storage.dumps_json(changes))
    hashed(folder / "CHANGES.json")

    context = {
        "version": version,
        "today": today,
        "content_hash": content_hash,
        "schemas": {name: _schema_of(name) for name in tables},
        "descriptions": DESCRIPTIONS,
        "rows": dict(written.rows),
        "files": files,
        "examples": {name: _example(folder, files, name) for name in tables},
        "documents": documents,
        "summary": summary,
        "inputs": inputs,
        "notes": notes,
        "code_version": code_version,
        "changes": changes,
        "charts": {name: path.relative_to(folder).as_posix() for name, path in charts.items()},
        "archive": archive_name(version),
        "settings": settings,
        "quality": quality,
    }
    storage.atomic_write_text(folder / "datapackage.json", storage.dumps_json(data_package(folder, context)))
    storage.atomic_write_text(folder / "croissant.json", storage.dumps_json(croissant_metadata(folder, context)))
    storage.atomic_write_text(folder / "README.md", data_card(context))
    for name in ("datapackage.json", "croissant.json", "README.md"):
        hashed(folder / name)
    manifest = {
        "name": DATASET,
        "version": version,
        "release_date": today.isoformat(),
        "content_hash": content_hash,
        "previous_version": changes["previous_version"],
        "inputs": sorted(inputs, key=lambda i: (str(i.get("source_file")), json.dumps(i, sort_keys=True))),
        "code_version": code_version,
        "tables": {name: written.rows.get(name, 0) for name in tables},
        "parts": layout,
        "files": dict(sorted(files.items())),
    }
    storage.atomic_write_text(folder / "manifest.json", storage.dumps_json(manifest))
    return changes


DOCUMENT_LIST_COLUMNS = ("doc_id", "symbol", "title", "doc_type", "date", "source_sha256")


def _documents_list(documents) -> list[dict]:
    """The release's documents, a few columns each (for the card, the changes and the page)."""
    if not isinstance(documents, pa.Table):
        documents = pa.concat_tables(list(documents.batches(list(DOCUMENT_LIST_COLUMNS))))
    columns = [c for c in DOCUMENT_LIST_COLUMNS if c in documents.column_names]
    return _plain_strings(documents.select(columns)).to_pylist()


def _example(folder: Path, files: dict[str, dict], table: str) -> dict | None:
    """The first row of a table (its first non-empty Parquet part), as JSON-able values."""
    for rel, entry in sorted(files.items()):
        if entry.get("table") == table and entry.get("format") == "parquet" and entry.get("rows"):
            first = pq.ParquetFile(folder / rel).read_row_group(0).slice(0, 1)
            row = _plain_strings(first).to_pylist()[0]
            return json.loads(storage.dumps_json(row))
    return None
