"""The corpus: every document's work files assembled once per build, for the corpus assets.

`assemble` reads each document's raw row, stamp and documents row, and links its other work
files into a snapshot: `documents` and `quarantine` are held in memory, the large tables
(paragraphs, sentences, tokens, entities) stay in their documents' files and are read a few
documents at a time (DocumentTable.batches). It also says where every document stands (the
document_status table) and lists the release's inputs. A Corpus is saved to and loaded from a
folder, so the statistics and the release read the one assembly (pipeline/defs/io.py).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.lib import chain
from pipeline.lib.stamps import read_stamp
from pipeline.lib.storage import atomic_write_text, dumps_json, read_parquet, to_arrow, write_parquet
from pipeline.lib.text.structure import SHARED_SYMBOL_WARNING, citation_prefix, shared_symbol_warning
from pipeline.lib.workdir import file_rows, read_work, work_path

# --- symbols two documents claim ----------------------------------------------------------
#
# A para_id reads like the UN's citation (A/74/759:p19). When two files claim the same symbol
# (two versions of one report, a sidecar copied by mistake), the document first in doc_id order
# keeps the plain symbol and every other cites as `A/74/759@<doc_id>:p19`, with a warning.

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
    """Hard links to the work files an assembly reads, in a folder of its own under
    work/corpus/snapshots/. Work files are replaced by rename and removed by unlink, so the links
    keep the versions assembled even if a run rewrites or deletes a document meanwhile. A new
    assembly removes the snapshots of earlier ones but the newest few (a release of a run still
    at work may be reading one)."""

    KEEP = 3

    def __init__(self, data_dir: Path) -> None:
        root = Path(data_dir).resolve() / "work" / "corpus" / "snapshots"
        root.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}"
        self.folder = root / name
        self.folder.mkdir()
        for old in sorted(p for p in root.iterdir() if p.is_dir())[:-self.KEEP]:
            shutil.rmtree(old, ignore_errors=True)

    def link(self, table: str, path: Path) -> Path:
        """A link to `path` in the snapshot (the file itself where links cannot be made)."""
        target = self.folder / table / path.name
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(path, target)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path} is missing: its stage has not run") from exc
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


@dataclass
class Corpus:
    """The assembled corpus: what the statistics and the release read."""

    documents: pa.Table
    quarantine: pa.Table
    status: pa.Table  # document_status: where every document stands
    parts: dict[str, list[WorkPart]]
    inputs: list[dict]  # every source file and sidecar of the release, with its sha256
    warnings: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pa.Table | DocumentTable]:
        """The release's per-document tables: documents, quarantine and document_status in
        memory, the others as DocumentTables."""
        streamed = {name: DocumentTable(name, schemas.TABLES[name], parts) for name, parts in self.parts.items()}
        return {"documents": self.documents, **streamed, "quarantine": self.quarantine,
                "document_status": self.status}

    def counts(self) -> dict[str, int]:
        statuses = self.status.column("status").to_pylist()
        return {s: statuses.count(s) for s in ("ok", "quarantined", "failed")}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_parquet(folder / "documents.parquet", self.documents)
        write_parquet(folder / "quarantine.parquet", self.quarantine)
        write_parquet(folder / "document_status.parquet", self.status)
        atomic_write_text(folder / "corpus.json", dumps_json({
            "parts": {name: [[p.doc_id, str(p.path), p.rows, list(p.cite) if p.cite else None] for p in parts]
                      for name, parts in self.parts.items()},
            "inputs": self.inputs, "warnings": self.warnings,
        }))

    @classmethod
    def load(cls, folder: Path) -> Corpus:
        saved = json.loads((folder / "corpus.json").read_text("utf-8"))
        parts = {name: [WorkPart(d, Path(p), n, tuple(c) if c else None) for d, p, n, c in rows]
                 for name, rows in saved["parts"].items()}
        return cls(read_parquet(folder / "documents.parquet"), read_parquet(folder / "quarantine.parquet"),
                   read_parquet(folder / "document_status.parquet"), parts, saved["inputs"], saved["warnings"])


@dataclass
class _Loaded:
    """What assemble reads of one document (on an I/O thread), and the FileNotFoundError met
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
        loaded.raw, loaded.stamp = chain.read_raw(data_dir, doc_id), read_stamp(data_dir, doc_id)
        loaded.documents = read_work(data_dir, "documents", doc_id)
        loaded.files = {name: snapshot.link(name, work_path(data_dir, name, doc_id)) for name in STREAMED}
        loaded.rows = {name: file_rows(path) for name, path in loaded.files.items()}
        first = pq.ParquetFile(loaded.files["paragraphs"], pre_buffer=False).read(columns=["para_id"])["para_id"]
        loaded.prefix = first[0].as_py().rsplit(":", 1)[0] if len(first) else None
    except FileNotFoundError as exc:
        if loaded.stamp is None and loaded.raw is None:
            loaded.missing = exc
        else:
            loaded.missing_tables = exc
    return loaded


def _status_row(doc_id: str, raw: dict | None, status: str, reason: str | None, detail: str | None,
                stamp: dict | None) -> dict:
    return {"doc_id": doc_id, "source_file": (raw or {}).get("source_file") or doc_id, "symbol": None,
            "status": status, "reason": reason, "detail": detail,
            "n_paragraphs": 0, "n_sentences": 0, "n_tokens": 0, "n_entities": 0, "warnings": [],
            "code_version": _code_version(stamp)}


def _code_version(stamp: dict | None) -> str | None:
    stages = (stamp or {}).get("stages") or {}
    return ";".join(f"{name}={version}" for name, version in stages.items()) or None


def _inputs(doc_id: str, raw: dict) -> list[dict]:
    inputs = [{"source_file": raw["source_file"], "sha256": raw["source_sha256"], "bytes": raw["source_bytes"],
               "doc_id": doc_id, "status": raw["status"]}]
    if raw["sidecar_file"]:
        inputs.append({"source_file": raw["sidecar_file"], "sha256": raw["sidecar_sha256"],
                       "bytes": raw["sidecar_bytes"], "doc_id": doc_id, "status": "sidecar"})
    return inputs


def assemble(data_dir: Path, doc_ids: list[str]) -> Corpus:
    """The corpus of the given documents, read from the work folder.

    Counts in `documents` are filled here from the other tables. A document whose work files are
    missing, or were not all built from its present bytes (a run is still at work on it), is left
    out with a warning and status failed, never half-included. Ids are unique across the corpus:
    of documents that claim one symbol, the first in doc_id order cites by it and the others as
    `symbol@doc_id`.
    """
    held: list[pa.Table] = []
    streamed: dict[str, list[WorkPart]] = {n: [] for n in STREAMED}
    quarantine: list[dict] = []
    statuses: list[dict] = []
    inputs: list[dict] = []
    warnings: list[str] = []
    cited: dict[str, str] = {}  # citation prefix -> the document citing by it
    seen_bytes: dict[str, str] = {}  # source sha256 -> the document holding those bytes
    snapshot = Snapshot(data_dir)
    for doc_id, loaded in zip(order := sorted(doc_ids), read_ahead(lambda d: _load_document(data_dir, d, snapshot), order)):
        raw, stamp = loaded.raw, loaded.stamp
        try:
            if loaded.missing:
                raise loaded.missing
            inputs += _inputs(doc_id, raw)
            # A document a stage raised on, or that changed while it was read, is never stamped
            # (its next build redoes it): its raw row, set aside by that stage, says what happened.
            if raw["reason"] not in chain.UNSTAMPED and (stamp is None or (
                    stamp["source_sha256"], stamp["sidecar_sha256"]) != (raw["source_sha256"], raw["sidecar_sha256"])):
                # Its stages have not all run on its present bytes (a run is still at work on it):
                # leave it out rather than mix old and new tables.
                raise FileNotFoundError("its stages have not all run on its present bytes")
            if raw["status"] == "ok" and raw["source_sha256"] in seen_bytes:
                raw = {**raw, "status": "quarantined", "reason": "duplicate",
                       "detail": f"{raw['source_file']}: same bytes as document {seen_bytes[raw['source_sha256']]}"}
            if raw["status"] != "ok":
                quarantine.append({"source_file": raw["source_file"], "source_sha256": raw["source_sha256"],
                                   "reason": raw["reason"], "detail": raw["detail"]})
                failed = raw["reason"] == "internal_error"
                statuses.append(_status_row(doc_id, raw, "failed" if failed else "quarantined", raw["reason"],
                                            raw["detail"], stamp))
                continue
            seen_bytes[raw["source_sha256"]] = doc_id
            if loaded.missing_tables:
                raise loaded.missing_tables
        except FileNotFoundError as exc:
            warnings.append(f"{doc_id}: left out of the release: {exc}")
            statuses.append(_status_row(doc_id, raw, "failed", "incomplete", f"left out of the release: {exc}", stamp))
            continue
        counts = {f"n_{name}": loaded.rows[name] for name in STREAMED}
        tables = {"documents": loaded.documents}
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
        held.append(tables["documents"])
        row = tables["documents"].select(["symbol", "warnings"]).to_pylist()[0]
        statuses.append({**_status_row(doc_id, raw, "ok", None, None, stamp), **counts,
                         "symbol": row["symbol"], "warnings": row["warnings"] or []})
        for name, path in loaded.files.items():
            prefix = loaded.prefix or cite  # a document without paragraphs has no ids to rewrite
            streamed[name].append(WorkPart(doc_id, path, loaded.rows[name], None if prefix == cite else (prefix, cite)))
    documents = (pa.concat_tables([to_arrow(t, schemas.DOCUMENTS) for t in held]) if held
                 else schemas.DOCUMENTS.empty_table())
    return Corpus(documents, to_arrow(quarantine, schemas.QUARANTINE), to_arrow(statuses, schemas.DOCUMENT_STATUS),
                  streamed, inputs, warnings)


def read_ahead(read, items: list, *, threads: int = 4, window: int = 64) -> Iterator:
    """read(item) for every item, in order, on a few threads (Parquet and file reads release
    the GIL), at most `window` items ahead of the consumer."""
    with ThreadPoolExecutor(threads) as pool:
        for i in range(0, len(items), window):
            yield from pool.map(read, items[i:i + window])
