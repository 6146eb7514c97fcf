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
# Finer classes inside two of the contract's types, in the entities' `subtype` column: the UN's
# collective and office actors are ORG, titled publications DOC.
ENTITY_SUBTYPES = {"ACTOR": "ORG", "PUBLICATION": "DOC"}
# What the tagger tells apart and the gold files annotate: a type, or a subtype in its place.
ENTITY_CLASSES = ENTITY_TYPES + tuple(ENTITY_SUBTYPES)


def entity_type(entity_class: str) -> str:
    """The contract's type of a tagger class (ACTOR -> ORG, PUBLICATION -> DOC, ORG -> ORG)."""
    return ENTITY_SUBTYPES.get(entity_class, entity_class)


def entity_subtype(entity_class: str) -> str | None:
    """The `subtype` of a tagger class: the class itself when it is one, else null."""
    return entity_class if entity_class in ENTITY_SUBTYPES else None


def entity_class(row: dict) -> str:
    """The class of an entities row: its subtype where it has one, else its type."""
    return row.get("subtype") or str(row["type"])
ENTITY_ROLES = ("addressee",)
TOKEN_FLAGS = ("label", "footnote_marker")
ENTITY_METHODS = ("gazetteer", "pattern", "abbreviation", "pos")
PROVENANCE = ("text", "sidecar", "inferred")
METADATA_FIELDS = (
    "symbol", "doc_type", "title", "session", "agenda_item", "date",
    "resolution_number", "plenary_meeting", "draft_symbols", "organ", "meeting",
    "original_language", "job_number", "distribution",
)
SOURCE_FORMATS = ("txt", "pdf", "docx", "doc", "html")


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
    _field("doc_type", CATEGORY, "Kind of document: report, resolution, decision, note, letter, presidential_statement, "
           "charter, other (README, 'What is read from a document')."),
    _field("title", pa.string(), "Title as printed."),
    _field("session", pa.int64(), "General Assembly (or other organ) session number."),
    _field("agenda_item", pa.string(), "Agenda item as printed (e.g. '125')."),
    _field("date", pa.string(), "Adoption or issue date, ISO 8601 (YYYY-MM-DD, or YYYY-MM when only the month is known)."),
    _field("resolution_number", pa.string(), "Resolution number as the text gives it (e.g. '74/303')."),
    _field("plenary_meeting", pa.int64(), "Plenary meeting at which a resolution was adopted."),
    _field("draft_symbols", pa.list_(pa.string()), "Symbols of the drafts a resolution was adopted from."),
    _field("organ", pa.string(), "UN organ that adopted or issued the document: 'General Assembly', 'Security Council', "
           "'Secretary-General', … (null for a text no UN organ issued, such as a government's letter)."),
    _field("meeting", pa.int64(), "Number of the organ's meeting at which the document was adopted or made (the Security "
           "Council's 第4670次会议; for the General Assembly its plenary meeting)."),
    _field("original_language", pa.string(), "BCP 47 tag of the language the document was written in, as its masthead "
           "prints it ('Original: English' → 'en'); null when not printed."),
    _field("job_number", pa.string(), "The UN's job number of this language version, as the masthead prints it "
           "('20-05238 (C)'; from the barcode *2005238* when only that is printed)."),
    _field("distribution", pa.string(), "Distribution the masthead prints: 'General', 'Limited' or 'Restricted'."),
    _field("provenance", pa.struct([pa.field(f, pa.string()) for f in METADATA_FIELDS]),
           "For every metadata field: 'text', 'sidecar' or 'inferred' (null when the field is null)."),
    _field("language", pa.string(), "BCP 47 language tag of the text: the sidecar's, else its script's (zh-Hans, or zh-Hant "
           "for traditional characters).", False),
    _field("source_file", pa.string(), "Source file name inside the seeds folder.", False),
    _field("source_sha256", pa.string(), "SHA-256 of the source file's bytes.", False),
    _field("un_url", pa.string(), "The United Nations' own copy of the document in Chinese, from its symbol "
           "(https://undocs.org/zh/<symbol>); null without a symbol."),
    _field("source_bytes", pa.int64(), "Size of the source file in bytes.", False),
    _field("source_format", CATEGORY, "Format the source was read as, from its content (not its name): "
           f"{', '.join(SOURCE_FORMATS)} (README, 'Formats')."),
    _field("pages", pa.int64(), "Pages of the source: a PDF's, or one more than a text's form feeds; null when the "
           "format has no fixed pages (DOCX, DOC, HTML, a text without form feeds)."),
    _field("encoding", pa.string(), "Encoding the source bytes were decoded from (a web page's too; null for PDF and Word)."),
    _field("encoding_confidence", pa.float64(), "Confidence of the encoding decision (1.0 for a BOM or strict UTF-8; null when there was none to make)."),
    _field("clean_text", pa.string(), "Cleaned text; every offset in the release counts code points into it.", False),
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
    _field("kind", CATEGORY, "heading, numbered, list_item, preambular, operative, footnote, front_matter or closing "
           "(README, 'What is read from a document').", False),
    _field("number", pa.string(), "Number or label as printed ('19', '(a)', '5', '一'); null when unnumbered."),
    _field("section", pa.string(), "Section label the paragraph belongs to ('二'), or the chapter."),
    _field("subsection", pa.string(), "Subsection label ('A'), or the article."),
    _field("section_order", pa.int64(), "The section label as a number to sort by: 三 → 3, 第十九章 → 19, IV → 4 "
           "(null when there is no section or its label is not a number)."),
    _field("subsection_order", pa.int64(), "The subsection label as a number to sort by: A → 1, 第二条 → 2."),
    _field("heading", pa.string(), "Title of the innermost heading the paragraph falls under."),
    _field("operative_verb", pa.string(), "Operative verb of an operative paragraph (欢迎, 鼓励, 又鼓励 …)."),
    _field("preambular_verb", pa.string(), "Verb that opens a preambular paragraph (回顾, 又回顾, 重申, 认识到, "
           "深感不安地注意到 …), from gazetteers/preambular_verbs.tsv."),
    _field("footnote_refs", pa.list_(pa.string()), "para_ids of the footnotes this paragraph's markers cite."),
    _field("cited_by", pa.list_(pa.string()), "For a footnote: para_ids of the paragraphs whose markers cite it, in "
           "document order (null for other paragraphs)."),
    _field("addressees", pa.list_(pa.string()), "For an operative paragraph: entity_ids of whom it welcomes, encourages, "
           "invites, urges or requests (its entity mentions with role 'addressee'), in order; empty otherwise."),
    _field("joined_page_break", pa.bool_(), "True when the paragraph was rejoined across a page break."),
    _field("continuation_seams", pa.list_(pa.int64()), "Offsets in clean_text where an unnumbered block that continues "
           "this numbered paragraph begins (the block after a page break that UN texts leave unnumbered); its text "
           "runs over the blocks and the line breaks between them."),
    _field("text", pa.string(), "Paragraph text, equal to clean_text[char_start:char_end].", False),
    *OFFSETS,
    _field("page_start", pa.int64(), "Page (from 1) the paragraph starts on: in a PDF, or a text with form feeds; "
           "null where the source has no fixed pages."),
    _field("page_end", pa.int64(), "Page the paragraph ends on (greater than page_start when a page break cut it)."),
    _field("source_start", pa.int64(), "Start offset of the paragraph in the decoded source text."),
    _field("source_end", pa.int64(), "End offset (exclusive) of the paragraph in the decoded source text."),
)

SENTENCES = _schema(
    _field("doc_id", pa.string(), "Document id.", False),
    _field("para_id", pa.string(), "Paragraph the sentence belongs to.", False),
    _field("sent_id", pa.string(), "Sentence id: para_id + '.s' + position within the paragraph (from 1).", False),
    _field("seq", pa.int64(), "Position of the sentence in the document, from 0.", False),
    _field("text", pa.string(), "Sentence text.", False),
    *OFFSETS,
)

TOKENS = _schema(
    _field("doc_id", pa.string(), "Document id.", False),
    _field("sent_id", pa.string(), "Sentence the token belongs to.", False),
    _field("seq", pa.int64(), "Position of the token within its sentence, from 0.", False),
    _field("text", pa.string(), "Token text.", False),
    _field("pos", CATEGORY, "Part-of-speech tag (jieba/ICTCLAS tag set).", False),
    *OFFSETS,
    _field("para_id", pa.string(), "Paragraph the token belongs to (its sentence's)."),
    _field("flag", CATEGORY, "'label' for a paragraph label ('63.', '(a)'), 'footnote_marker' for a footnote marker "
           "('⁹'); null for a word. Flagged tokens are kept whole and are not words of the text."),
)

ENTITIES = _schema(
    _field("doc_id", pa.string(), "Document id.", False),
    _field("para_id", pa.string(), "Paragraph containing the mention.", False),
    _field("sent_id", pa.string(), "Sentence containing the mention (null if it spans sentences)."),
    _field("entity_id", pa.string(), "Canonical entity id ('org:undp', 'gpe:GEO', 'doc:A/RES/72/278', 'sdg:5').", False),
    _field("type", CATEGORY, "ORG (a named body, or a collective or office actor), GPE, DOC (document symbols, "
           "resolution numbers and titled publications), LAW (instruments, agendas, declarations), EVENT, SDG, "
           "DATE, PERCENT or PERSON.", False),
    _field("subtype", CATEGORY, "ACTOR for an ORG that is a collective or office actor (Member States, national "
           "parliaments, the Secretary-General, the UN system, UN country teams, civil society …); PUBLICATION for "
           "a DOC that is a titled report, toolkit, handbook or other publication; null otherwise."),
    _field("text", pa.string(), "Mention text as it appears.", False),
    *OFFSETS,
    _field("method", CATEGORY, "How it was found: gazetteer, pattern, abbreviation or pos.", False),
    _field("value", pa.string(), "Normalised value: ISO date for DATE, fraction for PERCENT, symbol for DOC (null for a publication)."),
    _field("role", CATEGORY, "'addressee' for a mention an operative paragraph welcomes, encourages, invites, urges, "
           "calls upon or requests (会员国 in '促请会员国…'); null otherwise."),
)

ENTITY_CATALOG = _schema(
    _field("entity_id", pa.string(), "Canonical entity id.", False),
    _field("type", CATEGORY, "Entity type.", False),
    _field("subtype", CATEGORY, "ACTOR or PUBLICATION, as in entities.subtype; null otherwise."),
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
           "bad_sidecar, duplicate, encrypted, no_text_layer, corrupt, unsupported_format, …; the README's \"When something goes wrong\" lists them all).", False),
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
