"""One Arrow schema per table of the release: the data contract in code.

Writers cast to these schemas and checks read them, so a column's name, type and
description live in one place. Descriptions travel in each field's metadata.
"""
from __future__ import annotations

import pyarrow as pa

CATEGORY = pa.dictionary(pa.int32(), pa.string())

PARAGRAPH_KINDS = (
    "heading", "numbered", "list_item", "preambular", "operative", "footnote",
    "front_matter", "closing",
)
ENTITY_TYPES = ("ORG", "GPE", "DOC", "LAW", "EVENT", "SDG", "DATE", "PERCENT", "PERSON")
ENTITY_METHODS = ("gazetteer", "pattern", "abbreviation", "pos")
PROVENANCE = ("text", "sidecar", "inferred")
METADATA_FIELDS = (
    "symbol", "doc_type", "title", "session", "agenda_item", "date",
    "resolution_number", "plenary_meeting", "draft_symbols",
)


def _field(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


def _schema(*fields: pa.Field) -> pa.Schema:
    return pa.schema(list(fields))


OFFSETS = (
    _field("char_start", pa.int64(), "Start offset in the document's clean_text, in Unicode code points.", False),
    _field("char_end", pa.int64(), "End offset (exclusive) in clean_text; clean_text[char_start:char_end] == text.", False),
)

DOCUMENTS = _schema(
    _field("doc_id", pa.string(), "Stable document id, derived from the source file name.", False),
    _field("symbol", pa.string(), "UN document symbol used for citation (declared value wins over the text's)."),
    _field("symbol_in_text", pa.string(), "The symbol as the text itself gives it, when it gives one."),
    _field("doc_type", CATEGORY, "Kind of document: report, resolution, decision, note, letter, charter, other."),
    _field("title", pa.string(), "Title as printed."),
    _field("session", pa.int64(), "General Assembly (or other organ) session number."),
    _field("agenda_item", pa.string(), "Agenda item as printed (e.g. '125')."),
    _field("date", pa.string(), "Adoption or issue date, ISO 8601 (YYYY-MM-DD, or YYYY-MM when only the month is known)."),
    _field("resolution_number", pa.string(), "Resolution number as the text gives it (e.g. '74/303')."),
    _field("plenary_meeting", pa.int64(), "Plenary meeting at which a resolution was adopted."),
    _field("draft_symbols", pa.list_(pa.string()), "Symbols of the drafts a resolution was adopted from."),
    _field("provenance", pa.struct([pa.field(f, pa.string()) for f in METADATA_FIELDS]),
           "For every metadata field: 'text', 'sidecar' or 'inferred' (null when the field is null)."),
    _field("language", pa.string(), "BCP 47 language tag of the text: the sidecar's, else its script's (zh-Hans, or zh-Hant "
           "for traditional characters).", False),
    _field("source_file", pa.string(), "Source file name inside the seeds folder.", False),
    _field("source_sha256", pa.string(), "SHA-256 of the source file's bytes.", False),
    _field("source_bytes", pa.int64(), "Size of the source file in bytes.", False),
    _field("encoding", pa.string(), "Encoding the source bytes were decoded from."),
    _field("encoding_confidence", pa.float64(), "Confidence of the encoding decision (1.0 for a BOM or strict UTF-8)."),
    _field("clean_text", pa.large_string(), "Cleaned text; every offset in the release counts code points into it.", False),
    _field("source_map", pa.string(), "JSON list of [clean_start, source_start, length] runs mapping clean_text back to the decoded source text."),
    _field("warnings", pa.list_(pa.string()), "Warnings raised while processing this document."),
    _field("n_paragraphs", pa.int64(), "Number of paragraphs."),
    _field("n_sentences", pa.int64(), "Number of sentences."),
    _field("n_tokens", pa.int64(), "Number of tokens."),
    _field("n_entities", pa.int64(), "Number of entity mentions."),
)

PARAGRAPHS = _schema(
    _field("doc_id", pa.string(), "Document id.", False),
    _field("para_id", pa.string(), "Citation-style id, e.g. 'A/RES/74/304:op5', 'A/74/759:p70(a)'.", False),
    _field("seq", pa.int64(), "Position of the paragraph in the document, from 0.", False),
    _field("kind", CATEGORY, "heading, numbered, list_item, preambular, operative, footnote, front_matter or closing.", False),
    _field("number", pa.string(), "Number or label as printed ('19', '(a)', '5', '一'); null when unnumbered."),
    _field("section", pa.string(), "Section label the paragraph belongs to ('二'), or the chapter."),
    _field("subsection", pa.string(), "Subsection label ('A'), or the article."),
    _field("heading", pa.string(), "Title of the innermost heading the paragraph falls under."),
    _field("operative_verb", pa.string(), "Operative verb of an operative paragraph (欢迎, 鼓励, 又鼓励 …)."),
    _field("footnote_refs", pa.list_(pa.string()), "para_ids of the footnotes this paragraph's markers cite."),
    _field("cited_by", pa.string(), "For a footnote: para_id of the paragraph whose marker cites it."),
    _field("joined_page_break", pa.bool_(), "True when the paragraph was rejoined across a page break."),
    _field("text", pa.large_string(), "Paragraph text, equal to clean_text[char_start:char_end].", False),
    *OFFSETS,
    _field("source_start", pa.int64(), "Start offset of the paragraph in the decoded source text."),
    _field("source_end", pa.int64(), "End offset (exclusive) of the paragraph in the decoded source text."),
)

SENTENCES = _schema(
    _field("doc_id", pa.string(), "Document id.", False),
    _field("para_id", pa.string(), "Paragraph the sentence belongs to.", False),
    _field("sent_id", pa.string(), "Sentence id: para_id + '.s' + position within the paragraph (from 1).", False),
    _field("seq", pa.int64(), "Position of the sentence in the document, from 0.", False),
    _field("text", pa.large_string(), "Sentence text.", False),
    *OFFSETS,
)

TOKENS = _schema(
    _field("doc_id", pa.string(), "Document id.", False),
    _field("sent_id", pa.string(), "Sentence the token belongs to.", False),
    _field("seq", pa.int64(), "Position of the token within its sentence, from 0.", False),
    _field("text", pa.string(), "Token text.", False),
    _field("pos", CATEGORY, "Part-of-speech tag (jieba/ICTCLAS tag set).", False),
    *OFFSETS,
)

ENTITIES = _schema(
    _field("doc_id", pa.string(), "Document id.", False),
    _field("para_id", pa.string(), "Paragraph containing the mention.", False),
    _field("sent_id", pa.string(), "Sentence containing the mention (null if it spans sentences)."),
    _field("entity_id", pa.string(), "Canonical entity id ('org:undp', 'gpe:GEO', 'doc:A/RES/72/278', 'sdg:5').", False),
    _field("type", CATEGORY, "ORG, GPE, DOC, LAW, EVENT, SDG, DATE, PERCENT or PERSON.", False),
    _field("text", pa.string(), "Mention text as it appears.", False),
    *OFFSETS,
    _field("method", CATEGORY, "How it was found: gazetteer, pattern, abbreviation or pos.", False),
    _field("value", pa.string(), "Normalised value: ISO date for DATE, fraction for PERCENT, symbol for DOC."),
)

ENTITY_CATALOG = _schema(
    _field("entity_id", pa.string(), "Canonical entity id.", False),
    _field("type", CATEGORY, "Entity type.", False),
    _field("name_zh", pa.string(), "Canonical Chinese name.", False),
    _field("name_en", pa.string(), "English name where known."),
    _field("aliases", pa.list_(pa.string()), "Other spellings and short forms seen or known."),
    _field("iso3", pa.string(), "ISO 3166-1 alpha-3 code, for countries."),
    _field("n_mentions", pa.int64(), "Mentions in the corpus.", False),
    _field("n_documents", pa.int64(), "Documents mentioning it.", False),
)

QUARANTINE = _schema(
    _field("source_file", pa.string(), "File that was not processed.", False),
    _field("source_sha256", pa.string(), "SHA-256 of its bytes (null if unreadable)."),
    _field("reason", CATEGORY, "Short reason code (empty, binary, markup, not_chinese, undecodable, truncated, too_large, "
           "bad_sidecar, duplicate, …; the README's \"When something goes wrong\" lists them all).", False),
    _field("detail", pa.string(), "What was found, in words."),
)

DOCUMENT_STATUS = _schema(
    _field("doc_id", pa.string(), "Document id (one row per source file of the build).", False),
    _field("source_file", pa.string(), "Source file name inside the seeds folder.", False),
    _field("symbol", pa.string(), "UN document symbol, for a document that was read."),
    _field("status", CATEGORY, "ok (in the release), quarantined (set aside for its input: see reason) or "
                               "failed (a stage raised, or its stages did not all finish).", False),
    _field("reason", pa.string(), "Reason code of a quarantined or failed document (as in quarantine; "
                                  "internal_error or incomplete for a failure)."),
    _field("detail", pa.string(), "What was found, in words, naming the file."),
    _field("n_paragraphs", pa.int64(), "Paragraphs the documents stage wrote.", False),
    _field("n_sentences", pa.int64(), "Sentences the documents stage wrote.", False),
    _field("n_tokens", pa.int64(), "Tokens the tokens stage wrote.", False),
    _field("n_entities", pa.int64(), "Entity mentions the entities stage wrote.", False),
    _field("warnings", pa.list_(pa.string()), "Warnings raised while processing the document."),
    _field("code_version", pa.string(), "The code version each stage ran with (stage=version;…)."),
)

TABLES: dict[str, pa.Schema] = {
    "documents": DOCUMENTS,
    "paragraphs": PARAGRAPHS,
    "sentences": SENTENCES,
    "tokens": TOKENS,
    "entities": ENTITIES,
    "entity_catalog": ENTITY_CATALOG,
    "quarantine": QUARANTINE,
    "document_status": DOCUMENT_STATUS,
}

# Sort keys: rows are written sorted by document and position.
SORT_KEYS: dict[str, list[str]] = {
    "documents": ["doc_id"],
    "paragraphs": ["doc_id", "seq"],
    "sentences": ["doc_id", "seq"],
    "tokens": ["doc_id", "char_start", "seq"],
    "entities": ["doc_id", "char_start", "char_end", "entity_id"],
    "entity_catalog": ["entity_id"],
    "quarantine": ["source_file"],
    "document_status": ["doc_id"],
}


def description(schema: pa.Schema, column: str) -> str:
    meta = schema.field(column).metadata or {}
    return meta.get(b"description", b"").decode()
