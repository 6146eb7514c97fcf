"""The corpus: every document's work files assembled once per build, for the corpus assets.

`assemble` reads each document's raw row, stamp and documents row, and links its other work
files into a snapshot: `documents` and `quarantine` are held in memory, the large tables
(paragraphs, sentences, tokens, entities) stay in their documents' files and are read a few
documents at a time (DocumentTable.batches). It also says where every document stands (the
document_status table) and lists the release's inputs. A Corpus is saved to and loaded from a
folder, so the statistics and the release read the one assembly (pipeline/defs/io.py).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.lib import chain
from pipeline.lib.stamps import read_stamp
from pipeline.lib.storage import atomic_write_text, dumps_json, read_parquet, to_arrow, write_parquet
from pipeline.lib.text.structure import SHARED_SYMBOL_WARNING, citation_prefix, shared_symbol_warning
from pipeline.lib.workdir import file_rows, stamp_path, work_path

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
               "tokens": ("sent_id", "para_id"), "entities": ("para_id", "sent_id")}


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
    # Values the corpus sets on the rows (a document's counts and warnings), by column.
    patch: dict | None = field(default=None, compare=False, hash=False)


class Held:
    """Hard links to the work files an assembly reads, one folder a document version under
    work/corpus/held/<doc_id>/<version>/. Work files are replaced by rename and removed by
    unlink, so the links keep the version assembled even if a run rewrites or deletes the
    document meanwhile. A document unchanged since the last assembly keeps its links: the work
    of an assembly follows the documents that changed, not the corpus. Each document keeps its
    newest few versions (a release of a run still at work may be reading one)."""

    KEEP = 3

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir).resolve() / "work" / "corpus" / "held"

    def folder(self, doc_id: str, version: str) -> Path:
        return self.root / doc_id / version

    def link(self, doc_id: str, version: str, table: str, path: Path) -> Path:
        """A link to `path` in the document's version folder (the file itself where links
        cannot be made)."""
        target = self.folder(doc_id, version) / f"{table}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(path, target)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path} is missing: its stage has not run") from exc
        except OSError:
            return path
        return target

    def prune(self, doc_id: str) -> None:
        """Remove all but the document's newest versions."""
        folder = self.root / doc_id
        if not folder.is_dir():
            return
        versions = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        for old in versions[:-self.KEEP]:
            shutil.rmtree(old, ignore_errors=True)

    def forget(self, keep: set[str]) -> None:
        """Remove the links of documents no longer in the corpus."""
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if folder.name not in keep:
                    shutil.rmtree(folder, ignore_errors=True)


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
        for column, value in (part.patch or {}).items():
            if column in table.column_names:
                i = table.schema.get_field_index(column)
                field_ = table.schema.field(column)
                table = table.set_column(i, field_, pa.array([value] * table.num_rows, field_.type))
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


# What the corpus keeps of a document's row: everything but its text and source map (read from
# its work file only when a release writes its part), and its length in characters.
SLIM_DOCUMENTS = pa.schema([f for f in schemas.DOCUMENTS if f.name not in ("clean_text", "source_map")]
                           + [pa.field("n_characters", pa.int64())])


@dataclass
class Corpus:
    """The assembled corpus: what the statistics and the release read."""

    documents: pa.Table  # one row a document in the release, SLIM_DOCUMENTS
    quarantine: pa.Table
    status: pa.Table  # document_status: where every document stands
    parts: dict[str, list[WorkPart]]  # documents, paragraphs, sentences, tokens, entities
    inputs: list[dict]  # every source file and sidecar of the release, with its sha256
    warnings: list[str] = field(default_factory=list)
    # doc_id -> a digest of what its rows in the release are made from (its stamp: bytes,
    # sidecar, settings and stage code versions; its citation prefix, counts and warnings):
    # equal fingerprints mean equal rows, so the release re-uses an unchanged document's part.
    fingerprints: dict[str, str] = field(default_factory=dict)
    # Each document's partial aggregates for the statistics and the catalog
    # (lib.release.stats.document_partials), concatenated: computed once when a document
    # changes, so the corpus statistics never re-read the corpus's tokens.
    partials: dict[str, pa.Table] = field(default_factory=dict)

    def tables(self) -> dict[str, pa.Table | DocumentTable]:
        """The release's per-document tables as DocumentTables (read from the documents' work
        files a few at a time), quarantine and document_status in memory."""
        streamed = {name: DocumentTable(name, schemas.TABLES[name], parts) for name, parts in self.parts.items()}
        return {**streamed, "quarantine": self.quarantine, "document_status": self.status}

    def counts(self) -> dict[str, int]:
        statuses = self.status.column("status").to_pylist()
        return {s: statuses.count(s) for s in ("ok", "quarantined", "failed")}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_parquet(folder / "documents.parquet", self.documents)
        write_parquet(folder / "quarantine.parquet", self.quarantine)
        write_parquet(folder / "document_status.parquet", self.status)
        (folder / "partials").mkdir(exist_ok=True)
        for name, table in self.partials.items():
            write_parquet(folder / "partials" / f"{name}.parquet", table)
        atomic_write_text(folder / "corpus.json", dumps_json({
            "parts": {name: [[p.doc_id, str(p.path), p.rows, list(p.cite) if p.cite else None, p.patch]
                             for p in parts] for name, parts in self.parts.items()},
            "inputs": self.inputs, "warnings": self.warnings, "fingerprints": self.fingerprints,
        }, indent=None))

    @classmethod
    def load(cls, folder: Path) -> Corpus:
        saved = json.loads((folder / "corpus.json").read_text("utf-8"))
        parts = {name: [WorkPart(d, Path(p), n, tuple(c) if c else None, patch) for d, p, n, c, patch in rows]
                 for name, rows in saved["parts"].items()}
        return cls(read_parquet(folder / "documents.parquet"), read_parquet(folder / "quarantine.parquet"),
                   read_parquet(folder / "document_status.parquet"), parts, saved["inputs"], saved["warnings"],
                   saved.get("fingerprints", {}),
                   {p.stem: read_parquet(p) for p in sorted((folder / "partials").glob("*.parquet"))})


# --- the ledger: what the last assembly read of each document ------------------------------
#
# A document whose files have not changed since the last assembly (same inode, size and time
# for its raw row, stamp and work files) is not read again: its entry is taken from the ledger.
# The ledger is a cache: losing it costs one full assembly, never a wrong release.

HELD = ("documents", *STREAMED)
LEDGER_FORMAT = 1


def _file_key(folders: list[str], doc_id: str) -> str:
    """What the files a document's entry is read from look like on disk (`folders`: _key_folders)."""
    seen = []
    for folder, suffix in folders:
        try:
            st = os.stat(f"{folder}/{doc_id}{suffix}")
            seen.append(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
        except FileNotFoundError:
            seen.append("-")
    return hashlib.sha1(";".join(seen).encode()).hexdigest()


def _key_folders(data_dir: Path, doc_id: str) -> list[tuple[str, str]]:
    """The folders of a document's raw row, stamp and work files, with the files' suffixes
    (plain strings: a corpus of many documents stats them all at each assembly)."""
    paths = [work_path(data_dir, "raw", doc_id), stamp_path(data_dir, doc_id),
             *(work_path(data_dir, name, doc_id) for name in HELD)]
    return [(str(path.parent), path.name[len(doc_id):]) for path in paths]


def _ledger_path(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "work" / "corpus" / "ledger.json"


def _load_ledger(data_dir: Path) -> dict[str, dict]:
    try:
        saved = json.loads(_ledger_path(data_dir).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return saved.get("documents", {}) if saved.get("format") == LEDGER_FORMAT else {}


def _save_ledger(data_dir: Path, entries: dict[str, dict]) -> None:
    atomic_write_text(_ledger_path(data_dir), dumps_json({"format": LEDGER_FORMAT, "documents": entries}, indent=None))


def _slim_row(documents: pa.Table) -> dict:
    n_characters = pc.utf8_length(documents.column("clean_text")).cast(pa.int64())
    slim = documents.drop_columns(["clean_text", "source_map"]).append_column("n_characters", n_characters)
    row = to_arrow(slim, SLIM_DOCUMENTS).to_pylist()[0]
    return json.loads(dumps_json(row, indent=None))


def _read_entry(data_dir: Path, doc_id: str, key: str, held: Held) -> dict:
    """A document's ledger entry, read from its files: raw row, stamp, slim documents row, rows
    per table, the citation prefix its ids were written with, and links to its work files.
    `missing`: its raw row or stamp could not be read; `missing_tables`: another file."""
    entry: dict = {"key": key, "raw": None, "stamp": None, "document": None, "files": {}, "rows": {},
                   "prefix": None, "missing": None, "missing_tables": None}
    try:
        entry["raw"], entry["stamp"] = chain.read_raw(data_dir, doc_id), read_stamp(data_dir, doc_id)
        if entry["raw"]["status"] != "ok":
            return entry
        files = {name: held.link(doc_id, key, name, work_path(data_dir, name, doc_id)) for name in HELD}
        entry["document"] = _slim_row(pq.ParquetFile(files["documents"], pre_buffer=False).read())
        entry["files"] = {name: str(path) for name, path in files.items()}
        entry["rows"] = {name: file_rows(path) for name, path in files.items() if name != "documents"}
        first = pq.ParquetFile(files["paragraphs"], pre_buffer=False).read(columns=["para_id"])["para_id"]
        entry["prefix"] = first[0].as_py().rsplit(":", 1)[0] if len(first) else None
    except FileNotFoundError as exc:
        entry["missing" if entry["raw"] is None else "missing_tables"] = str(exc)
    return entry


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


def _cite_warnings(document: dict, doc_id: str, cite: str, cited: dict[str, str]) -> list[str]:
    """The document's warnings, with one when the prefix the corpus rule gives it is not its
    plain symbol."""
    base = document["symbol"] or doc_id
    warning = shared_symbol_warning(base, cite, cited.get(base)) if cite != base else None
    warnings = [w for w in (document["warnings"] or []) if not w.startswith(SHARED_SYMBOL_WARNING)]
    return warnings + ([warning] if warning else [])


def assemble(data_dir: Path, doc_ids: list[str]) -> Corpus:
    """The corpus of the given documents, read from the work folder.

    Counts in `documents` are filled here from the other tables. A document whose work files are
    missing, or were not all built from its present bytes (a run is still at work on it), is left
    out with a warning and status failed, never half-included. Ids are unique across the corpus:
    of documents that claim one symbol, the first in doc_id order cites by it and the others as
    `symbol@doc_id`. Only documents whose files changed since the last assembly are read (the
    ledger); the others' entries are taken as they were.
    """
    data_dir = Path(data_dir)
    held = Held(data_dir)
    before = _load_ledger(data_dir)
    order = sorted(doc_ids)
    folders = _key_folders(data_dir, order[0]) if order else []
    keys = {doc_id: _file_key(folders, doc_id) for doc_id in order}
    fresh = [d for d in order if (before.get(d) or {}).get("key") != keys[d]]
    entries = {d: before[d] for d in order if d not in set(fresh)}
    for doc_id, entry in zip(fresh, read_ahead(lambda d: _read_entry(data_dir, d, keys[d], held), fresh)):
        entries[doc_id] = entry
        held.prune(doc_id)
    held.forget(set(order))

    slim: list[dict] = []
    streamed: dict[str, list[WorkPart]] = {n: [] for n in HELD}
    quarantine: list[dict] = []
    statuses: list[dict] = []
    inputs: list[dict] = []
    warnings: list[str] = []
    cited: dict[str, str] = {}  # citation prefix -> the document citing by it
    seen_bytes: dict[str, str] = {}  # source sha256 -> the document holding those bytes
    fingerprints: dict[str, str] = {}
    for doc_id in order:
        entry = entries[doc_id]
        raw, stamp = entry["raw"], entry["stamp"]
        try:
            if entry["missing"]:
                raise FileNotFoundError(entry["missing"])
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
            if entry["missing_tables"]:
                raise FileNotFoundError(entry["missing_tables"])
        except FileNotFoundError as exc:
            warnings.append(f"{doc_id}: left out of the release: {exc}")
            statuses.append(_status_row(doc_id, raw, "failed", "incomplete", f"left out of the release: {exc}", stamp))
            continue
        counts = {f"n_{name}": entry["rows"][name] for name in STREAMED}
        document = entry["document"]
        base = document["symbol"] or doc_id
        cite = citation_prefix(base, doc_id, cited)
        while cite in cited:  # a symbol that itself reads like "X@doc"
            cite = f"{cite}@{doc_id}"
        doc_warnings = _cite_warnings(document, doc_id, cite, cited)
        cited[cite] = doc_id
        slim.append({**document, **counts, "warnings": doc_warnings})
        statuses.append({**_status_row(doc_id, raw, "ok", None, None, stamp), **counts,
                         "symbol": document["symbol"], "warnings": doc_warnings})
        fingerprints[doc_id] = document_fingerprint(stamp, cite, counts, doc_warnings)
        prefix = entry["prefix"] or cite  # a document without paragraphs has no ids to rewrite
        rewrite = None if prefix == cite else (prefix, cite)
        streamed["documents"].append(WorkPart(doc_id, Path(entry["files"]["documents"]), 1, None,
                                              {**counts, "warnings": doc_warnings}))
        for name in STREAMED:
            streamed[name].append(WorkPart(doc_id, Path(entry["files"][name]), entry["rows"][name], rewrite))
    partials = _update_partials(data_dir, fingerprints, streamed)
    _save_ledger(data_dir, {d: entries[d] for d in order})
    return Corpus(to_arrow(slim, SLIM_DOCUMENTS), to_arrow(quarantine, schemas.QUARANTINE),
                  to_arrow(statuses, schemas.DOCUMENT_STATUS), streamed, inputs, warnings, fingerprints, partials)


PARTIALS_KEEP = 2
# The code the partials are made by: a change to any of these makes every document's again.
PARTIALS_CODE = ("lib/release/stats.py", "lib/entities/catalog.py", "lib/corpus.py", "schemas.py", "gazetteers/")
CODE_KEY = "#code"


def _partials_root(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "work" / "corpus" / "partials"


def _newest_partials(root: Path) -> tuple[dict[str, pa.Table], dict[str, str]]:
    """The newest complete set of stored partials and the fingerprint each document's were made
    for (a set is complete once its fingerprints.json is written, last)."""
    from pipeline.lib.release import stats

    folders = sorted((p for p in root.glob("*") if (p / "fingerprints.json").is_file()), reverse=True) \
        if root.is_dir() else []
    for folder in folders:
        try:
            made_for = json.loads((folder / "fingerprints.json").read_text("utf-8"))
            return {name: read_parquet(folder / f"{name}.parquet") for name in stats.PARTIAL_SCHEMAS}, made_for
        except (FileNotFoundError, OSError, ValueError, pa.ArrowInvalid):
            continue
    return {}, {}


def _update_partials(data_dir: Path, fingerprints: dict[str, str], parts: dict[str, list[WorkPart]]) -> dict[str, pa.Table]:
    """The partial aggregates of every document in the corpus: those stored by an earlier
    assembly for documents whose fingerprint is unchanged, the others computed now (their tables
    read once, a few documents at a time). Each assembly that computes any stores a new set
    under work/corpus/partials/<time>-<pid>/ (the newest few are kept), so two assemblies at
    once never mix their files."""
    from pipeline.lib.release import stats

    root = _partials_root(data_dir)
    stored, made_for = _newest_partials(root)
    # Partials made by other code (statistics, catalog, schemas, gazetteers) are made again.
    code = chain.files_version(*PARTIALS_CODE)
    if made_for.pop(CODE_KEY, None) != code:
        stored, made_for = {}, {}
    keep = sorted(d for d, fp in fingerprints.items() if stored and made_for.get(d) == fp)
    stale = sorted(set(fingerprints) - set(keep))
    if not stale and set(made_for) == set(fingerprints):
        return stored  # nothing changed since the set stored
    fresh = {}
    if stale:
        wanted = set(stale)
        fresh = stats.document_partials({name: DocumentTable(name, schemas.TABLES[name],
                                                             [p for p in held if p.doc_id in wanted])
                                         for name, held in parts.items()})
    kept = pa.array(keep, pa.string())
    partials = {}
    for name, schema in stats.PARTIAL_SCHEMAS.items():
        old = stored.get(name)
        pieces = [old.filter(pc.is_in(old.column("doc_id"), kept))] if old is not None and len(kept) else []
        if name in fresh:
            pieces.append(fresh[name])
        partials[name] = (pa.concat_tables([to_arrow(t, schema) for t in pieces]).combine_chunks()
                          if pieces else schema.empty_table())
    if stale or set(made_for) != set(fingerprints):
        folder = root / f"{time.time_ns():020d}-{os.getpid()}"
        folder.mkdir(parents=True)
        for name, table in partials.items():
            write_parquet(folder / f"{name}.parquet", table)
        atomic_write_text(folder / "fingerprints.json",
                          dumps_json({CODE_KEY: code, **dict(sorted(fingerprints.items()))}, indent=None))
        for old_set in sorted(p for p in root.iterdir() if p.is_dir())[:-PARTIALS_KEEP]:
            shutil.rmtree(old_set, ignore_errors=True)
    return partials


def read_ahead(read, items: list, *, threads: int = 4, window: int = 64) -> Iterator:
    """read(item) for every item, in order, on a few threads (Parquet and file reads release
    the GIL), at most `window` items ahead of the consumer."""
    with ThreadPoolExecutor(threads) as pool:
        for i in range(0, len(items), window):
            yield from pool.map(read, items[i:i + window])


def document_fingerprint(stamp: dict, cite: str, counts: dict[str, int], warnings: list[str] | None) -> str:
    """What a document's rows in the release are made from (see Corpus.fingerprints)."""
    made_of = {"stamp": {k: stamp.get(k) for k in ("source_sha256", "sidecar_sha256", "settings", "stages")},
               "cite": cite, "counts": counts, "warnings": list(warnings or [])}
    return "sha256:" + hashlib.sha256(json.dumps(made_of, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
