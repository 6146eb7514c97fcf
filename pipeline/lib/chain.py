"""The per-document chain, declared once.

A stage's name is its Dagster asset key, its main work table and the word the code uses for
it. Each stage reads the work files of the stages before it and writes its own tables for one
document; a quarantined document flows through as empty tables, so one bad file never stops the
others. The Dagster assets are generated from STAGES (pipeline/defs/documents), and `unparl
build`, the sensor, the schedule, the benchmark and the tests run the same stages through
pipeline/lib/runner.py.

Three stages, not one per table: on SQLite every materialisation of a partition costs Dagster
about 13 milliseconds, so each asset key costs ~13 s per 1,000 documents (README,
"Performance"). The cut follows what changes apart: the text's reading and structure, the
tokenizer and its dictionary, the entity gazetteers.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from pipeline import schemas
from pipeline.lib.text.clean import Cleaned, clean
from pipeline.lib.text.formats import page_span
from pipeline.lib.text.ingest import (
    DEFAULT_MAX_BYTES, Rejected, Source, decode_bytes, display_name, read_input, read_sidecar, scan_sources,
)
from pipeline.lib.invariants import (
    document_offsets_hold, entity_types_known, footnotes_linked, mentions_within, numbers_contiguous,
    paragraph_kinds_known, unique,
)
from pipeline.lib.text.sentences import split_sentences
from pipeline.lib.storage import to_arrow
from pipeline.lib.text.structure import Structure, parse
from pipeline.lib.text.tokens import tokenize_columns
from pipeline.lib.workdir import StageResult, read_work, write_work

PACKAGE = Path(__file__).resolve().parents[1]

RAW = pa.schema([
    ("doc_id", pa.string()), ("source_file", pa.string()), ("source_sha256", pa.string()),
    ("source_bytes", pa.int64()), ("sidecar_file", pa.string()), ("sidecar_sha256", pa.string()), ("sidecar_bytes", pa.int64()),
    ("twin_file", pa.string()),
    ("sidecar", pa.string()), ("encoding", pa.string()), ("encoding_confidence", pa.float64()),
    ("source_format", pa.string()), ("pages", pa.int64()), ("page_map", pa.string()),
    ("text", pa.large_string()), ("warnings", pa.list_(pa.string())),
    ("status", pa.string()), ("reason", pa.string()), ("detail", pa.string()),
])
CLEAN = pa.schema([
    ("doc_id", pa.string()), ("clean_text", pa.large_string()), ("source_map", pa.string()),
    ("pieces", pa.string()),
])


@dataclass(frozen=True)
class Check:
    """An invariant a stage's tables keep for each document. ERROR checks block what follows."""

    name: str
    description: str
    severity: str = "ERROR"  # or "WARN"
    blocking: bool = True  # a failed ERROR check stops the corpus assets of the run


@dataclass(frozen=True)
class StageInput:
    """What a stage function is given for one document."""

    data_dir: Path
    doc_id: str
    seeds_dir: Path | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    backend: str | None = None  # the tokenizer backend; None: the configured one
    located: tuple[Source, Source | None] | None = None  # from locate_sources, spares a folder scan


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[StageInput], dict[str, StageResult]]
    reads: tuple[str, ...]  # the stages whose tables it reads
    tables: tuple[str, ...]  # the work tables it writes, its release table first
    code: tuple[str, ...]  # the files (inside pipeline/) whose content its code version covers
    checks: tuple[Check, ...]
    group: str
    description: str
    preview: tuple[str, ...]  # the columns a preview of its table shows
    kinds: tuple[str, ...] = ("python", "parquet")

    @property
    def all_checks(self) -> tuple[Check, ...]:
        return (*self.checks, COMPLETED)


# Every stage's: a document it raised on is set aside (internal_error) and named here. Not
# blocking: one bad document never stops the release of the others.
COMPLETED = Check("completed", "The stage finished on every document of the run (fails naming each document "
                               "it raised on, with the error).", "ERROR", blocking=False)


# --- the stages -------------------------------------------------------------------------------

def locate_sources(seeds_dir: Path) -> dict[str, tuple[Source, Source | None]]:
    """Every document's source and, when another file holds the same bytes under an earlier
    name, that twin. One scan of the folder serves a whole batch. A file that cannot be read is
    nobody's twin; one whose only fault is its sidecar is, as when its sidecar's JSON is bad."""
    first_by_hash: dict[str, Source] = {}
    located = {}
    for source in sorted(scan_sources(seeds_dir), key=lambda s: s.path.name):
        if source.error and source.error_reason != "bad_sidecar":
            located[source.doc_id] = (source, None)
            continue
        twin = first_by_hash.setdefault(source.sha256, source)
        located[source.doc_id] = (source, twin if twin is not source else None)
    return located


# A document set aside for one of these reasons is never stamped, so its next build reads it
# again: a stage raised on it, or its bytes changed while they were read.
UNSTAMPED = ("internal_error", "changing")


def no_source_row(doc_id: str) -> dict:
    """A raw row for a document whose source cannot be read: named by its id."""
    return {**{name: None for name in RAW.names}, "doc_id": doc_id, "source_file": doc_id, "source_bytes": 0}


def read_raw(data_dir: Path, doc_id: str, *, text: bool = False) -> dict:
    """The raw row of one document; its text only when asked for (the largest value)."""
    columns = None if text else [n for n in RAW.names if n != "text"]
    row = read_work(data_dir, "raw", doc_id, columns).to_pylist()[0]
    return row if text else {**row, "text": None}


def _ingest(given: StageInput) -> dict:
    """Read and decode one document: its raw row (status ok or quarantined, with the reason).

    source_sha256 is the hash of the very bytes decoded: a file whose bytes are not those the
    folder's scan hashed (it changed in between) is set aside as `changing`, and is not stamped
    (pipeline/defs/documents/assets.py), so the next build reads it again."""
    located = given.located
    if located is None and given.seeds_dir is not None:
        located = locate_sources(given.seeds_dir).get(given.doc_id)
    if located is None:
        # Deleted since its partition was requested: say so, and let the others go on.
        row = no_source_row(given.doc_id)
        row.update(text="", status="quarantined", reason="missing",
                   detail=f"no file in {given.seeds_dir} has document id {given.doc_id!r} (deleted or renamed)")
        row["warnings"] = [f"quarantined (missing): {row['detail']}"]
        return row
    source, twin = located
    name = source.name  # storable: a name that is not UTF-8 has its bytes escaped
    row = {
        "doc_id": given.doc_id, "source_file": name, "source_sha256": source.sha256,
        "source_bytes": source.size, "sidecar_file": display_name(source.sidecar.name) if source.sidecar else None,
        "sidecar_sha256": source.sidecar_sha256, "sidecar_bytes": source.sidecar_size,
        "twin_file": twin.name if twin else None, "sidecar": None, "encoding": None,
        "encoding_confidence": None, "source_format": None, "pages": None, "page_map": None,
        "text": "", "warnings": [], "status": "ok",
        "reason": None, "detail": None,
    }
    notes = []
    if any("\udc80" <= ch <= "\udcff" for ch in source.path.name):  # bytes that are not UTF-8
        notes.append(f"the file name is not valid UTF-8: recorded as '{name}', each byte that is not UTF-8 "
                     "escaped as \\xNN (rename the file in UTF-8 to keep its name readable)")
    elif name != source.path.name:
        notes.append(f"the file name holds a backslash before x and two hex digits: recorded as '{name}', that "
                     "backslash escaped as \\x5c, so it does not read as an escaped byte")
    try:
        # The file itself first (its size before its bytes are read), then its twin, then its sidecar.
        if source.error:
            raise Rejected(source.error_reason or "unreadable", source.error)
        if source.size > given.max_bytes:
            raise Rejected("too_large", f"{name}: {source.size:,} bytes is over the limit of "
                           f"{given.max_bytes:,} bytes (UNPARL_MAX_BYTES)")
        try:
            data = read_input(source.path)
        except OSError as exc:
            raise Rejected("unreadable", f"{name}: cannot be read ({exc.strerror or exc})") from exc
        sha256 = hashlib.sha256(data).hexdigest()
        row.update(source_sha256=sha256, source_bytes=len(data))
        if sha256 != source.sha256:
            raise Rejected("changing", f"{name}: changed while it was read ({source.size:,} bytes with sha256 "
                           f"{source.sha256[:12]}… when the folder was scanned, {len(data):,} bytes with sha256 "
                           f"{sha256[:12]}… when read): left for the next build")
        decoded = decode_bytes(data, name=name, max_bytes=given.max_bytes)
        if twin is not None:
            raise Rejected("duplicate", f"{name}: same bytes as {twin.name}, "
                           f"which is processed as document {twin.doc_id}")
        sidecar = read_sidecar(source.sidecar, expected_sha256=source.sidecar_sha256)
        row.update(sidecar=json.dumps(sidecar, ensure_ascii=False, sort_keys=True),
                   encoding=decoded.encoding, encoding_confidence=decoded.confidence,
                   source_format=decoded.source_format, pages=decoded.pages,
                   page_map=json.dumps(decoded.page_map) if decoded.page_map else None,
                   text=decoded.text, warnings=notes + decoded.warnings)
    except Rejected as exc:
        row.update(status="quarantined", reason=exc.reason, detail=exc.detail,
                   warnings=[*notes, f"quarantined ({exc.reason}): {exc.detail}"])
    return row


def set_aside(data_dir: Path, doc_id: str, stage: str, exc: BaseException, source: Source | None = None) -> str:
    """Quarantine a document one of whose stages failed unexpectedly (reason internal_error);
    its stages then produce empty tables, and the release's quarantine names the error. Before
    its raw row is written, the row names its `source` file, when known."""
    try:
        row = read_raw(data_dir, doc_id)
    except (FileNotFoundError, IndexError):
        row = no_source_row(doc_id)
        if source is not None:
            row.update(source_file=source.name, source_sha256=source.sha256, source_bytes=source.size)
    detail = f"{row['source_file']}: the {stage} stage failed: {type(exc).__name__}: {exc}"[:500]
    row.update(status="quarantined", reason="internal_error", detail=detail, text="",
               warnings=[f"quarantined (internal_error): {detail}"])
    write_work(data_dir, "raw", doc_id, pa.Table.from_pylist([row], schema=RAW))
    return detail


def attach_doc_id(rows: list[dict], doc_id: str) -> list[dict]:
    for row in rows:
        row["doc_id"] = doc_id
    return rows


def document_row(*, doc_id: str, cleaned: Cleaned, structure: Structure, source: dict,
                 sidecar: dict | None) -> dict:
    """The documents-table row for a document (counts are filled in when the corpus is assembled).
    Its language is the sidecar's, else the script of its text (zh-Hans or zh-Hant)."""
    from pipeline.lib.text.ingest import text_language

    meta = structure.metadata
    return {
        "doc_id": doc_id,
        **{key: meta.get(key) for key in schemas.METADATA_FIELDS},
        "symbol_in_text": structure.symbol_in_text,
        "provenance": {key: structure.provenance.get(key) if meta.get(key) is not None else None
                       for key in schemas.METADATA_FIELDS},
        "language": (sidecar or {}).get("language") or text_language(cleaned.clean_text, source.get("encoding")),
        "source_file": source.get("source_file"),
        "source_sha256": source.get("source_sha256"),
        "source_bytes": source.get("source_bytes"),
        "encoding": source.get("encoding"),
        "encoding_confidence": source.get("encoding_confidence"),
        "source_format": source.get("source_format"),
        "pages": source.get("pages"),
        "clean_text": cleaned.clean_text,
        "source_map": cleaned.source_map_json(),
        "warnings": list(source.get("warnings") or []) + list(structure.warnings),
        "n_paragraphs": len(structure.paragraphs),
    }


def documents_stage(given: StageInput) -> dict[str, StageResult]:
    """Read, decode and clean the source; parse its structure and metadata; split sentences."""
    data, doc_id = given.data_dir, given.doc_id
    raw = _ingest(given)
    raw_table = pa.Table.from_pylist([raw], schema=RAW)
    quarantined = raw["status"] != "ok"
    results = {"raw": StageResult(raw_table, write_work(data, "raw", doc_id, raw_table), list(raw["warnings"]),
                                  quarantined)}
    cleaned = clean(raw["text"]) if not quarantined else Cleaned("", [], [])
    pieces = [p.__dict__ for p in cleaned.pieces]
    clean_table = pa.Table.from_pylist([{
        "doc_id": doc_id, "clean_text": cleaned.clean_text, "source_map": cleaned.source_map_json(),
        "pieces": json.dumps(pieces, ensure_ascii=False),
    }], schema=CLEAN)
    text = cleaned.clean_text
    broken = [p["char_start"] for p in pieces if text[p["char_start"]:p["char_end"]] != p["text"]]
    results["clean"] = StageResult(
        clean_table, write_work(data, "clean", doc_id, clean_table), quarantined=quarantined,
        checks={"pieces_within_text": (not broken, {"broken": len(broken)})},
        facts={"characters": len(text), "page_breaks_rejoined": sum(p["joined_page_break"] for p in pieces),
               "footnotes_moved": sum(1 for p in pieces if p["footnote"])})

    sidecar = json.loads(raw["sidecar"]) if raw["sidecar"] else {}
    structure = parse(cleaned, doc_id=doc_id, sidecar=sidecar)
    if quarantined:
        structure.paragraphs, structure.warnings = [], []
    doc = document_row(doc_id=doc_id, cleaned=cleaned, structure=structure, sidecar=sidecar, source=raw)
    doc_table = to_arrow([doc], schemas.DOCUMENTS)
    page_map = json.loads(raw["page_map"]) if raw.get("page_map") else None
    for para in structure.paragraphs:
        para["page_start"], para["page_end"] = page_span(page_map, para["source_start"], para["source_end"])
        if para["page_start"] is not None and para["page_end"] > para["page_start"]:
            para["joined_page_break"] = True  # a PDF's reader joined it across the break
    paragraphs = to_arrow(attach_doc_id(structure.paragraphs, doc_id), schemas.PARAGRAPHS)
    kinds = Counter(p["kind"] for p in structure.paragraphs)
    results["documents"] = StageResult(doc_table, write_work(data, "documents", doc_id, doc_table),
                                       list(doc["warnings"]), quarantined)
    results["paragraphs"] = StageResult(
        paragraphs, write_work(data, "paragraphs", doc_id, paragraphs, ["seq"]), quarantined=quarantined,
        checks={
            "para_ids_unique": unique(paragraphs, "para_id"),
            "paragraph_offsets": document_offsets_hold(
                doc_id, text, *(paragraphs.column(c).to_pylist() for c in ("text", "char_start", "char_end"))),
            "paragraph_kinds_known": paragraph_kinds_known(paragraphs),
            "numbers_contiguous": numbers_contiguous(paragraphs),
            "footnotes_linked": footnotes_linked(paragraphs),
        },
        facts={"by_kind": dict(kinds)})

    rows = attach_doc_id(split_sentences(text, paragraphs.select(["para_id", "char_start", "char_end"]).to_pylist()),
                         doc_id)
    sentences = to_arrow(rows, schemas.SENTENCES)
    results["sentences"] = StageResult(
        sentences, write_work(data, "sentences", doc_id, sentences, ["seq"]), quarantined=quarantined,
        checks={"sent_ids_unique": unique(sentences, "sent_id"),
                "sentence_offsets": document_offsets_hold(doc_id, text, [r["text"] for r in rows],
                                                          [r["char_start"] for r in rows],
                                                          [r["char_end"] for r in rows])})
    return results


def _clean_text(data_dir: Path, doc_id: str) -> str:
    return read_work(data_dir, "documents", doc_id, ["clean_text"]).column("clean_text")[0].as_py()


def _rows(table: pa.Table, *, by_column: bool = False) -> list[dict] | dict[str, list]:
    """Rows as dicts or, by_column, a dict of column lists (far cheaper for many rows), with
    dictionary-encoded columns decoded once rather than per value."""
    for i, field_ in enumerate(table.schema):
        if pa.types.is_dictionary(field_.type):
            table = table.set_column(i, field_.name, table.column(i).cast(field_.type.value_type))
    return table.to_pydict() if by_column else table.to_pylist()


# A long document's tokens are made and written a batch at a time (issue 14: a 20 MB document's
# millions of tokens held as Python lists cost gigabytes): the tokenizer gets the sentences of
# about TOKEN_BATCH_CHARS characters at once, and each TOKEN_GROUP_ROWS tokens are one row group
# of the work file. A document of fewer tokens is one row group, as a table written at once.
TOKEN_BATCH_CHARS = 50_000
TOKEN_GROUP_ROWS = 64 * 1024
TOKENS_SORT = ["char_start", "seq"]


def _sentence_batches(sentences: dict[str, list], batch_chars: int) -> list[list[dict]]:
    """The sentences in document order (by char_start), cut into runs of about batch_chars
    characters. Their tokens then come in document order run after run, so runs written one
    after another keep the file sorted by TOKENS_SORT; sentences that overlap (which the
    sentence splitter never makes) are one run, sorted as a whole."""
    rows = sorted(zip(sentences["char_start"], sentences["char_end"], sentences["sent_id"]),
                  key=lambda r: (r[0], r[1]))
    overlapping = any(start < end for (_, end, _), (start, _, _) in zip(rows, rows[1:]))
    batches: list[list[dict]] = [[]]
    size = 0
    for start, end, sent_id in rows:
        if size >= batch_chars and not overlapping:
            batches.append([])
            size = 0
        batches[-1].append({"sent_id": sent_id, "char_start": start, "char_end": end})
        size += end - start
    return batches


def write_tokens(data: Path, doc_id: str, clean_text: str, sentences: dict[str, list], backend: str | None = None,
                 *, batch_chars: int = TOKEN_BATCH_CHARS, group_rows: int = TOKEN_GROUP_ROWS,
                 head: int = 20) -> StageResult:
    """Tokenize a document's sentences (columns sent_id, char_start, char_end) and write its
    tokens work file a batch at a time: the same table, sorted by TOKENS_SORT, as tokenizing all
    sentences in one call, without the whole ever in memory. The result holds the first `head`
    rows, the row count and the token_offsets check (run on each batch)."""
    import pyarrow.parquet as pq

    from pipeline.lib.storage import atomic_path, sort_table
    from pipeline.lib.workdir import WORK_PARQUET_OPTIONS, work_path

    path = work_path(data, "tokens", doc_id)
    pending: list[pa.Table] = []
    pending_rows = rows = broken = 0
    examples: list[dict] = []
    first: pa.Table | None = None

    def flush(writer: pq.ParquetWriter) -> None:
        nonlocal pending, pending_rows, first
        table = to_arrow(pa.concat_tables(pending).combine_chunks(), schemas.TOKENS)
        table = sort_table(table, TOKENS_SORT)
        writer.write_table(table, row_group_size=max(1, table.num_rows))
        if first is None:
            first = table.slice(0, head)
        pending, pending_rows = [], 0

    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schemas.TOKENS, **WORK_PARQUET_OPTIONS) as writer:
        for batch in _sentence_batches(sentences, batch_chars):
            columns = tokenize_columns(clean_text, batch, backend)
            _, details = document_offsets_hold(doc_id, clean_text, columns["text"], columns["char_start"],
                                               columns["char_end"])
            rows += details["rows"]
            broken += details["broken"]
            examples.extend(details["examples"][:5 - len(examples)])
            n = len(columns["seq"])
            if n:
                pending.append(pa.table({"doc_id": pa.array([doc_id] * n, pa.string()), **columns}))
                pending_rows += n
            if pending_rows >= group_rows:
                flush(writer)
        if pending:
            flush(writer)
        if first is None:  # no tokens: an empty table, as written at once
            first = schemas.TOKENS.empty_table()
            writer.write_table(first)
    offsets = (not broken, {"rows": rows, "broken": broken, "examples": examples})
    return StageResult(first, path, checks={"token_offsets": offsets}, rows=rows)


def tokens_stage(given: StageInput) -> dict[str, StageResult]:
    """Tokens with part-of-speech tags, sentence by sentence, written a batch at a time."""
    data, doc_id = given.data_dir, given.doc_id
    sentences = read_work(data, "sentences", doc_id, ["sent_id", "char_start", "char_end"]).to_pydict()
    clean_text = _clean_text(data, doc_id)
    return {"tokens": write_tokens(data, doc_id, clean_text, sentences, given.backend)}


def entities_stage(given: StageInput) -> dict[str, StageResult]:
    """Entity mentions with canonical ids."""
    from pipeline.lib.entities.tagger import TOKEN_COLUMNS, tag_entities

    data, doc_id = given.data_dir, given.doc_id

    def read(table: str, columns: list[str], by_column: bool = False) -> list[dict] | dict[str, list]:
        # Only the columns the tagger uses (the documents and tokens files hold many more).
        return _rows(read_work(data, table, doc_id, columns), by_column=by_column)

    doc = read("documents", ["symbol", "doc_type", "clean_text"])[0]
    paragraphs = read("paragraphs", ["para_id", "kind", "char_start", "char_end"])
    rows = tag_entities(
        doc_id=doc_id, symbol=doc["symbol"], doc_type=doc["doc_type"], clean_text=doc["clean_text"],
        paragraphs=paragraphs,
        sentences=read("sentences", ["sent_id", "para_id", "char_start", "char_end"]),
        # An Arrow table, not Python values: a long document has millions of tokens, and the
        # tagger converts one paragraph's at a time.
        tokens=read_work(data, "tokens", doc_id, list(TOKEN_COLUMNS)),
    )
    table = to_arrow(rows, schemas.ENTITIES)
    path = write_work(data, "entities", doc_id, table, ["char_start", "char_end", "entity_id"])
    spans = {p["para_id"]: (p["char_start"], p["char_end"]) for p in paragraphs}
    checks = {
        "entity_offsets": document_offsets_hold(doc_id, doc["clean_text"], [r["text"] for r in rows],
                                                [r["char_start"] for r in rows], [r["char_end"] for r in rows]),
        "entity_types_known": entity_types_known(table),
        "entities_within_paragraphs": mentions_within(doc_id, rows, spans),
    }
    facts = {"by_type": dict(Counter(r["type"] for r in rows))}
    return {"entities": StageResult(table, path, checks=checks, facts=facts)}


# --- the registry -----------------------------------------------------------------------------

# Files every stage's output depends on: the chain itself, the work files' format, the schemas.
COMMON_CODE = ("lib/chain.py", "lib/workdir.py", "lib/storage.py", "lib/invariants.py", "schemas.py")

STAGES: tuple[Stage, ...] = (
    Stage(
        name="documents", run=documents_stage, reads=(),
        tables=("documents", "paragraphs", "sentences", "raw", "clean"),
        code=("lib/text/ingest.py", "lib/text/encodings.py", "lib/text/formats/", "lib/text/masthead.py",
              "lib/text/clean.py", "lib/text/structure.py", "lib/text/numerals.py", "lib/text/sentences.py",
              "lib/text/un_symbols.py",
              "gazetteers/operative_verbs.tsv", "gazetteers/preambular_verbs.tsv"),
        checks=(
            Check("pieces_within_text", "Every paragraph piece's offsets fall inside clean_text and match its text."),
            Check("para_ids_unique", "Every para_id is unique within its document (and, in the release, across the corpus)."),
            Check("paragraph_offsets", "clean_text[char_start:char_end] == text for every paragraph."),
            Check("paragraph_kinds_known", "Every paragraph kind is one of the contract's eight."),
            Check("numbers_contiguous", "Numbered and operative paragraphs run 1 … n without gaps or repeats.",
                  "WARN", blocking=False),
            Check("footnotes_linked", "Every footnote is cited by a marker and every marker has its footnote.",
                  "WARN", blocking=False),
            Check("sent_ids_unique", "Every sent_id is unique within its document."),
            Check("sentence_offsets", "clean_text[char_start:char_end] == text for every sentence."),
            Check("documents_readable", "Every document of the run was read: none set aside in the quarantine "
                                        "(fails naming each one and its reason).", "WARN", blocking=False),
        ),
        group="documents",
        description="Source files read by content (text, PDF, Word, HTML; page furniture out, the masthead into "
                    "metadata) and decoded (BOMs honoured, then detection), cleaned (export markup "
                    "removed, footnote bodies moved to the end, paragraphs cut by page breaks rejoined), "
                    "parsed into metadata with provenance and citation-style paragraphs (A/RES/74/304:op5), "
                    "and split into sentences. Work tables: documents, paragraphs, sentences.",
        preview=("doc_id", "symbol", "doc_type", "session", "date", "title"),
    ),
    Stage(
        name="tokens", run=tokens_stage, reads=("documents",), tables=("tokens",),
        code=("lib/text/tokens.py", "lib/text/un_symbols.py", "lib/text/numerals.py", "gazetteers/userdict.txt"),
        checks=(Check("token_offsets", "clean_text[char_start:char_end] == text for every token."),),
        group="documents", kinds=("python", "parquet", "jieba"),
        description="Tokens with part-of-speech tags from jieba (posseg; jieba-rs when the tokenizer setting or "
                    "UNPARL_TOKENIZER says rjieba), with a user dictionary of the corpus's proper names.",
        preview=("sent_id", "seq", "text", "pos"),
    ),
    Stage(
        name="entities", run=entities_stage, reads=("documents", "tokens"), tables=("entities",),
        code=("lib/entities/tagger.py", "lib/text/un_symbols.py", "lib/text/numerals.py", "gazetteers/"),
        checks=(
            Check("entity_offsets", "clean_text[char_start:char_end] == text for every mention."),
            Check("entity_types_known", "Every type is one of the contract's entity types."),
            Check("entities_within_paragraphs", "No mention crosses a paragraph boundary."),
        ),
        group="documents",
        description="Entity mentions (ORG, GPE, DOC, LAW, EVENT, SDG, DATE, PERCENT, PERSON) from curated "
                    "gazetteers and exact patterns, with POS only as a fallback; canonical ids.",
        preview=("entity_id", "type", "text", "method"),
    ),
)
BY_NAME = {stage.name: stage for stage in STAGES}
NAMES = tuple(BY_NAME)


def stage(name: str) -> Stage:
    if name not in BY_NAME:
        raise KeyError(f"unknown stage {name!r}: the stages are {', '.join(NAMES)}")
    return BY_NAME[name]


def downstream(names) -> tuple[str, ...]:
    """The stages named and every stage that reads one of them, in chain order."""
    chosen = set(names)
    for s in STAGES:
        if chosen & set(s.reads):
            chosen.add(s.name)
    return tuple(s.name for s in STAGES if s.name in chosen)


def _files(entry: str) -> list[Path]:
    path = PACKAGE / entry
    if entry.endswith("/"):
        return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return [path] if path.exists() else []


def files_version(*entries: str) -> str:
    """A hash of these files (paths inside pipeline/; a folder when ending in '/')."""
    h = hashlib.sha256()
    for entry in entries:
        for path in _files(entry):
            h.update(path.relative_to(PACKAGE).as_posix().encode())
            h.update(b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=None)
def code_version(name: str) -> str:
    """A hash of the files the stage's output depends on (its own and COMMON_CODE): the code
    version Dagster shows and the stamp records, so the UI and `unparl build` agree on what is
    stale."""
    return files_version(*COMMON_CODE, *stage(name).code)


def code_versions() -> dict[str, str]:
    return {s.name: code_version(s.name) for s in STAGES}
