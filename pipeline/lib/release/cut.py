"""Cutting a release: an immutable, versioned folder of Parquet, JSON and
metadata, with an archive beside it, and LATEST naming the newest.

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
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.lib import storage
from pipeline.lib.release import verify as release_verify
from pipeline.lib.release.card import croissant_metadata, data_card, data_package
from pipeline.lib.release.charts import cjk_font_path, draw_charts
from pipeline.lib.release.stats import STATS_DESCRIPTIONS, STATS_SCHEMAS

DATASET = "unparl"
JSONL_TABLES = ("documents", "paragraphs", "entities", "document_status")
LOCK_FILE = ".release.lock"
TEMP_PREFIX = ".build-"
ARCHIVE_TEMP_PREFIX = ".archive-"
ARCHIVE_SUFFIX = ".zip"
# Rows in a Parquet row group. Every table is re-cut to it as it is written, so a file's bytes
# (and sha256) depend on its rows only, whatever batches they arrived in.
ROW_GROUP_ROWS = 1 << 17
VERSION_PATTERN = re.compile(r"^v(\d{4})\.(\d{2})\.(\d{2})(?:\.(\d+))?$")
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
    content hash covers: the tables in Parquet and JSON Lines, and statistics.json."""
    return "/" not in name and (name.endswith((".parquet", ".jsonl")) or name == "statistics.json")


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


# Text is deflated; everything else (Parquet, already zstd-compressed, PNG) is stored as it is.
DEFLATED_SUFFIXES = frozenset({".json", ".jsonl", ".md", ".csv", ".tsv", ".txt", ".conllu"})
ARCHIVE_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time ZIP can hold


def archive_name(version: str) -> str:
    return f"{DATASET}-{version}{ARCHIVE_SUFFIX}"


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
                 metadata: dict[str, str], jsonl: Path | None = None) -> tuple[dict[str, str], int]:
    """Write one release table as Parquet (and as JSON Lines when `jsonl` is given), each file
    hashed as it is written, in one pass over the rows: ({file name: sha256}, rows)."""
    file_schema = schema.with_metadata({**(schema.metadata or {}),
                                        **{k.encode(): v.encode() for k, v in metadata.items()}})
    rows = 0
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
                if lines is not None:
                    write_jsonl_rows(lines, batch)
                rows += batch.num_rows
                yield batch

        groups = 0
        for group in _row_groups(passing(), file_schema, ROW_GROUP_ROWS):
            writer.write_table(group)
            groups += 1
        if not groups:  # an empty table: one empty row group, as before
            writer.write_table(file_schema.empty_table())
    hashes = {path.name: parquet.digest.hexdigest()}
    if lines is not None:
        hashes[jsonl.name] = lines.digest.hexdigest()
    return hashes, rows


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
        archive_tmp = releases / f"{ARCHIVE_TEMP_PREFIX}{version}-{os.getpid()}{ARCHIVE_SUFFIX}"
        try:
            # The data files, each hashed as it is written: their sha256 make the content hash
            # and go into the manifest as they are, so the largest table is read once.
            file_sha256, row_counts = {}, {}
            for name, table in canonical.items():
                hashes, row_counts[name] = _write_table(
                    build / f"{name}.parquet", table, _schema_of(name), schemas.SORT_KEYS.get(name),
                    _parquet_metadata(name, DESCRIPTIONS[name]),
                    jsonl=build / f"{name}.jsonl" if name in JSONL_TABLES else None)
                file_sha256.update(hashes)
            statistics = storage.dumps_json(summary).encode()
            storage.atomic_write_bytes(build / "statistics.json", statistics)
            file_sha256["statistics.json"] = hashlib.sha256(statistics).hexdigest()
            digest = content_hash(file_sha256)
            if previous is not None:
                manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
                if manifest.get("content_hash") == digest:
                    shutil.rmtree(build, ignore_errors=True)
                    return ReleaseResult(previous.name, previous, False, digest, {},
                                         f"data identical to {previous.name}; no new release")
            changes = _write_release(build, version, canonical, row_counts, summary, previous,
                                     inputs=inputs, notes=notes, code_version=code_version,
                                     today=today, content_hash=digest, file_sha256=file_sha256)
            checked = release_verify.outcomes(build)
            if release_verify.problems(checked):
                shutil.rmtree(build, ignore_errors=True)
                return ReleaseResult(None, None, False, digest, changes,
                                     f"release {version} not published: it failed its checks", checked)
            archive = archive_name(version)
            archive_sha = write_archive(build, archive_tmp, f"{DATASET}-{version}")
            _make_readable(build)
            os.chmod(archive_tmp, 0o644)
            target = releases / version
            os.rename(build, target)
            os.replace(archive_tmp, releases / archive)
            _write_public(releases / f"{archive}.sha256", f"{archive_sha}  {archive}\n")
            _fsync_dir(releases)
            _write_public(data_dir / "LATEST", version + "\n")
            _fsync_dir(data_dir)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            archive_tmp.unlink(missing_ok=True)
            raise
    reason = "first release" if previous is None else f"data differ from {previous.name}"
    return ReleaseResult(version, target, True, digest, changes, reason, checked)


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
    file_sha256: dict[str, str],
) -> dict:
    """Everything of a release but its data files (the tables and statistics.json, written
    already, their sha256 in `file_sha256`). Every other file is hashed once, when written."""
    sha256 = dict(file_sha256)

    def hashed(path: Path) -> Path:
        with open(path, "rb") as f:
            sha256[path.relative_to(folder).as_posix()] = hashlib.file_digest(f, "sha256").hexdigest()
        return path

    notes = list(notes)
    if cjk_font_path() is None:
        notes.append("No CJK font was found when the charts were drawn: their Chinese labels may show as boxes.")
    charts = draw_charts({n: t for n, t in tables.items() if n in STATS_SCHEMAS}, folder / "charts")
    for path in charts.values():
        hashed(path)

    changes = describe_changes(previous, tables["documents"], row_counts)
    storage.atomic_write_text(folder / "CHANGES.json", storage.dumps_json(changes))
    hashed(folder / "CHANGES.json")

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
        "sha256": sha256,
        "archive": archive_name(version),
    }
    storage.atomic_write_text(folder / "datapackage.json", storage.dumps_json(data_package(folder, context)))
    storage.atomic_write_text(folder / "croissant.json", storage.dumps_json(croissant_metadata(folder, context)))
    storage.atomic_write_text(folder / "README.md", data_card(context))

    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in sha256:
            hashed(path)
        entry = {"sha256": sha256[rel], "bytes": path.stat().st_size}
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
