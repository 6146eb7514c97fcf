"""The entity catalog from per-document partial aggregates.

`catalog_partial` reduces one document's mentions (or several documents' at once) to one row
per (doc_id, entity_id, type, text): how often that spelling was seen and where it first
appears. `catalog_from_partials` combines the partials of every document into the catalog, so
a new document costs its own partial and a combine over the partials, never a pass over every
mention of the corpus; `build_catalog` is the same from a table of mentions.

The rules: the name is the gazetteer's, else the most frequent spelling
(ties: the smaller text); the type is the most frequent one, a tie going to the type mentioned
first in corpus order (doc_id, then the mention's row in its document); aliases are every
known and seen spelling but the name.
"""
from __future__ import annotations

import functools

import polars as pl
import pyarrow as pa

from pipeline.lib.entities.tagger import CATALOG_COLUMNS, load_gazetteer

PARTIAL_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("entity_id", pa.string(), nullable=False),
    pa.field("type", pa.string(), nullable=False),
    pa.field("subtype", pa.string()),
    pa.field("text", pa.string(), nullable=False),
    pa.field("count", pa.int64(), nullable=False),   # mentions with this spelling and type
    pa.field("first", pa.int64(), nullable=False),   # row of the first such mention in its document, from 0
])

CATALOG_SCHEMA = {"entity_id": pl.String, "type": pl.String, "subtype": pl.String, "name_zh": pl.String,
                  "name_en": pl.String, "aliases": pl.List(pl.String),
                  "iso3": pl.String, "n_mentions": pl.Int64, "n_documents": pl.Int64}


def _polars(table: pa.Table | pl.DataFrame) -> pl.DataFrame:
    # Partials arrive as one chunk per document: one contiguous chunk is far faster to convert.
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table.combine_chunks())
    return frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))


def catalog_partial(entities: pa.Table | pl.DataFrame) -> pa.Table:
    """What the catalog needs of some documents' mentions, given in release order (each
    document's rows in their order): one row per (doc_id, entity_id, type, subtype, text)."""
    rows = _polars(entities)
    if "subtype" not in rows.columns:  # optional: mentions with no finer class than their type
        rows = rows.with_columns(pl.lit(None, pl.String).alias("subtype"))
    missing = [c for c in CATALOG_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"entities lack the column(s) {', '.join(missing)} the catalog reads")
    if rows.height == 0:
        return PARTIAL_SCHEMA.empty_table()
    partial = (
        rows.select(CATALOG_COLUMNS)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("doc_id").alias("first"))
        .group_by("doc_id", "entity_id", "type", "subtype", "text")
        .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("first").min())
        .sort("doc_id", "entity_id", "type", "subtype", "text", nulls_last=True)
    )
    return partial.to_arrow().select(PARTIAL_SCHEMA.names).cast(PARTIAL_SCHEMA)


def build_catalog(entities: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """The catalog of these mentions (all of a corpus's, in release order)."""
    return catalog_from_partials(catalog_partial(entities))


def catalog_from_partials(partials: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """The catalog (as build_catalog gives it) from the concatenated partials of every
    document of the corpus, in any order."""
    rows = _polars(partials)
    if rows.height == 0:
        return pl.DataFrame(schema=CATALOG_SCHEMA)
    by_text = rows.group_by("entity_id", "text").agg(pl.col("count").sum().alias("n"))
    spoken = (by_text.sort(["entity_id", "n", "text"], descending=[False, True, False])
              .group_by("entity_id", maintain_order=True).agg(pl.col("text").first().alias("spoken"),
                                                               pl.col("text").alias("seen")))
    # The most frequent type (and its subtype); a tie goes to the one mentioned first (doc_id order,
    # then row).
    first_doc = pl.col("doc_id").min()
    types = (rows.group_by("entity_id", "type", "subtype")
             .agg(pl.col("count").sum().alias("n"), first_doc.alias("first_doc"),
                  pl.col("first").filter(pl.col("doc_id") == first_doc).min())
             .sort(["entity_id", "n", "first_doc", "first"], descending=[False, True, False, False])
             .group_by("entity_id", maintain_order=True).agg(pl.col("type").first(), pl.col("subtype").first()))
    counts = rows.group_by("entity_id").agg(pl.col("count").sum().cast(pl.Int64).alias("n_mentions"),
                                            pl.col("doc_id").n_unique().cast(pl.Int64).alias("n_documents"))
    return _named(spoken.join(types, on="entity_id").join(counts, on="entity_id").sort("entity_id"))


def _named(entities: pl.DataFrame) -> pl.DataFrame:
    """One catalog row per entity: names from the gazetteer where it knows the entity."""
    gaz = load_gazetteer()
    records = []
    for entity_id, spoken_name, seen, type_, subtype, n_mentions, n_documents in entities.select(
            "entity_id", "spoken", "seen", "type", "subtype", "n_mentions", "n_documents").iter_rows():
        entry = gaz.entries.get(entity_id)
        if entry is not None:
            name_zh, name_en = entry.name_zh, entry.name_en
            known = list(entry.aliases)
        else:
            name_zh, name_en, known = spoken_name, None, []
            if entity_id.startswith("doc:"):
                name_zh = entity_id[4:]
            elif entity_id in gaz.sdg:
                short_zh, short_en = gaz.sdg[entity_id]
                name_zh, name_en = f"目标 {entity_id[4:]}：{short_zh}", f"Goal {entity_id[4:]}: {short_en}"
        records.append({
            "entity_id": entity_id, "type": type_, "subtype": subtype, "name_zh": name_zh, "name_en": name_en,
            "aliases": sorted({*known, *seen} - {name_zh}),
            "iso3": entry.iso3 if entry is not None else None,
            "n_mentions": n_mentions, "n_documents": n_documents,
        })
    return pl.DataFrame(records, schema=CATALOG_SCHEMA)


@functools.lru_cache(maxsize=1)
def gazetteer_names() -> pl.DataFrame:
    """entity_id → the gazetteer's Chinese name, for every entity the gazetteer knows."""
    entries = load_gazetteer().entries
    return pl.DataFrame({"entity_id": list(entries), "name_zh": [e.name_zh for e in entries.values()]},
                        schema={"entity_id": pl.String, "name_zh": pl.String})
