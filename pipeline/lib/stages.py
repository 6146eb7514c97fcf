"""The per-document stages as functions over the work folder, shared by Dagster assets,
the benchmark and the tests.

Each stage reads the previous stage's file for one document and writes its own:
`<data>/work/<stage>/<doc_id>.parquet`, replaced whole on a rerun (never appended).
A quarantined document flows through as empty tables, so one bad file never stops
the others.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import weakref
from collections import Counter
from functools import lru_cache
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.lib.clean import Cleaned, CleanPiece, clean
from pipeline.lib.document import attach_doc_id, document_row
from pipeline.lib.invariants import document_offsets_hold, entity_types_known, mentions_within, unique
from pipeline.lib.ingest import DEFAULT_MAX_BYTES, Rejected, Source, decode_bytes, read_sidecar, scan_sources
from pipeline.lib.sentences import split_sentences
from pipeline.lib.storage import to_arrow, write_parquet
from pipeline.lib.structure import SHARED_SYMBOL_WARNING, citation_prefix, parse, shared_symbol_warning
from pipeline.lib.tokens import tokenize_columns

RAW = pa.schema([
    ("doc_id", pa.string()), ("source_file", pa.string()), ("source_sha256", pa.string()),
    ("source_bytes", pa.int64()), ("sidecar_file", pa.string()), ("sidecar_sha256", pa.string()), ("sidecar_bytes", pa.int64()),
    ("twin_file", pa.string()),
    ("sidecar", pa.string()), ("encoding", pa.string()), ("encoding_confidence", pa.float64()),
    ("text", pa.large_string()), ("warnings", pa.list_(pa.string())),
    ("status", pa.string()), ("reason", pa.string()), ("detail", pa.string()),
])
CLEAN = pa.schema([
    ("doc_id", pa.string()), ("clean_text", pa.large_string()), ("source_map", pa.string()),
    ("pieces", pa.string()),
])
STAGES = ("raw", "clean", "documents", "paragraphs", "sentences", "tokens", "entities")


class WorkPathError(ValueError):
    pass


@dataclass
class StageResult:
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
        return replace(self, table=self.table.take(pa.array(range(min(head, self.table.num_rows)), pa.int64())),
                       rows=self.num_rows)


def work_path(data_dir: Path, stage: str, doc_id: str) -> Path:
    """The work file of one stage and document; refuses any id that would leave the folder."""
    if stage not in STAGES:
        raise WorkPathError(f"unknown stage {stage!r}")
    if not doc_id or "/" in doc_id or "\\" in doc_id or doc_id in (".", "..") or "\x00" in doc_id:
        raise WorkPathError(f"document id {doc_id!r} cannot name a file")
    # With no separator and not "." or "..", the id names a file in the folder: no need to resolve
    # it (a resolve costs a system call per path component, on every read and write).
    return _work_folder(os.path.abspath(data_dir), stage) / f"{doc_id}.parquet"


@lru_cache(maxsize=64)
def _work_folder(data_dir: str, stage: str) -> Path:
    return (Path(data_dir) / "work" / stage).resolve()


def read_work(data_dir: Path, stage: str, doc_id: str, columns: list[str] | None = None) -> pa.Table:
    """One stage's work file of one document (only `columns`, when given)."""
    path = work_path(data_dir, stage, doc_id)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: materialise the '{stage}' stage for {doc_id} first")
    # One small file: no dataset discovery, read-ahead or threads.
    return pq.ParquetFile(path, pre_buffer=False).read(columns=columns, use_threads=False)


def _rows(table: pa.Table, columns: list[str], *, by_column: bool = False) -> list[dict] | dict[str, list]:
    """Rows as dicts or, by_column, a dict of column lists (far cheaper for many rows), with
    dictionary-encoded columns decoded once rather than per value."""
    table = table.select(columns)
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return table.to_pydict() if by_column else table.to_pylist()


# Work files are read back by the next stage and the release, never published: written fast
# (lz4, no column statistics) rather than small.
WORK_PARQUET_OPTIONS = {"compression": "lz4", "write_statistics": False, "use_dictionary": True, "store_schema": True}


def _write(data_dir: Path, stage: str, doc_id: str, table: pa.Table, sort_by: list[str] | None = None) -> Path:
    path = work_path(data_dir, stage, doc_id)
    write_parquet(path, table, sort_by=sort_by, options=WORK_PARQUET_OPTIONS)
    return path


def locate_sources(seeds_dir: Path) -> dict[str, tuple[Source, Source | None]]:
    """Every document's source and, when another file holds the same bytes under an earlier
    name, that twin. One scan of the folder serves a whole batch."""
    sources = scan_sources(seeds_dir)
    first_by_hash: dict[str, Source] = {}
    located = {}
    for source in sorted(sources, key=lambda s: s.path.name):
        if source.error:
            located[source.doc_id] = (source, None)
            continue
        twin = first_by_hash.setdefault(source.sha256, source)
        located[source.doc_id] = (source, twin if twin is not source else None)
    return located


def ingest(seeds_dir: Path, data_dir: Path, doc_id: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
           located: tuple[Source, Source | None] | None = None) -> StageResult:
    """Read and decode one document; `located` (from locate_sources) spares a folder scan."""
    if located is None:
        located = locate_sources(seeds_dir).get(doc_id)
    if located is None:
        # Deleted since its partition was requested: say so, and let the others go on.
        row = _no_source_row(doc_id)
        row.update(text="", status="quarantined", reason="missing",
                   detail=f"no file in {seeds_dir} has document id {doc_id!r} (deleted or renamed)")
        row["warnings"] = [f"quarantined (missing): {row['detail']}"]
        table = pa.Table.from_pylist([row], schema=RAW)
        return StageResult(table, _write(data_dir, "raw", doc_id, table), row["warnings"], quarantined=True)
    source, twin = located
    row = {
        "doc_id": doc_id, "source_file": source.path.name, "source_sha256": source.sha256,
        "source_bytes": source.size, "sidecar_file": source.sidecar.name if source.sidecar else None,
        "sidecar_sha256": source.sidecar_sha256,
        "sidecar_bytes": None, "twin_file": twin.path.name if twin else None, "sidecar": None, "encoding": None,
        "encoding_confidence": None, "text": "", "warnings": [], "status": "ok",
        "reason": None, "detail": None,
    }
    try:
        # The file itself first (its size before its bytes are read), then its twin, then its sidecar.
        if source.error:
            raise Rejected("unreadable", source.error)
        if source.size > max_bytes:
            raise Rejected("too_large", f"{source.path.name}: {source.size:,} bytes is over the limit of "
                           f"{max_bytes:,} bytes (UNPARL_MAX_BYTES)")
        try:
            data = source.path.read_bytes()
            row["sidecar_bytes"] = source.sidecar.stat().st_size if source.sidecar else None
        except OSError as exc:
            raise Rejected("unreadable", f"{source.path.name}: cannot be read ({exc.strerror or exc})") from exc
        decoded = decode_bytes(data, name=source.path.name, max_bytes=max_bytes)
        if twin is not None:
            raise Rejected("duplicate", f"{source.path.name}: same bytes as {twin.path.name}, "
                           f"which is processed as document {twin.doc_id}")
        sidecar = read_sidecar(source.sidecar)
        row.update(sidecar=json.dumps(sidecar, ensure_ascii=False, sort_keys=True),
                   encoding=decoded.encoding, encoding_confidence=decoded.confidence,
                   text=decoded.text, warnings=decoded.warnings)
    except Rejected as exc:
        row.update(status="quarantined", reason=exc.reason, detail=exc.detail,
                   warnings=[f"quarantined ({exc.reason}): {exc.detail}"])
    table = pa.Table.from_pylist([row], schema=RAW)
    path = _write(data_dir, "raw", doc_id, table)
    return StageResult(table, path, list(row["warnings"]), quarantined=row["status"] != "ok")


def set_aside(data_dir: Path, doc_id: str, stage: str, exc: BaseException) -> StageResult:
    """Quarantine a document one of whose stages failed unexpectedly; its later stages then
    produce empty tables, and the release's quarantine names the error."""
    try:
        row = _raw(data_dir, doc_id)
    except (FileNotFoundError, IndexError):
        row = _no_source_row(doc_id)
    detail = f"{row['source_file']}: the {stage} stage failed: {type(exc).__name__}: {exc}"[:500]
    row.update(status="quarantined", reason="internal_error", detail=detail, text="",
               warnings=[f"quarantined (internal_error): {detail}"])
    table = pa.Table.from_pylist([row], schema=RAW)
    return StageResult(table, _write(data_dir, "raw", doc_id, table), list(row["warnings"]), quarantined=True)


def _no_source_row(doc_id: str) -> dict:
    """A raw row for a document whose source cannot be read: named by its id."""
    return {**{name: None for name in RAW.names}, "doc_id": doc_id, "source_file": doc_id, "source_bytes": 0}


_RAW_FIELDS = [name for name in RAW.names if name != "text"]


def _raw(data_dir: Path, doc_id: str, *, text: bool = False) -> dict:
    """The raw stage's row of one document; its text only when asked for (the largest value)."""
    row = read_work(data_dir, "raw", doc_id, None if text else _RAW_FIELDS).to_pylist()[0]
    return row if text else {**row, "text": None}


def read_raw(data_dir: Path, doc_id: str) -> dict:
    """What the raw stage recorded of one document, without its text."""
    return _raw(data_dir, doc_id)


def clean_stage(data_dir: Path, doc_id: str) -> StageResult:
    raw = _raw(data_dir, doc_id, text=True)
    cleaned = clean(raw["text"]) if raw["status"] == "ok" else Cleaned("", [], [])
    pieces = json.dumps([p.__dict__ for p in cleaned.pieces], ensure_ascii=False)
    table = pa.Table.from_pylist([{
        "doc_id": doc_id, "clean_text": cleaned.clean_text,
        "source_map": cleaned.source_map_json(), "pieces": pieces,
    }], schema=CLEAN)
    return StageResult(table, _write(data_dir, "clean", doc_id, table), quarantined=raw["status"] != "ok")


def _cleaned(data_dir: Path, doc_id: str) -> Cleaned:
    row = read_work(data_dir, "clean", doc_id).to_pylist()[0]
    pieces = [CleanPiece(**p) for p in json.loads(row["pieces"])]
    return Cleaned(row["clean_text"], pieces, json.loads(row["source_map"]))


def structure_stage(data_dir: Path, doc_id: str) -> tuple[StageResult, StageResult]:
    """Writes the document's row (metadata) and its paragraphs."""
    raw = _raw(data_dir, doc_id)
    cleaned = _cleaned(data_dir, doc_id)
    quarantined = raw["status"] != "ok"
    sidecar = json.loads(raw["sidecar"]) if raw["sidecar"] else {}
    structure = parse(cleaned, doc_id=doc_id, sidecar=sidecar)
    if quarantined:
        structure.paragraphs, structure.warnings = [], []
    doc = document_row(doc_id=doc_id, cleaned=cleaned, structure=structure, sidecar=sidecar, source={
        "source_file": raw["source_file"], "source_sha256": raw["source_sha256"],
        "source_bytes": raw["source_bytes"], "encoding": raw["encoding"],
        "encoding_confidence": raw["encoding_confidence"], "warnings": raw["warnings"],
    })
    doc_table = to_arrow([doc], schemas.DOCUMENTS)
    paragraphs = to_arrow(attach_doc_id(structure.paragraphs, doc_id), schemas.PARAGRAPHS)
    return (
        StageResult(doc_table, _write(data_dir, "documents", doc_id, doc_table),
                    structure.warnings, quarantined),
        StageResult(paragraphs, _write(data_dir, "paragraphs", doc_id, paragraphs, ["seq"]),
                    structure.warnings, quarantined),
    )


def _clean_text(data_dir: Path, doc_id: str) -> str:
    return read_work(data_dir, "documents", doc_id, ["clean_text"]).column("clean_text")[0].as_py()


def sentences_stage(data_dir: Path, doc_id: str) -> StageResult:
    paragraphs = read_work(data_dir, "paragraphs", doc_id, ["para_id", "char_start", "char_end"]).to_pylist()
    clean_text = _clean_text(data_dir, doc_id)
    rows = attach_doc_id(split_sentences(clean_text, paragraphs), doc_id)
    table = to_arrow(rows, schemas.SENTENCES)
    checks = {"sent_ids_unique": unique(table, "sent_id", within="doc_id"),
              "sentence_offsets": document_offsets_hold(doc_id, clean_text, [r["text"] for r in rows],
                                                        [r["char_start"] for r in rows], [r["char_end"] for r in rows])}
    return StageResult(table, _write(data_dir, "sentences", doc_id, table, ["seq"]), checks=checks)


def tokens_stage(data_dir: Path, doc_id: str, backend: str | None = None) -> StageResult:
    """Tokens of one document; `backend` None means the configured one (see lib/tokens.py)."""
    sentences = read_work(data_dir, "sentences", doc_id, ["sent_id", "char_start", "char_end"]).to_pylist()
    clean_text = _clean_text(data_dir, doc_id)
    columns = tokenize_columns(clean_text, sentences, backend)
    # Built column by column: one dict per token would cost more than a fast tokenizer does.
    offsets = document_offsets_hold(doc_id, clean_text, columns["text"], columns["char_start"], columns["char_end"])
    columns = {"doc_id": pa.array([doc_id] * len(columns["seq"]), pa.string()), **columns}
    table = to_arrow(pa.table(columns), schemas.TOKENS)
    path = _write(data_dir, "tokens", doc_id, table, ["char_start", "seq"])
    return StageResult(table, path, checks={"token_offsets": offsets})


def entities_stage(data_dir: Path, doc_id: str) -> StageResult:
    from pipeline.lib.entities import TOKEN_COLUMNS, tag_entities

    def read(stage: str, columns: list[str], by_column: bool = False) -> list[dict] | dict[str, list]:
        # Only the columns the tagger uses (the documents and tokens files hold many more).
        return _rows(read_work(data_dir, stage, doc_id, columns), columns, by_column=by_column)

    doc = read("documents", ["symbol", "doc_type", "clean_text"])[0]
    paragraphs = read("paragraphs", ["para_id", "kind", "char_start", "char_end"])
    rows = tag_entities(
        doc_id=doc_id, symbol=doc["symbol"], doc_type=doc["doc_type"], clean_text=doc["clean_text"],
        paragraphs=paragraphs,
        sentences=read("sentences", ["sent_id", "para_id", "char_start", "char_end"]),
        # Columns, not one dict per token: a document has thousands of tokens.
        tokens=read("tokens", list(TOKEN_COLUMNS), by_column=True),
    )
    table = to_arrow(rows, schemas.ENTITIES)
    path = _write(data_dir, "entities", doc_id, table, ["char_start", "char_end", "entity_id"])
    spans = {p["para_id"]: (p["char_start"], p["char_end"]) for p in paragraphs}
    checks = {
        "entity_offsets": document_offsets_hold(doc_id, doc["clean_text"], [r["text"] for r in rows],
                                                [r["char_start"] for r in rows], [r["char_end"] for r in rows]),
        "entity_types_known": entity_types_known(table),
        "entities_within_paragraphs": mentions_within(doc_id, rows, spans),
    }
    facts = {"by_type": dict(Counter(r["type"] for r in rows)), "by_entity": dict(Counter(r["entity_id"] for r in rows))}
    return StageResult(table, path, checks=checks, facts=facts)


# --- symbols two documents claim ----------------------------------------------------------
#
# A para_id reads like the UN's citation (A/74/759:p19). When two files claim the same symbol
# (two versions of one report, a sidecar copied by mistake), the document first in doc_id order
# keeps the plain symbol and every other cites as `A/74/759@<doc_id>:p19`, with a warning.
def run_document(seeds_dir: Path, data_dir: Path, doc_id: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 backend: str | None = None, settings: str = "") -> None:
    """Every per-document stage of one document, in order, then its stamp: the chain the
    assets run one step at a time, for callers outside Dagster."""
    ingest(seeds_dir, data_dir, doc_id, max_bytes=max_bytes)
    clean_stage(data_dir, doc_id)
    structure_stage(data_dir, doc_id)
    sentences_stage(data_dir, doc_id)
    tokens_stage(data_dir, doc_id, backend)
    entities_stage(data_dir, doc_id)
    write_stamp(data_dir, doc_id, settings)


# Two documents may claim one symbol. Each document's own stages cite by its symbol; when the
# corpus is assembled for a release, the first document in doc_id order keeps the symbol and the
# others cite as `symbol@doc_id`, so a release never depends on the order documents arrived in
# and no stage of one document reads another's files.

def _with_prefix(values: list, old: str, new: str) -> list:
    def one(value):
        if isinstance(value, list):
            return [one(v) for v in value]
        if isinstance(value, str) and value.startswith(old + ":"):
            return new + value[len(old):]
        return value
    return [one(v) for v in values]


_ID_COLUMNS = {"paragraphs": ("para_id", "footnote_refs", "cited_by"), "sentences": ("para_id", "sent_id"),
               "tokens": ("sent_id",), "entities": ("para_id", "sent_id")}


def _cite_as(tables: dict[str, pa.Table], doc_id: str, cite: str, cited: dict[str, str]) -> None:
    """Record a warning in the document's row when the prefix the corpus rule gives it is not
    its plain symbol."""
    doc = tables["documents"].select(["symbol", "warnings"]).to_pylist()[0]
    base = doc["symbol"] or doc_id
    warning = shared_symbol_warning(base, cite, cited.get(base)) if cite != base else None
    warnings = [w for w in (doc["warnings"] or []) if not w.startswith(SHARED_SYMBOL_WARNING)]
    warnings += [warning] if warning else []
    if warnings != (doc["warnings"] or []):
        docs = tables["documents"]
        i = docs.schema.get_field_index("warnings")
        tables["documents"] = docs.set_column(i, docs.schema.field("warnings"),
                                              pa.array([warnings], docs.schema.field("warnings").type))


# A release never holds the corpus's paragraphs, sentences, tokens and entities in memory:
# they stay in their documents' work files, which are already sorted, and are read a few
# documents at a time (DocumentTable.batches) by the statistics and the release. Tokens are
# most of the rows (about 5,000 a document).
STREAMED = ("paragraphs", "sentences", "tokens", "entities")
BATCH_ROWS = 100_000


@dataclass(frozen=True)
class WorkPart:
    doc_id: str
    path: Path
    rows: int
    cite: tuple[str, str] | None = None  # (prefix in the file, prefix in the corpus), when they differ


class Snapshot:
    """Hard links to the work files a release reads, in a private folder, taken when the corpus
    is assembled. Work files are replaced by rename and removed by unlink, so the links keep the
    versions assembled even if a run rewrites or deletes a document meanwhile. The folder goes
    when the last table using it does (or at exit); a killed process's is removed by the next."""

    PREFIX = ".snapshot-"

    def __init__(self, data_dir: Path) -> None:
        work = Path(data_dir) / "work"
        work.mkdir(parents=True, exist_ok=True)
        self._remove_abandoned(work)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{self.PREFIX}{os.getpid()}-", dir=work))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)

    @classmethod
    def _remove_abandoned(cls, work: Path) -> None:
        for folder in work.glob(f"{cls.PREFIX}*"):
            try:
                os.kill(int(folder.name[len(cls.PREFIX):].split("-")[0]), 0)
            except ProcessLookupError:
                shutil.rmtree(folder, ignore_errors=True)
            except (ValueError, PermissionError):
                pass

    def link(self, stage: str, path: Path) -> Path:
        """A link to `path` in the snapshot (the file itself where links cannot be made)."""
        target = self.folder / stage / path.name
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(path, target)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path} is missing: materialise the '{stage}' stage first") from exc
        except OSError:
            return path
        return target


@dataclass
class DocumentTable:
    """A corpus table kept as its documents' work files in doc_id order, read a few whole
    documents at a time, with ids rewritten to the corpus's citation rule. Documents'
    rows never interleave, so the batches, one after another, are the table in release order."""

    name: str
    schema: pa.Schema
    parts: list[WorkPart]
    snapshot: Snapshot | None = None  # holds the files `parts` name, while this table lives

    @property
    def num_rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def _read(self, part: WorkPart, columns: list[str] | None) -> pa.Table:
        table = pq.ParquetFile(part.path).read(columns=columns)
        if part.cite is not None:
            table = _rewrite_ids(table, self.name, *part.cite)
        return table

    def batches(self, columns: list[str] | None = None, rows: int | None = None) -> Iterator[pa.Table]:
        """Tables of whole documents, each of about `rows` rows (BATCH_ROWS unless given; more
        when one document has more)."""
        rows = rows or BATCH_ROWS
        schema = self.schema if columns is None else pa.schema([self.schema.field(c) for c in columns])
        pending: list[pa.Table] = []
        count = 0
        for table in read_ahead(lambda part: to_arrow(self._read(part, columns), schema), self.parts):
            pending.append(table)
            count += pending[-1].num_rows
            if count >= rows:
                yield pa.concat_tables(pending)
                pending, count = [], 0
        if pending or not self.parts:
            yield pa.concat_tables(pending) if pending else schema.empty_table()

    def read(self, columns: list[str] | None = None) -> pa.Table:
        """The whole table in memory (for small corpora and tests)."""
        return pa.concat_tables(list(self.batches(columns, rows=2**62)))


def _rewrite_ids(table: pa.Table, name: str, old: str, new: str) -> pa.Table:
    for column in _ID_COLUMNS[name]:
        if column not in table.column_names:
            continue
        i = table.schema.get_field_index(column)
        field_ = table.schema.field(column)
        values = _with_prefix(table.column(column).to_pylist(), old, new)
        table = table.set_column(i, field_, pa.array(values, field_.type))
    return table


def corpus_tables(data_dir: Path, doc_ids: list[str]) -> tuple[dict[str, pa.Table | DocumentTable], list[str]]:
    """The release tables for the given documents, read from the work folder: `documents` and
    `quarantine` in memory, the others as DocumentTables (read as they are used).

    Counts in `documents` are filled here from the other tables. A document whose work
    files are missing (its run failed) is left out with a warning, never half-included.
    Ids are unique across the corpus: of documents that claim one symbol, the first in
    doc_id order cites by it and the others as `symbol@doc_id`.
    """
    held = ("documents",)
    parts: dict[str, list[pa.Table]] = {n: [] for n in held}
    streamed: dict[str, list[WorkPart]] = {n: [] for n in STREAMED}
    quarantine: list[dict] = []
    warnings: list[str] = []
    cited: dict[str, str] = {}  # citation prefix -> the document citing by it
    seen_bytes: dict[str, str] = {}  # source sha256 -> the document holding those bytes
    snapshot = Snapshot(data_dir)
    for doc_id, loaded in zip(order := sorted(doc_ids), read_ahead(lambda d: _load_document(data_dir, d, snapshot), order)):
        try:
            if loaded.missing:
                raise loaded.missing
            raw, stamp = loaded.raw, loaded.stamp
            if stamp is None or (stamp["source_sha256"], stamp["sidecar_sha256"]) != (
                    raw["source_sha256"], raw["sidecar_sha256"]):
                # Its stages have not all run on its present bytes (a run is still at work on it):
                # leave it out rather than mix old and new tables.
                raise FileNotFoundError("its stages have not all run on its present bytes")
            if raw["status"] == "ok" and raw["source_sha256"] in seen_bytes:
                raw = {**raw, "status": "quarantined", "reason": "duplicate",
                       "detail": f"{raw['source_file']}: same bytes as document {seen_bytes[raw['source_sha256']]}"}
            if raw["status"] != "ok":
                quarantine.append({"source_file": raw["source_file"], "source_sha256": raw["source_sha256"],
                                   "reason": raw["reason"], "detail": raw["detail"]})
                continue
            seen_bytes[raw["source_sha256"]] = doc_id
            if loaded.missing_tables:
                raise loaded.missing_tables
            tables, files, rows, current = {"documents": loaded.documents}, loaded.files, loaded.rows, loaded.prefix
        except FileNotFoundError as exc:
            warnings.append(f"{doc_id}: left out of the release: {exc}")
            continue
        counts = {f"n_{name}": rows[name] for name in STREAMED}
        doc = tables["documents"]
        for name, value in counts.items():
            doc = doc.set_column(doc.schema.get_field_index(name), doc.schema.field(name),
                                 pa.array([value], pa.int64()))
        tables["documents"] = doc
        base = doc.column("symbol")[0].as_py() or doc_id
        cite = citation_prefix(base, doc_id, cited)
        while cite in cited:  # a symbol that itself reads like "X@doc"
            cite = f"{cite}@{doc_id}"
        _cite_as(tables, doc_id, cite, cited)
        cited[cite] = doc_id
        for name, table in tables.items():
            parts[name].append(table)
        for name, path in files.items():
            prefix = current or cite  # a document without paragraphs has no ids to rewrite
            streamed[name].append(WorkPart(doc_id, path, rows[name], None if prefix == cite else (prefix, cite)))
    result: dict[str, pa.Table | DocumentTable] = {}
    for name, tables in parts.items():
        schema = schemas.TABLES[name]
        result[name] = (pa.concat_tables([to_arrow(t, schema) for t in tables])
                        if tables else schema.empty_table())
    for name, work_parts in streamed.items():
        result[name] = DocumentTable(name, schemas.TABLES[name], work_parts, snapshot)
    result["quarantine"] = to_arrow(quarantine, schemas.QUARANTINE)
    return result, warnings


@dataclass
class _Loaded:
    """What corpus_tables reads of one document (on an I/O thread), and the FileNotFoundError met
    reading it: `missing` for its raw row or stamp, `missing_tables` for its other files."""

    raw: dict | None = None
    stamp: dict | None = None
    documents: pa.Table | None = None
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    prefix: str | None = None  # the citation prefix its ids were written with
    missing: FileNotFoundError | None = None
    missing_tables: FileNotFoundError | None = None


def _load_document(data_dir: Path, doc_id: str, snapshot: Snapshot) -> _Loaded:
    loaded = _Loaded()
    try:
        loaded.raw, loaded.stamp = _raw(data_dir, doc_id), read_stamp(data_dir, doc_id)
        loaded.documents = read_work(data_dir, "documents", doc_id)
        loaded.files = {name: snapshot.link(name, work_path(data_dir, name, doc_id)) for name in STREAMED}
        loaded.rows = {name: _file_rows(path) for name, path in loaded.files.items()}
        first = pq.ParquetFile(loaded.files["paragraphs"], pre_buffer=False).read(columns=["para_id"])["para_id"]
        loaded.prefix = first[0].as_py().rsplit(":", 1)[0] if len(first) else None
    except FileNotFoundError as exc:
        if loaded.stamp is None and loaded.raw is None:
            loaded.missing = exc
        else:
            loaded.missing_tables = exc
    return loaded


def read_ahead(read, items: list, *, threads: int = 4, window: int = 64) -> Iterator:
    """read(item) for every item, in order, on a few threads (Parquet and file reads release
    the GIL), at most `window` items ahead of the consumer."""
    with ThreadPoolExecutor(threads) as pool:
        for i in range(0, len(items), window):
            yield from pool.map(read, items[i:i + window])


def _file_rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def entity_mentions(data_dir: Path, doc_ids, columns: list[str]) -> pa.Table:
    """These columns of every document's entity mentions that have a work file, in doc_id order."""
    schema = pa.schema([schemas.ENTITIES.field(c) for c in columns])
    parts = [to_arrow(pq.ParquetFile(path).read(columns=columns), schema) for doc_id in sorted(doc_ids)
             if (path := work_path(data_dir, "entities", doc_id)).exists()]
    return pa.concat_tables(parts) if parts else schema.empty_table()


# --- stamps: which documents need no work -------------------------------------------------
#
# A stamp records what a document's work files were built from: its bytes, its sidecar, the
# earlier file with the same bytes (if any), the code and the settings that shape the output
# (tokenizer backend, size limit). Any of them changing makes the document stale.

@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Changes whenever the text logic, schemas or gazetteers change (read once per process)."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted([*root.joinpath("lib").glob("*.py"), root / "schemas.py",
                        *(p for p in root.joinpath("gazetteers").rglob("*") if p.is_file())]):
        if path.name == "__init__.py" or "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def settings_key(max_bytes: int, backend: str) -> str:
    """The settings a document's tables depend on, as recorded in its stamp."""
    return f"{backend}; max_bytes={max_bytes}"


def _stamp_path(data_dir: Path, doc_id: str) -> Path:
    return work_path(data_dir, "raw", doc_id).parent.parent / "stamps" / f"{doc_id}.json"


def read_stamp(data_dir: Path, doc_id: str) -> dict | None:
    path = _stamp_path(data_dir, doc_id)
    return json.loads(path.read_text()) if path.exists() else None


def write_stamp(data_dir: Path, doc_id: str, settings: str = "") -> None:
    """Record that every stage of this document ran on these bytes with this code."""
    from pipeline.lib.storage import atomic_write_text, dumps_json

    raw = _raw(data_dir, doc_id)
    atomic_write_text(_stamp_path(data_dir, doc_id), dumps_json({
        "source_sha256": raw["source_sha256"], "sidecar_sha256": raw["sidecar_sha256"],
        "twin_file": raw["twin_file"], "code": code_fingerprint(), "settings": settings,
    }))


def is_current(data_dir: Path, source: Source, twin: Source | None = None, settings: str = "") -> bool:
    """True when the document's work files came from its present bytes, sidecar and twin,
    with this code and these settings."""
    stamp = read_stamp(data_dir, source.doc_id)
    if stamp is None or source.error or not all(work_path(data_dir, s, source.doc_id).exists() for s in STAGES):
        return False
    return (stamp.get("source_sha256") == source.sha256 and stamp.get("sidecar_sha256") == source.sidecar_sha256
            and stamp.get("twin_file") == (twin.path.name if twin else None)
            and stamp.get("code") == code_fingerprint() and stamp.get("settings") == settings)


def processed_key(data_dir: Path, doc_id: str, settings: str = "") -> str | None:
    """The content key a document's work files were built from, if built by this code with
    these settings."""
    import hashlib

    stamp = read_stamp(data_dir, doc_id)
    if stamp is None or stamp.get("code") != code_fingerprint() or stamp.get("settings") != settings:
        return None
    return hashlib.sha256(f"{stamp['source_sha256']}:{stamp['sidecar_sha256'] or ''}".encode()).hexdigest()


def twins_of(data_dir: Path, doc_ids, file_names: set[str]) -> list[str]:
    """Documents set aside as duplicates of one of these files (which have gone)."""
    return sorted(d for d in doc_ids if (stamp := read_stamp(data_dir, d)) and stamp.get("twin_file") in file_names)


def remove_work(data_dir: Path, doc_id: str) -> None:
    """Forget a document whose file was deleted: its rows leave the next release."""
    for stage in STAGES:
        work_path(data_dir, stage, doc_id).unlink(missing_ok=True)
    _stamp_path(data_dir, doc_id).unlink(missing_ok=True)


def corpus_path(data_dir: Path, name: str) -> Path:
    if not re.fullmatch(r"[a-z_]+", name):
        raise WorkPathError(f"bad corpus table name {name!r}")
    return Path(data_dir).resolve() / "work" / "corpus" / f"{name}.parquet"
