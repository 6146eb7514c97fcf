"""Corpus statistics: per-document profiles, entity counts, countries, SDGs,
operative verbs, keywords, entity co-occurrence and the citation graph.

Each statistic is computed in two steps: `document_partials` reduces a document's tables to
small per-document aggregates (its partials), and `combine` turns the partials of every
document into the statistics tables and statistics.json's summary. A new document costs its
own partials and a combine whose cost follows the number of documents, not their tokens; a
whole corpus (`Statistics.of`) goes through the same two steps. Every step is a Polars query,
so the cost grows with the number of rows, not with Python loops over them. Results are Arrow
tables whose fields carry descriptions (STATS_SCHEMAS), ready to be written next to the tables
they summarise.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl
import polars.selectors as cs
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import schemas
from pipeline.lib import storage
from pipeline.lib.entities import catalog as entity_catalog
from pipeline.lib.text import un_symbols
from pipeline.lib.text.structure import REPETITION_ADVERBS

GAZETTEERS = resources.files("pipeline") / "gazetteers"
KEYWORDS_PER_DOCUMENT = 20
TOP_N_SUMMARY = 20
# Dates and percentages are values, not actors: pairing them with everything
# in a sentence would swamp the co-occurrence network.
COOCCURRENCE_EXCLUDED_TYPES = ("DATE", "PERCENT")
# A sentence naming k entities adds 1/(k-1) to each of its pairs (so it adds at most 1 to any
# entity's total weight, and a list of twenty names does not outweigh twenty sentences naming
# two). Weights are summed as integers in units of 1/COOCCURRENCE_WEIGHT_UNITS, exact for
# k <= 17 (720720 is the least common multiple of 1..16), so their sum is the same in any order.
COOCCURRENCE_WEIGHT_UNITS = 720720
# Mentions of these types stay words for the keywords (a symbol, a date and a percentage are
# no key term); a mention of any other type is one keyword, named as its entity.
KEYWORD_WORD_TYPES = ("DOC", "DATE", "PERCENT")
# The longest run of tokens rejoined into one domain term (可/持续/发展/目标).
KEYWORD_TERM_TOKENS = 4
# jieba/ICTCLAS tag prefixes that never make a keyword: non-words and
# punctuation, numerals, particles, prepositions, conjunctions, pronouns,
# adverbs, measure words, directions, time words, modal particles, interjections.
KEYWORD_EXCLUDED_POS = ("x", "m", "u", "p", "c", "r", "d", "q", "f", "t", "y", "e", "o", "w")
# "Also welcomes" and "welcomes" are the same act: the base verb drops the
# adverb that only marks repetition (the parser's adverbs, longest first).
VERB_PREFIX = "^(" + "|".join(map(re.escape, REPETITION_ADVERBS)) + ")"
# A UN document symbol (A/74/759, A/RES/74/304, A/74/L.85/Add.1, E/CN.6/2020/1): see
# un_symbols. Polars has no look-behind, so a footnote's symbols are its matches of the
# bare pattern that hold a digit.
SYMBOL_PATTERN = un_symbols.SYMBOL
# "第 60/1 号决议" is how a Chinese text cites General Assembly resolution 60/1.
GA_RESOLUTION_PATTERN = rf"第\s*({un_symbols.GA_RESOLUTION_NUMBER})\s*号决议"


# --- schemas of the statistics tables ------------------------------------------------------

def _f(name: str, type_: pa.DataType, description: str) -> pa.Field:
    return pa.field(name, type_, metadata={"description": description})


def _lower(value: str) -> str:
    return value.lower()


STATS_DOCUMENTS = pa.schema([
    _f("doc_id", pa.string(), "Document id."),
    _f("symbol", pa.string(), "UN document symbol."),
    _f("doc_type", schemas.CATEGORY, "Kind of document."),
    _f("n_characters", pa.int64(), "Length of clean_text in Unicode code points."),
    _f("n_paragraphs", pa.int64(), "Paragraphs of every kind."),
    *[_f(f"n_para_{kind}", pa.int64(), f"Paragraphs of kind '{kind}'.") for kind in schemas.PARAGRAPH_KINDS],
    _f("n_sentences", pa.int64(), "Sentences."),
    _f("mean_sentence_chars", pa.float64(), "Mean sentence length in characters (code points), rounded to 3 decimals."),
    _f("max_sentence_chars", pa.int64(), "Longest sentence in characters (code points)."),
    _f("mean_sentence_tokens", pa.float64(), "Mean sentence length in tokens, rounded to 3 decimals."),
    _f("max_sentence_tokens", pa.int64(), "Longest sentence in tokens."),
    _f("n_tokens", pa.int64(), "Tokens."),
    _f("n_entities", pa.int64(), "Entity mentions of every type."),
    _f("n_distinct_entities", pa.int64(), "Distinct entity_ids mentioned."),
    *[_f(f"n_ent_{_lower(t)}", pa.int64(), f"Entity mentions of type {t}.") for t in schemas.ENTITY_TYPES],
    *[_f(f"n_ent_{_lower(t)}", pa.int64(), f"Entity mentions of subtype {t} (counted in {schemas.entity_type(t)} too).")
      for t in schemas.ENTITY_SUBTYPES],
])

STATS_ENTITIES = pa.schema([
    _f("doc_id", pa.string(), "Document id."),
    _f("entity_id", pa.string(), "Canonical entity id."),
    _f("type", schemas.CATEGORY, "Entity type."),
    _f("name", pa.string(), "Canonical Chinese name (entity_catalog.name_zh, else the most frequent mention text)."),
    _f("count", pa.int64(), "Mentions in this document."),
    _f("paragraphs", pa.int64(), "Paragraphs of this document that mention it."),
    _f("first_char", pa.int64(), "Offset in clean_text of the first mention."),
])

STATS_ENTITIES_CORPUS = pa.schema([
    _f("rank", pa.int64(), "Rank by mentions (1 = most mentioned; ties broken by entity_id)."),
    _f("entity_id", pa.string(), "Canonical entity id."),
    _f("type", schemas.CATEGORY, "Entity type."),
    _f("name", pa.string(), "Canonical Chinese name (entity_catalog.name_zh, else the most frequent mention text)."),
    _f("name_en", pa.string(), "English name where known."),
    _f("count", pa.int64(), "Mentions in the corpus."),
    _f("documents", pa.int64(), "Documents that mention it."),
    _f("paragraphs", pa.int64(), "Paragraphs that mention it."),
])

STATS_COUNTRIES = pa.schema([
    _f("rank", pa.int64(), "Rank by mentions (ties broken by ISO3)."),
    _f("iso3", pa.string(), "ISO 3166-1 alpha-3 code."),
    _f("entity_id", pa.string(), "Entity id, 'gpe:' + ISO3."),
    _f("name_zh", pa.string(), "Chinese name as the UN writes it (entity_catalog.name_zh)."),
    _f("name_en", pa.string(), "English name (entity_catalog.name_en, else the ISO 3166 name from pycountry)."),
    _f("count", pa.int64(), "Mentions in the corpus."),
    _f("documents", pa.int64(), "Documents that mention it."),
    _f("paragraphs", pa.int64(), "Paragraphs that mention it."),
])

STATS_SDGS = pa.schema([
    _f("goal", pa.int64(), "Sustainable Development Goal number, 1 to 17."),
    _f("entity_id", pa.string(), "Entity id, 'sdg:' + goal."),
    _f("short_zh", pa.string(), "Short name in Chinese (the UN's SDG icons)."),
    _f("short_en", pa.string(), "Short name in English (the UN's SDG icons)."),
    _f("title_zh", pa.string(), "Title of the goal in Chinese, from A/RES/70/1."),
    _f("title_en", pa.string(), "Title of the goal in English, from A/RES/70/1."),
    _f("count", pa.int64(), "Mentions in the corpus (0 when never mentioned)."),
    _f("documents", pa.int64(), "Documents that mention it."),
    _f("paragraphs", pa.int64(), "Paragraphs that mention it."),
])

STATS_OPERATIVE_VERBS = pa.schema([
    _f("doc_id", pa.string(), "Document id."),
    _f("symbol", pa.string(), "Symbol of the resolution."),
    _f("position", pa.int64(), "Order of the operative paragraph in its document, from 1."),
    _f("para_id", pa.string(), "Paragraph id."),
    _f("number", pa.string(), "Paragraph number as printed."),
    _f("operative_verb", pa.string(), "Operative verb as printed (又鼓励 …)."),
    _f("verb_base", pa.string(), "The verb without the adverb of repetition (又, 还, 并, 也, 再次, 进一步): 又鼓励 → 鼓励."),
])

STATS_OPERATIVE_VERB_COUNTS = pa.schema([
    _f("rank", pa.int64(), "Rank by count (ties broken by verb)."),
    _f("operative_verb", pa.string(), "Operative verb as printed."),
    _f("verb_base", pa.string(), "The verb without the adverb of repetition."),
    _f("count", pa.int64(), "Operative paragraphs opening with it."),
    _f("documents", pa.int64(), "Documents using it."),
    _f("share", pa.float64(), "Share of all operative paragraphs, rounded to 6 decimals."),
])

STATS_KEYWORDS = pa.schema([
    _f("doc_id", pa.string(), "Document id."),
    _f("rank", pa.int64(), "Rank within the document, from 1."),
    _f("keyword", pa.string(), "A word (a token, or a domain term of the user dictionary that the tokens split: "
       "可/持续/发展 counts as 可持续发展, never as 持续), or an entity: every mention of it, whatever its alias "
       "(各国议会联盟, 议联), counts for one keyword named as the gazetteer names it."),
    _f("entity_id", pa.string(), "The entity the keyword stands for, null for a word."),
    _f("weight", pa.float64(), "TF-IDF weight: term frequency in the document times jieba's IDF (its median for "
       "words it lacks), rounded to 6 decimals."),
    _f("frequency", pa.int64(), "Occurrences in the document."),
])

STATS_COOCCURRENCE = pa.schema([
    _f("entity_a", pa.string(), "Entity id (the smaller of the pair)."),
    _f("entity_b", pa.string(), "Entity id (the larger of the pair)."),
    _f("type_a", schemas.CATEGORY, "Type of entity_a."),
    _f("type_b", schemas.CATEGORY, "Type of entity_b."),
    _f("name_a", pa.string(), "Name of entity_a."),
    _f("name_b", pa.string(), "Name of entity_b."),
    _f("weight", pa.float64(), "Edge weight: over the sentences naming both, the sum of 1/(k-1), k the number of "
       "distinct entities the sentence names (DATE and PERCENT left out), rounded to 6 decimals. A sentence naming two "
       "adds 1; a list naming twenty adds 1/19 to each of its pairs."),
    _f("sentences", pa.int64(), "Sentences naming both."),
    _f("paragraphs", pa.int64(), "Paragraphs with a sentence naming both."),
    _f("documents", pa.int64(), "Documents with a sentence naming both."),
])

STATS_CITATIONS = pa.schema([
    _f("doc_id", pa.string(), "Citing document."),
    _f("symbol", pa.string(), "Symbol of the citing document."),
    _f("cited_symbol", pa.string(), "Symbol cited (normalised: no spaces, A/RES/ for General Assembly resolution numbers)."),
    _f("cited_doc_id", pa.string(), "The cited document's doc_id when it is part of the corpus, else null."),
    _f("resolved", pa.bool_(), "True when the cited document is part of the corpus."),
    _f("paragraphs", pa.int64(), "Paragraphs of the citing document that cite it."),
    _f("in_footnote", pa.bool_(), "True when at least one citation sits in a footnote."),
    _f("para_ids", pa.list_(pa.string()), "Citing paragraphs, sorted."),
    _f("sources", pa.list_(pa.string()), "'entity' (a DOC entity) and/or 'footnote' (a symbol read from a footnote's text)."),
])

STATS_SCHEMAS: dict[str, pa.Schema] = {
    "stats_documents": STATS_DOCUMENTS,
    "stats_entities": STATS_ENTITIES,
    "stats_entities_corpus": STATS_ENTITIES_CORPUS,
    "stats_countries": STATS_COUNTRIES,
    "stats_sdgs": STATS_SDGS,
    "stats_operative_verbs": STATS_OPERATIVE_VERBS,
    "stats_operative_verb_counts": STATS_OPERATIVE_VERB_COUNTS,
    "stats_keywords": STATS_KEYWORDS,
    "stats_cooccurrence": STATS_COOCCURRENCE,
    "stats_citations": STATS_CITATIONS,
}

STATS_DESCRIPTIONS: dict[str, str] = {
    "stats_documents": "One row per document: paragraphs by kind, sentences, tokens, characters, entities by type, sentence lengths.",
    "stats_entities": "Entity mentions per document.",
    "stats_entities_corpus": "Entity mentions in the whole corpus, ranked.",
    "stats_countries": "Country mentions (GPE entities with an ISO 3166-1 alpha-3 code).",
    "stats_sdgs": "Mentions of each of the 17 Sustainable Development Goals (all 17 rows, zero included).",
    "stats_operative_verbs": "Operative paragraphs of resolutions in order, with their operative verb.",
    "stats_operative_verb_counts": "Distribution of operative verbs.",
    "stats_keywords": "Keywords per document (TF-IDF over tokens with a stop-word list for UN prose; an entity's "
                      "aliases are one keyword, split domain terms are rejoined).",
    "stats_cooccurrence": "Pairs of entities named in the same sentence, weighted 1/(k-1) for a sentence naming k: "
                          "an edge list for network analysis.",
    "stats_citations": "Citation graph: document symbols each document cites, resolved to corpus documents where possible.",
}


# --- gazetteers ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def sdg_goals() -> pl.DataFrame:
    """The 17 goals with their Chinese and English titles."""
    with resources.as_file(GAZETTEERS / "sdg_goals.tsv") as path:
        return pl.read_csv(path, separator="\t", comment_prefix="#", quote_char=None,
                           schema_overrides={"goal": pl.Int64})


@functools.lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    text = (GAZETTEERS / "stopwords_un.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


@functools.lru_cache(maxsize=1)
def domain_terms() -> frozenset[str]:
    """The words of the user dictionary the tokens are segmented with (gazetteers/userdict.txt):
    the domain's terms, rejoined for the keywords where the segmenter split them."""
    text = (GAZETTEERS / "userdict.txt").read_text(encoding="utf-8")
    words = (line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return frozenset(word for word in words if len(word) >= 2)


@functools.lru_cache(maxsize=1)
def jieba_idf() -> tuple[pl.DataFrame, float]:
    """jieba's IDF table (the one jieba.analyse.extract_tags uses) and its median, for unseen words.
    Read from jieba's file directly: importing jieba.analyse would load it a second time, as a
    Python dict of 350,000 entries."""
    import jieba

    path = Path(jieba.__file__).parent / "analyse" / "idf.txt"
    idf = pl.read_csv(path, separator=" ", has_header=False, quote_char=None,
                      new_columns=["keyword", "idf"],
                      schema_overrides={"keyword": pl.String, "idf": pl.Float64})
    values = idf.get_column("idf").sort()
    # The same median jieba takes: the middle element of the sorted values.
    median = float(values[len(values) // 2])
    return idf.unique("keyword", keep="first", maintain_order=True), median


@functools.lru_cache(maxsize=1)
def iso_country_names() -> pl.DataFrame:
    import pycountry

    return pl.DataFrame(
        {"iso3": [c.alpha_3 for c in pycountry.countries],
         "iso_name_en": [c.name for c in pycountry.countries]},
        schema={"iso3": pl.String, "iso_name_en": pl.String},
    )


# --- inputs -------------------------------------------------------------------------------

# Tokens are the largest table by far: statistics read only these columns, a batch of whole
# documents at a time (every token statistic is per document), so the corpus's tokens are
# never in memory at once.
TOKEN_COLUMNS = ["doc_id", "sent_id", "seq", "text", "pos", "char_start", "char_end"]


def _frame(table: pa.Table) -> pl.DataFrame:
    # One chunk: tables concatenated from many documents arrive in as many chunks, and Polars
    # expressions over thousands of chunks are many times slower.
    return pl.from_arrow(table.combine_chunks()).with_columns(cs.categorical().cast(pl.String))


# The columns statistics read; the rest of these tables is never loaded for them.
STATS_COLUMNS = {
    "paragraphs": ["doc_id", "para_id", "seq", "kind", "number", "operative_verb", "text"],
    "sentences": ["doc_id", "para_id", "sent_id", "seq", "char_start", "char_end"],
    "entities": ["doc_id", "para_id", "sent_id", "entity_id", "type", "subtype", "text", "value", "char_start",
                 "char_end"],
}


def _slim(name: str, table: pa.Table) -> pa.Table:
    """Only what statistics read: documents carry `n_characters` instead of `clean_text`, and
    of paragraphs only footnotes keep their text (citations are read from them)."""
    if name == "documents":
        n_characters = pc.utf8_length(table.column("clean_text")).cast(pa.int64())
        return table.drop_columns(["clean_text"]).append_column("n_characters", n_characters)
    if name in STATS_COLUMNS:
        table = table.select(STATS_COLUMNS[name])
    if name == "paragraphs":
        footnote = pc.equal(table.column("kind").cast(pa.string()), "footnote")
        text = pc.if_else(footnote, table.column("text"), pa.scalar(None, table.schema.field("text").type))
        table = table.set_column(table.schema.get_field_index("text"), "text", text)
    return table


def _frames(tables: dict) -> dict[str, pl.DataFrame]:
    """The release tables but tokens as Polars frames, categories as strings, only the columns
    statistics read (see _slim). A table is in memory or streamed (anything with
    `batches(columns)`, as stages.DocumentTable): it is then read batch by batch."""
    frames = {}
    for name, schema in schemas.TABLES.items():
        if name == "tokens":
            continue
        table = tables.get(name)
        if table is None or isinstance(table, pa.Table):
            slim = _slim(name, storage.to_arrow(table if table is not None else schema.empty_table(), schema))
        else:
            columns = STATS_COLUMNS.get(name)
            slim = pa.concat_tables([_slim(name, batch) for batch in table.batches(columns)])
        frames[name] = _frame(slim)
    return frames


def token_batches(tokens) -> Iterator[pl.DataFrame]:
    """The token columns statistics read, as frames of whole documents. `tokens` is a table in
    memory, or anything with `batches(columns)` (stages.DocumentTable), or None."""
    schema = pa.schema([schemas.TOKENS.field(c) for c in TOKEN_COLUMNS])
    if tokens is None:
        yield _frame(schema.empty_table())
    elif isinstance(tokens, pa.Table):
        yield _frame(storage.to_arrow(tokens.select(TOKEN_COLUMNS), schema))
    else:
        for batch in tokens.batches(TOKEN_COLUMNS):
            yield _frame(batch)


def token_statistics(tokens, entities: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-document token counts (for stats_documents) and keywords, batch by batch; `entities`
    (any documents', as _frames gives them) name the keywords that are entities."""
    profiles, kws = [], []
    for frame in token_batches(tokens):
        profiles.append(token_profile(frame))
        mentions = None if entities is None else entities.join(frame.select("doc_id").unique(), on="doc_id", how="semi")
        kws.append(keywords(frame, mentions))
    return pl.concat(profiles).sort("doc_id"), pl.concat(kws).sort("doc_id", "rank")


def _finish(frame: pl.DataFrame, name: str) -> pa.Table:
    return storage.to_arrow(frame.to_arrow(), STATS_SCHEMAS[name])


# --- per-document partial aggregates ---------------------------------------------------------
#
# Every statistic is split in two: what one document gives on its own (its partial, computed
# once when the document changes) and how the partials of all documents combine. A partial
# never depends on another document, so the partials of a corpus are the concatenation of its
# documents' partials, and `combine` reads nothing else but the documents' metadata, the
# quarantine and the catalog: its cost follows the number of documents, never their tokens.
# Statistics.of runs the same two steps over the whole corpus, so there is one rule for each
# statistic, whichever way it is computed.

def _plain(field: pa.Field) -> pa.Field:
    """A statistics column as a partial holds it: categories as plain strings."""
    type_ = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    return pa.field(field.name, type_, metadata=field.metadata)


def _without(schema: pa.Schema, *names: str) -> pa.Schema:
    return pa.schema([_plain(f) for f in schema if f.name not in names])


PARTIAL_SCHEMAS: dict[str, pa.Schema] = {
    # stats_documents' counts of one document (its symbol and type come from `documents`).
    "documents": _without(STATS_DOCUMENTS, "symbol", "doc_type"),
    # Paragraphs by kind, for statistics.json.
    "paragraph_kinds": pa.schema([_f("doc_id", pa.string(), "Document id."),
                                  _f("kind", pa.string(), "Paragraph kind."),
                                  _f("count", pa.int64(), "Paragraphs of this kind in the document.")]),
    # stats_entities without the name (a corpus-wide choice).
    "entities": _without(STATS_ENTITIES, "name"),
    # Mentions by spelling: the catalog's partial, and the spoken names of the statistics.
    "entity_mentions": entity_catalog.PARTIAL_SCHEMA,
    # Keywords are a document's own.
    "keywords": _without(STATS_KEYWORDS),
    # Operative paragraphs in order (the symbol comes from `documents`).
    "operative_verbs": _without(STATS_OPERATIVE_VERBS, "symbol"),
    # Entity pairs of one document, before names are given.
    "cooccurrence": pa.schema([
        _f("doc_id", pa.string(), "Document id."),
        *[_plain(STATS_COOCCURRENCE.field(n)) for n in ("entity_a", "entity_b", "type_a", "type_b")],
        _f("weight_units", pa.int64(), "The weight in units of 1/COOCCURRENCE_WEIGHT_UNITS (exact integer sums)."),
        *[_plain(STATS_COOCCURRENCE.field(n)) for n in ("sentences", "paragraphs")],
    ]),
    # Symbols one document cites, before they are resolved against the corpus.
    "citations": pa.schema([
        _f("doc_id", pa.string(), "Citing document."),
        _f("key", pa.string(), "The cited symbol, normalised and upper-cased: what it is resolved by."),
        *[_plain(STATS_CITATIONS.field(n)) for n in ("cited_symbol", "paragraphs", "in_footnote", "para_ids", "sources")],
    ]),
}
# The order of a partial's rows (each is unique on these columns), so a partial's bytes depend
# only on its document.
PARTIAL_KEYS: dict[str, list[str]] = {
    "documents": ["doc_id"],
    "paragraph_kinds": ["doc_id", "kind"],
    "entities": ["doc_id", "entity_id", "type"],
    "entity_mentions": ["doc_id", "entity_id", "type", "text"],
    "keywords": ["doc_id", "rank"],
    "operative_verbs": ["doc_id", "position"],
    "cooccurrence": ["doc_id", "entity_a", "entity_b"],
    "citations": ["doc_id", "key"],
}
# What `combine` reads of the documents table (any other column is ignored: clean_text is
# not needed).
DOCUMENT_COLUMNS = ["doc_id", "symbol", "symbol_in_text", "doc_type", "title", "session", "date",
                    "resolution_number"]


def document_partials(tables: dict) -> dict[str, pa.Table]:
    """Everything the corpus statistics need from some documents (one, or any number: every
    partial is grouped by doc_id), keyed by partial name (PARTIAL_SCHEMAS). `tables` holds the
    documents' release tables with their final ids: documents (with clean_text), paragraphs,
    sentences, tokens and entities, in memory or streamed (see _frames)."""
    f = _frames(tables)
    token_profiles, token_keywords = token_statistics(tables.get("tokens"), f["entities"])
    partials = {
        "documents": document_profiles(f, token_profiles),
        "paragraph_kinds": f["paragraphs"].group_by("doc_id", "kind").agg(pl.len().alias("count")),
        "entities": entity_counts(f["entities"]),
        "entity_mentions": entity_catalog.catalog_partial(f["entities"].select(entity_catalog.CATALOG_COLUMNS)),
        "keywords": token_keywords,
        "operative_verbs": operative_verbs(f["paragraphs"]),
        "cooccurrence": cooccurrence_pairs(f["entities"], f["sentences"]),
        "citations": cited_symbols(f["entities"], f["paragraphs"]),
    }
    return {name: _partial(frame, name) for name, frame in partials.items()}


def _partial(frame: pl.DataFrame | pa.Table, name: str) -> pa.Table:
    table = frame if isinstance(frame, pa.Table) else frame.to_arrow()
    table = storage.to_arrow(table, PARTIAL_SCHEMAS[name])
    return table.sort_by([(key, "ascending") for key in PARTIAL_KEYS[name]])


def _partial_frames(partials: dict[str, pa.Table]) -> dict[str, pl.DataFrame]:
    frames = {}
    for name, schema in PARTIAL_SCHEMAS.items():
        table = partials.get(name)
        if table is None:
            table = schema.empty_table()
        elif not isinstance(table, pa.Table):
            raise TypeError(f"partial {name!r} is a {type(table).__name__}, not an Arrow table")
        missing = sorted(set(schema.names) - set(table.column_names))
        if missing:
            raise ValueError(f"partial {name!r} lacks the column(s) {', '.join(missing)}")
        frames[name] = _frame(storage.to_arrow(table.select(schema.names).combine_chunks(), schema))
    return frames


def _check_documents(profiles: pl.DataFrame, documents: pl.DataFrame) -> None:
    """The partials must be those of the documents, each once: a document's partials given
    twice would count it twice."""
    repeated = profiles.filter(pl.col("doc_id").is_duplicated()).get_column("doc_id").unique().sort()
    if len(repeated):
        raise ValueError(f"partials given more than once for {len(repeated)} document(s): "
                         f"{', '.join(repeated.head(5))}")
    have, want = set(profiles.get_column("doc_id")), set(documents.get_column("doc_id"))
    if have != want:
        extra, lacking = sorted(have - want), sorted(want - have)
        raise ValueError("partials and documents disagree: "
                         + "; ".join(part for part in (
                             extra and f"partials of documents not in the corpus: {', '.join(extra[:5])}",
                             lacking and f"documents without partials: {', '.join(lacking[:5])}") if part))


def _corpus_frames(documents: pa.Table | None, quarantine: pa.Table | None,
                   catalog: pa.Table | None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The documents' metadata (DOCUMENT_COLUMNS), the quarantine and the catalog as frames;
    a table not given is empty."""
    documents = documents if documents is not None else schemas.DOCUMENTS.empty_table()
    absent = [c for c in DOCUMENT_COLUMNS if c not in documents.column_names]
    if absent:
        raise ValueError(f"documents lack the column(s) {', '.join(absent)} the statistics read")
    frames = [_frame(storage.to_arrow(documents.select(DOCUMENT_COLUMNS).combine_chunks(),
                                      pa.schema([schemas.DOCUMENTS.field(c) for c in DOCUMENT_COLUMNS])))]
    for table, schema in ((quarantine, schemas.QUARANTINE), (catalog, schemas.ENTITY_CATALOG)):
        frames.append(_frame(storage.to_arrow(table if table is not None else schema.empty_table(), schema)))
    return frames[0], frames[1], frames[2]


def combine(partials: dict[str, pa.Table], documents: pa.Table, quarantine: pa.Table | None = None,
            catalog: pa.Table | None = None) -> Statistics:
    """The statistics tables and statistics.json's content from the partials of every document
    of the corpus, concatenated in any order (pa.concat_tables per partial), the documents'
    metadata (DOCUMENT_COLUMNS), the quarantine and the entity catalog."""
    p = _partial_frames(partials)
    docs, quarantine_frame, catalog_frame = _corpus_frames(documents, quarantine, catalog)
    _check_documents(p["documents"], docs)
    names = _names(p["entity_mentions"], catalog_frame)
    ordered = p["operative_verbs"].join(docs.select("doc_id", "symbol"), on="doc_id", how="left").sort("doc_id", "position")
    frames = {
        "stats_documents": (docs.select("doc_id", "symbol", "doc_type")
                            .join(p["documents"], on="doc_id", how="left")
                            .with_columns(cs.starts_with("n_").fill_null(0).cast(pl.Int64)).sort("doc_id")),
        "stats_entities": (p["entities"].join(names.select("entity_id", "name"), on="entity_id", how="left")
                           .sort(["doc_id", "count", "entity_id", "type"], descending=[False, True, False, False])),
        "stats_entities_corpus": entities_in_corpus(p["entities"], names),
        "stats_countries": country_mentions(p["entities"], p["entity_mentions"], catalog_frame),
        "stats_sdgs": sdg_mentions(p["entities"]),
        "stats_operative_verbs": ordered,
        "stats_operative_verb_counts": operative_verb_counts(ordered),
        "stats_keywords": p["keywords"].sort("doc_id", "rank"),
        "stats_cooccurrence": cooccurrence(p["cooccurrence"], names),
        "stats_citations": citations(p["citations"], docs),
    }
    tables = {name: _finish(frames[name], name) for name in STATS_SCHEMAS}
    return Statistics(tables, _summary(p, docs, quarantine_frame, catalog_frame, tables))


# --- statistics ---------------------------------------------------------------------------

def statistics_and_summary(tables: dict) -> tuple[dict[str, pa.Table], dict]:
    """The statistics tables and statistics.json's content of a whole corpus: the partials of
    all its documents at once (tokens read a batch of documents at a time), then combined."""
    documents = tables.get("documents")
    statistics = combine(document_partials(tables), documents if documents is not None else schemas.DOCUMENTS.empty_table(),
                         tables.get("quarantine"), tables.get("entity_catalog"))
    return statistics.tables, statistics.summary


def compute_statistics(tables: dict) -> dict[str, pa.Table]:
    """All statistics tables, keyed by file stem."""
    return statistics_and_summary(tables)[0]


def token_profile(tokens: pl.DataFrame) -> pl.DataFrame:
    """Tokens per document and per sentence (mean, longest)."""
    per_sentence = tokens.group_by("doc_id", "sent_id").len()
    return per_sentence.group_by("doc_id").agg(
        pl.col("len").sum().alias("n_tokens"),
        pl.col("len").mean().round(3).alias("mean_sentence_tokens"),
        pl.col("len").max().alias("max_sentence_tokens"),
    )


def document_profiles(f: dict[str, pl.DataFrame], tokens: pl.DataFrame) -> pl.DataFrame:
    """stats_documents' counts, one row per document."""
    docs = f["documents"].select("doc_id", "n_characters")
    paragraphs = f["paragraphs"].group_by("doc_id").agg(
        pl.len().alias("n_paragraphs"),
        *[(pl.col("kind") == kind).sum().alias(f"n_para_{kind}") for kind in schemas.PARAGRAPH_KINDS],
    )
    sentence_chars = (pl.col("char_end") - pl.col("char_start"))
    sentences = f["sentences"].group_by("doc_id").agg(
        pl.len().alias("n_sentences"),
        sentence_chars.mean().round(3).alias("mean_sentence_chars"),
        sentence_chars.max().alias("max_sentence_chars"),
    )
    entities = f["entities"].group_by("doc_id").agg(
        pl.len().alias("n_entities"),
        pl.col("entity_id").n_unique().alias("n_distinct_entities"),
        *[(pl.col("type") == t).sum().alias(f"n_ent_{_lower(t)}") for t in schemas.ENTITY_TYPES],
        *[(pl.col("subtype") == t).sum().alias(f"n_ent_{_lower(t)}") for t in schemas.ENTITY_SUBTYPES],
    )
    profile = docs
    for part in (paragraphs, sentences, tokens, entities):
        profile = profile.join(part, on="doc_id", how="left")
    counts = [c for c in profile.columns if c.startswith("n_")]
    return profile.with_columns(pl.col(counts).fill_null(0).cast(pl.Int64)).sort("doc_id")


def entity_counts(entities: pl.DataFrame) -> pl.DataFrame:
    """Mentions of each entity in each document: how many, in how many paragraphs, where first."""
    return entities.group_by("doc_id", "entity_id", "type").agg(
        pl.len().alias("count"),
        pl.col("para_id").n_unique().alias("paragraphs"),
        pl.col("char_start").min().alias("first_char"),
    )


def _ranked(frame: pl.DataFrame, by: str, tie: str | list[str]) -> pl.DataFrame:
    ties = [tie] if isinstance(tie, str) else list(tie)
    frame = frame.sort([by, *ties], descending=[True] + [False] * len(ties), maintain_order=True)
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))


# A paragraph belongs to one document, so the paragraphs of a corpus that mention an entity
# are the sum of each document's; a partial has one row per document and key (PARTIAL_KEYS),
# so the documents are its rows.
_CORPUS_COUNTS = (pl.col("count").sum(), pl.len().alias("documents"), pl.col("paragraphs").sum())


def _spoken(mentions: pl.DataFrame) -> pl.DataFrame:
    """entity_id → its most frequent spelling (ties: the smaller text)."""
    return (
        mentions.group_by("entity_id", "text").agg(pl.col("count").sum().alias("n"))
        .sort(["entity_id", "n", "text"], descending=[False, True, False])
        .unique("entity_id", keep="first", maintain_order=True)
        .select("entity_id", pl.col("text").alias("spoken"))
    )


def _names(mentions: pl.DataFrame, catalog_frame: pl.DataFrame) -> pl.DataFrame:
    """entity_id → name (catalog's name_zh, else the most frequent mention), name_en."""
    known = catalog_frame.select("entity_id", "name_zh", "name_en").unique("entity_id", keep="first")
    return (
        _spoken(mentions).join(known, on="entity_id", how="full", coalesce=True)
        .select("entity_id", pl.coalesce("name_zh", "spoken").alias("name"), "name_en")
    )


def entities_in_corpus(entities: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    counts = entities.group_by("entity_id", "type").agg(*_CORPUS_COUNTS).join(names, on="entity_id", how="left")
    return _ranked(counts, "count", ["entity_id", "type"])


def country_mentions(entities: pl.DataFrame, mentions: pl.DataFrame, catalog_frame: pl.DataFrame) -> pl.DataFrame:
    country = (pl.col("type") == "GPE") & pl.col("entity_id").str.contains(r"^gpe:[A-Z]{3}$")
    counts = (entities.filter(country).with_columns(pl.col("entity_id").str.slice(4).alias("iso3"))
              .group_by("iso3", "entity_id").agg(*_CORPUS_COUNTS))
    known = catalog_frame.select("entity_id", "name_zh", pl.col("name_en").alias("catalog_name_en"),
                                 pl.col("aliases")).unique("entity_id", keep="first")
    table = (
        counts.join(known, on="entity_id", how="left")
        .join(_spoken(mentions.filter(country)), on="entity_id", how="left")
        .join(iso_country_names(), on="iso3", how="left")
        .with_columns(
            pl.coalesce("name_zh", "spoken").alias("name_zh"),
            pl.coalesce("catalog_name_en", "iso_name_en").alias("name_en"),
        )
    )
    return _ranked(table, "count", "iso3")


def sdg_mentions(entities: pl.DataFrame) -> pl.DataFrame:
    counts = entities.filter(pl.col("type") == "SDG").group_by("entity_id").agg(*_CORPUS_COUNTS)
    return (
        sdg_goals().join(counts, on="entity_id", how="left")
        .with_columns(pl.col("count", "documents", "paragraphs").fill_null(0).cast(pl.Int64))
        .sort("goal")
    )


def operative_verbs(paragraphs: pl.DataFrame, documents: pl.DataFrame | None = None) -> pl.DataFrame:
    """Operative paragraphs in order, with the verb without its adverb of repetition; with the
    symbol of their document when `documents` is given."""
    verb = pl.col("operative_verb")
    ordered = (
        paragraphs.filter(verb.is_not_null() & (verb != ""))
        .sort("doc_id", "seq")
        .with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("doc_id").alias("position"),
            pl.when(verb.str.contains(VERB_PREFIX + ".+$"))
            .then(verb.str.replace(VERB_PREFIX, ""))
            .otherwise(verb).alias("verb_base"),
        )
    )
    if documents is not None:
        ordered = ordered.join(documents.select("doc_id", "symbol"), on="doc_id", how="left")
    return ordered.sort("doc_id", "position")


def operative_verb_counts(ordered: pl.DataFrame) -> pl.DataFrame:
    total = max(ordered.height, 1)
    counts = ordered.group_by("operative_verb", "verb_base").agg(
        pl.len().alias("count"),
        pl.col("doc_id").n_unique().alias("documents"),
    ).with_columns((pl.col("count") / total).round(6).alias("share"))
    return _ranked(counts, "count", "operative_verb")


def _mention_keywords(mentions: pl.DataFrame) -> pl.DataFrame:
    """One keyword occurrence per mention of an entity, named as the gazetteer names the entity,
    else by its most frequent spelling in the document (ties: the smaller text)."""
    spelled = (mentions.group_by("doc_id", "entity_id", "text").len()
               .sort(["doc_id", "entity_id", "len", "text"], descending=[False, False, True, False])
               .unique(["doc_id", "entity_id"], keep="first", maintain_order=True)
               .select("doc_id", "entity_id", pl.col("text").alias("spelled")))
    return (
        mentions.select("doc_id", "entity_id")
        .join(spelled, on=["doc_id", "entity_id"], how="left")
        .join(entity_catalog.gazetteer_names(), on="entity_id", how="left")
        .select("doc_id", pl.coalesce("name_zh", "spelled").alias("keyword"), "entity_id")
    )


def _uncovered(tokens: pl.DataFrame, mentions: pl.DataFrame) -> pl.DataFrame:
    """The tokens no mention overlaps (a token [s, e) and a mention [ms, me) overlap when
    ms < e and s < me). Found with two sorted as-of joins, never point by point: the mentions
    starting at or before a token's start (the furthest end among them, a running maximum) and
    the first mention starting after it."""
    if mentions.height == 0 or tokens.height == 0:
        return tokens
    spans = (mentions.select("doc_id", pl.col("char_start").cast(pl.Int64), pl.col("char_end").cast(pl.Int64))
             .sort("doc_id", "char_start")
             .with_columns(pl.col("char_end").cum_max().over("doc_id").alias("reach")))
    before = spans.group_by("doc_id", "char_start").agg(pl.col("reach").max()).sort("char_start")
    after = spans.select("doc_id", pl.col("char_start").alias("next_start")).unique().sort("next_start")
    probe = tokens.with_row_index("_row").with_columns(pl.col("char_start").cast(pl.Int64).alias("_start"))
    probe = probe.sort("_start")
    covered_before = probe.join_asof(before.rename({"char_start": "_start"}), on="_start", by="doc_id",
                                     strategy="backward", check_sortedness=False)
    covered = covered_before.join_asof(after.rename({"next_start": "_start_next"}).with_columns(
        pl.col("_start_next").alias("_next")), left_on="_start", right_on="_start_next", by="doc_id",
        strategy="forward", check_sortedness=False)
    overlapped = (pl.col("reach").fill_null(-1) > pl.col("char_start")) | (
        pl.col("_next").is_not_null() & (pl.col("_next") < pl.col("char_end")))
    kept = covered.filter(~overlapped).sort("_row")
    return kept.select(tokens.columns)


def _rejoined(tokens: pl.DataFrame) -> pl.DataFrame:
    """Tokens with the domain terms the segmenter split rejoined: where a run of 2 to
    KEYWORD_TERM_TOKENS adjacent tokens of one sentence spells a word of the user dictionary,
    the longest run from its first token is one occurrence of that word (`joined`), and its
    other tokens are dropped."""
    tokens = tokens.sort("doc_id", "sent_id", "char_start")
    terms = pl.Series(sorted(domain_terms()), dtype=pl.String)
    runs, spelled, adjacent = [], pl.col("keyword"), pl.lit(True)
    for step in range(1, KEYWORD_TERM_TOKENS):
        # The token `step` rows on, when it is in the same sentence (rows are in sentence order).
        in_sentence = ((pl.col("doc_id").shift(-step) == pl.col("doc_id"))
                       & (pl.col("sent_id").shift(-step) == pl.col("sent_id"))).fill_null(False)
        adjacent = adjacent & in_sentence & (pl.col("char_start").shift(-step) == pl.col("char_end").shift(-step + 1))
        spelled = spelled + pl.col("keyword").shift(-step)
        runs.append((step + 1, (adjacent & spelled.is_in(terms.implode())).fill_null(False), spelled))
    length, term = pl.lit(1), pl.col("keyword")
    for n, found, text in runs:  # longest last, so it wins
        length = pl.when(found).then(n).otherwise(length)
        term = pl.when(found).then(text).otherwise(term)
    tokens = tokens.with_columns(length.alias("run"), term.alias("term"))
    inside = pl.lit(False)
    for back in range(1, KEYWORD_TERM_TOKENS):
        same_sentence = ((pl.col("doc_id").shift(back) == pl.col("doc_id"))
                         & (pl.col("sent_id").shift(back) == pl.col("sent_id"))).fill_null(False)
        inside = inside | (same_sentence & (pl.col("run").shift(back) > back)).fill_null(False)
    return (tokens.filter(~inside)
            .with_columns((pl.col("run") > 1).alias("joined"), pl.col("term").alias("keyword"))
            .drop("run", "term"))


def keywords(tokens: pl.DataFrame, entities: pl.DataFrame | None = None,
             top_k: int = KEYWORDS_PER_DOCUMENT) -> pl.DataFrame:
    """TF-IDF keywords per document, the way jieba.analyse.extract_tags weighs them (term
    frequency × jieba's IDF, median IDF for unseen words), computed over the release's own
    tokens so keywords and tokens agree. The tokens of an entity mention give way to the entity
    (all its aliases one keyword); a domain term the segmenter split is rejoined (_rejoined)."""
    idf, median = jieba_idf()
    stop = list(stopwords())
    words = tokens.select("doc_id", "sent_id", "seq", pl.col("text").str.strip_chars().alias("keyword"),
                          "pos", "char_start", "char_end")
    mentions = (entities if entities is not None else _frame(pa.schema(
        [schemas.ENTITIES.field(c) for c in STATS_COLUMNS["entities"]]).empty_table()))
    mentions = mentions.filter(~pl.col("type").is_in(KEYWORD_WORD_TYPES))
    words = _rejoined(_uncovered(words, mentions))
    candidates = pl.concat([
        words.filter(pl.col("joined") | ~pl.col("pos").fill_null("x").str.slice(0, 1).is_in(KEYWORD_EXCLUDED_POS))
        .select("doc_id", "keyword", pl.lit(None, pl.String).alias("entity_id")),
        _mention_keywords(mentions),
    ]).filter(
        (pl.col("keyword").str.len_chars() >= 2)
        & pl.col("keyword").str.contains(r"[\p{Han}A-Za-z]")
        & ~pl.col("keyword").is_in(stop)
    )
    counts = candidates.group_by("doc_id", "keyword").agg(
        pl.len().cast(pl.Int64).alias("frequency"), pl.col("entity_id").drop_nulls().min())
    weighted = (
        counts.with_columns((pl.col("frequency") / pl.col("frequency").sum().over("doc_id")).alias("tf"))
        .join(idf, on="keyword", how="left")
        .with_columns((pl.col("tf") * pl.col("idf").fill_null(median)).round(6).alias("weight"))
        .sort(["doc_id", "weight", "keyword"], descending=[False, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("doc_id").alias("rank"))
    )
    return weighted.filter(pl.col("rank") <= top_k).sort("doc_id", "rank")


def cooccurrence_pairs(entities: pl.DataFrame, sentences: pl.DataFrame) -> pl.DataFrame:
    """Pairs of entities named in one sentence, per document: their weight (in units, see
    COOCCURRENCE_WEIGHT_UNITS), sentences and paragraphs. A mention that spans two sentences
    (sent_id null) counts in the sentence it starts in."""
    present = entities.filter(~pl.col("type").is_in(COOCCURRENCE_EXCLUDED_TYPES))
    spanning = present.filter(pl.col("sent_id").is_null())
    if spanning.height:
        starts = (spanning.drop("sent_id").join(
            sentences.select("doc_id", "sent_id", pl.col("char_start").alias("s_start"), pl.col("char_end").alias("s_end")),
            on="doc_id")
            .filter((pl.col("s_start") <= pl.col("char_start")) & (pl.col("char_start") < pl.col("s_end")))
            .select(present.columns))
        present = pl.concat([present.filter(pl.col("sent_id").is_not_null()), starts])
    present = present.group_by("doc_id", "para_id", "sent_id", "entity_id").agg(pl.col("type").min())
    # The pairs are joined on integer codes: a sentence naming many entities makes many pairs.
    ids = present.select("entity_id").unique().sort("entity_id").with_row_index("e")
    units = (present.group_by("doc_id", "para_id", "sent_id").agg(pl.len().alias("k"))
             .filter(pl.col("k") >= 2).with_row_index("u")
             .with_columns((COOCCURRENCE_WEIGHT_UNITS / (pl.col("k") - 1)).round().cast(pl.Int64).alias("w")))
    coded = (present.join(ids, on="entity_id").join(units, on=["doc_id", "para_id", "sent_id"])
             .select("u", "doc_id", "para_id", "w", "e", "type"))
    pairs = (
        coded.join(coded.select("u", pl.col("e").alias("e_b"), pl.col("type").alias("type_b")), on="u")
        .filter(pl.col("e") < pl.col("e_b"))
        .group_by("doc_id", "e", "e_b").agg(
            pl.col("type").min().alias("type_a"),
            pl.col("type_b").min(),
            pl.col("w").sum().alias("weight_units"),
            pl.len().alias("sentences"),
            pl.col("para_id").n_unique().alias("paragraphs"),
        )
    )
    a = ids.select("e", pl.col("entity_id").alias("entity_a"))
    b = ids.select(pl.col("e").alias("e_b"), pl.col("entity_id").alias("entity_b"))
    return pairs.join(a, on="e").join(b, on="e_b").drop("e", "e_b")


def cooccurrence(pairs: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """The corpus's edge list from every document's pairs."""
    edges = pairs.group_by("entity_a", "entity_b").agg(
        pl.col("type_a").min(), pl.col("type_b").min(), pl.col("weight_units").sum(),
        pl.col("sentences").sum(), pl.col("paragraphs").sum(), pl.len().alias("documents"),
    ).with_columns((pl.col("weight_units") / COOCCURRENCE_WEIGHT_UNITS).round(6).alias("weight"))
    label = names.select("entity_id", "name")
    return (
        edges.join(label.rename({"entity_id": "entity_a", "name": "name_a"}), on="entity_a", how="left")
        .join(label.rename({"entity_id": "entity_b", "name": "name_b"}), on="entity_b", how="left")
        .select("entity_a", "entity_b", "type_a", "type_b", "name_a", "name_b", "weight", "sentences",
                "paragraphs", "documents")
        .sort(["weight", "entity_a", "entity_b"], descending=[True, False, False])
    )


def _normalise_symbol(expr: pl.Expr) -> pl.Expr:
    symbol = expr.str.replace_all(r"\s+", "").str.strip_chars_end(".,;:。，；：")
    # S/RES/1325(2000) keeps its parenthesis; a stray one closing the sentence goes.
    symbol = (pl.when(symbol.str.contains(r"[)）]$") & ~symbol.str.contains(r"[(（]"))
              .then(symbol.str.strip_chars_end(")）")).otherwise(symbol))
    # A bare resolution number (72/278) is a General Assembly resolution.
    return (pl.when(symbol.str.contains(rf"^{un_symbols.GA_RESOLUTION_NUMBER}$"))
            .then(un_symbols.GA_RESOLUTION_PREFIX + symbol).otherwise(symbol))


def cited_symbols(entities: pl.DataFrame, paragraphs: pl.DataFrame) -> pl.DataFrame:
    """The symbols each document cites (DOC entities but publications, and symbols read from its footnotes),
    one row per document and symbol, before they are resolved against the corpus."""
    from_entities = entities.filter((pl.col("type") == "DOC") & pl.col("subtype").is_null()).select(
        "doc_id", "para_id",
        pl.coalesce("value", pl.col("entity_id").str.replace(r"^doc:", "")).alias("cited"),
        pl.lit("entity").alias("source"),
    )
    footnotes = paragraphs.filter(pl.col("kind") == "footnote")
    from_footnote_symbols = footnotes.select(
        "doc_id", "para_id", pl.col("text").str.extract_all(SYMBOL_PATTERN).alias("cited"),
    ).explode("cited").filter(pl.col("cited").str.contains(r"\d"))
    from_footnote_resolutions = footnotes.select(
        "doc_id", "para_id",
        pl.col("text").str.extract_all(GA_RESOLUTION_PATTERN).alias("cited"),
    ).explode("cited").with_columns(
        (un_symbols.GA_RESOLUTION_PREFIX
         + pl.col("cited").str.extract(f"({un_symbols.GA_RESOLUTION_NUMBER})")).alias("cited")
    )
    from_footnotes = pl.concat([from_footnote_symbols, from_footnote_resolutions]).with_columns(
        pl.lit("footnote").alias("source"))
    mentions = (
        pl.concat([from_entities, from_footnotes.select(from_entities.columns)])
        .filter(pl.col("cited").is_not_null())
        .with_columns(_normalise_symbol(pl.col("cited")).alias("cited_symbol"))
        .filter(pl.col("cited_symbol") != "")
        # Symbols match whatever their case (Add.1, ADD.1); the spelling shown is the tagger's.
        .with_columns(pl.col("cited_symbol").str.to_uppercase().alias("key"))
        .join(footnotes.select("doc_id", "para_id", pl.lit(True).alias("footnote")),
              on=["doc_id", "para_id"], how="left")
    )
    return mentions.sort("source", "cited_symbol").group_by("doc_id", "key").agg(
        pl.col("cited_symbol").first(),
        pl.col("para_id").n_unique().alias("paragraphs"),
        pl.col("footnote").fill_null(False).any().alias("in_footnote"),
        pl.col("para_id").unique().sort().alias("para_ids"),
        pl.col("source").unique().sort().alias("sources"),
    )


def citations(cited: pl.DataFrame, documents: pl.DataFrame) -> pl.DataFrame:
    """The citation graph: every document's cited symbols resolved against the corpus."""
    # A document is known by its symbol, by the symbol its text gives, and,
    # for a resolution, by A/RES/ + its number.
    known = pl.concat([
        documents.select("doc_id", pl.col("symbol").alias("key")),
        documents.select("doc_id", pl.col("symbol_in_text").alias("key")),
        documents.select("doc_id", (un_symbols.GA_RESOLUTION_PREFIX + pl.col("resolution_number")).alias("key")),
    ], rechunk=True).filter(pl.col("key").is_not_null()).with_columns(
        _normalise_symbol(pl.col("key")).str.to_uppercase().alias("key"))
    known = known.group_by("key").agg(pl.col("doc_id").min().alias("cited_doc_id"))
    graph = (
        cited.join(known, on="key", how="left")
        # A document naming its own symbol is not citing anything.
        .filter(pl.col("cited_doc_id").is_null() | (pl.col("cited_doc_id") != pl.col("doc_id")))
        .with_columns(pl.col("cited_doc_id").is_not_null().alias("resolved"))
        .join(documents.select("doc_id", "symbol"), on="doc_id", how="left")
    )
    return graph.sort("doc_id", "cited_symbol")


# --- summary ------------------------------------------------------------------------------

def _summed(frame: pl.DataFrame, column: str, count: str = "count") -> dict[str, int]:
    """Counts by `column`, summed over documents, for every value counted at least once."""
    if frame.height == 0:
        return {}
    sums = frame.group_by(column).agg(pl.col(count).sum()).filter(pl.col(count) > 0).sort(column, nulls_last=True)
    return {str(k): int(v) for k, v in sums.iter_rows()}


def summarise(tables: dict, stats: dict[str, pa.Table]) -> dict:
    """The content of statistics.json for these tables and their statistics."""
    frames = _corpus_frames(tables.get("documents"), tables.get("quarantine"), tables.get("entity_catalog"))
    return _summary(_partial_frames(document_partials(tables)), *frames, stats)


def _summary(p: dict[str, pl.DataFrame], documents: pl.DataFrame, quarantine: pl.DataFrame,
             catalog_frame: pl.DataFrame, stats: dict[str, pa.Table]) -> dict:
    """The content of statistics.json: counts and the head of each statistic."""
    # Only the statistics the summary reads are converted (not stats_entities, the largest).
    s = {name: _frame(stats[name]) for name in (
        "stats_entities_corpus", "stats_countries", "stats_sdgs", "stats_operative_verb_counts",
        "stats_citations", "stats_keywords", "stats_documents") if name in stats}
    profiles_partial = p["documents"]
    dates = documents.get_column("date").drop_nulls().sort()
    sessions = documents.get_column("session").drop_nulls().unique().sort()
    entities_corpus = s.get("stats_entities_corpus", pl.DataFrame())
    countries = s.get("stats_countries", pl.DataFrame())
    sdgs = s.get("stats_sdgs", pl.DataFrame())
    verb_counts = s.get("stats_operative_verb_counts", pl.DataFrame())
    cites = s.get("stats_citations", pl.DataFrame())
    keywords_table = s.get("stats_keywords", pl.DataFrame())
    profiles = s.get("stats_documents", pl.DataFrame())

    def head(frame: pl.DataFrame, columns: list[str], n: int = TOP_N_SUMMARY) -> list[dict]:
        if frame.height == 0:
            return []
        return frame.select(columns).head(n).to_dicts()

    def total(frame: pl.DataFrame, column: str) -> int:
        return int(frame.get_column(column).sum() or 0) if frame.height else 0

    per_document = []
    if profiles.height:
        top_words = (keywords_table.filter(pl.col("rank") <= 5).group_by("doc_id")
                     .agg(pl.col("keyword").sort_by("rank")) if keywords_table.height
                     else pl.DataFrame({"doc_id": [], "keyword": []},
                                       schema={"doc_id": pl.String, "keyword": pl.List(pl.String)}))
        per_document = (
            profiles.select("doc_id", "symbol", "doc_type", "n_characters", "n_paragraphs",
                            "n_sentences", "n_tokens", "n_entities")
            .join(documents.select("doc_id", "title", "date"), on="doc_id", how="left")
            .join(top_words.rename({"keyword": "top_keywords"}), on="doc_id", how="left")
            .sort("doc_id").to_dicts()
        )
    entities = p["entities"]
    sdg_total = total(entities.filter(pl.col("type") == "SDG"), "count")
    sdg_goal_total = total(sdgs, "count")
    return {
        "corpus": {
            "documents": documents.height,
            "paragraphs": total(profiles_partial, "n_paragraphs"),
            "sentences": total(profiles_partial, "n_sentences"),
            "tokens": total(profiles_partial, "n_tokens"),
            "characters": total(profiles_partial, "n_characters"),
            "entity_mentions": total(profiles_partial, "n_entities"),
            "distinct_entities": entities.get_column("entity_id").n_unique(),
            "catalogued_entities": catalog_frame.height,
            "quarantined_files": quarantine.height,
        },
        "documents_by_type": _summed(documents.with_columns(pl.lit(1).alias("count")), "doc_type"),
        "paragraphs_by_kind": _summed(p["paragraph_kinds"], "kind"),
        "entities_by_type": _summed(entities, "type"),
        "date_range": {"earliest": dates[0] if len(dates) else None,
                       "latest": dates[-1] if len(dates) else None},
        "sessions": [int(v) for v in sessions],
        "top_entities": head(entities_corpus, ["entity_id", "type", "name", "count", "documents"]),
        "countries": {
            "distinct": countries.height,
            "top": head(countries, ["iso3", "name_zh", "name_en", "count", "documents"]),
        },
        "sdgs": {
            "goals_mentioned": [int(g) for g in sdgs.filter(pl.col("count") > 0).get_column("goal")]
            if sdgs.height else [],
            "mentions_of_goals": sdg_goal_total,
            "mentions_without_goal_number": sdg_total - sdg_goal_total,
            "by_goal": head(sdgs, ["goal", "short_zh", "short_en", "count", "documents"], 17),
        },
        "operative_verbs": {
            "operative_paragraphs": total(verb_counts, "count"),
            "distinct": verb_counts.height,
            "top": head(verb_counts, ["operative_verb", "verb_base", "count", "documents"]),
        },
        "citations": {
            "edges": cites.height,
            "resolved_in_corpus": total(cites, "resolved"),
            "distinct_symbols_cited": cites.get_column("cited_symbol").n_unique() if cites.height else 0,
        },
        "cooccurrence_pairs": stats["stats_cooccurrence"].num_rows if "stats_cooccurrence" in stats else 0,
        "documents": per_document,
        "quarantine": quarantine.select("source_file", "reason", "detail").sort("source_file").to_dicts(),
    }


@dataclass
class Statistics:
    """The statistics tables and statistics.json's content, as the release receives them."""

    tables: dict[str, pa.Table]
    summary: dict

    @classmethod
    def of(cls, tables: dict) -> Statistics:
        return cls(*statistics_and_summary(tables))

    def save(self, folder: Path) -> None:
        from pipeline.lib.storage import atomic_write_text, dumps_json, write_parquet

        folder.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables.items():
            write_parquet(folder / f"{name}.parquet", table)
        atomic_write_text(folder / "statistics.json", dumps_json(self.summary))

    @classmethod
    def load(cls, folder: Path) -> Statistics:
        import json

        from pipeline.lib.storage import read_parquet

        tables = {name: read_parquet(folder / f"{name}.parquet") for name in STATS_SCHEMAS
                  if (folder / f"{name}.parquet").exists()}
        return cls(tables, json.loads((folder / "statistics.json").read_text("utf-8")))
