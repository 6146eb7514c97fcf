"""Corpus statistics from per-document partials: a document's partials are computed once, when
it changes, and combining the cached partials of every document gives exactly the statistics,
the summary and the entity catalog that the whole corpus gives, whatever order they come in.

Corpora: the hand-made one of test_stats.py, and a real one run through the chain and
assembled with the corpus's citation rule: the two seeds, the two samples, a second version of the
report claiming the same symbol (its ids cite as A/74/759@<doc_id>), and a note that names no
entity.
"""
from __future__ import annotations

import json
import random
import re
import shutil

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from conftest import A_RES_61_211_FILE, CHARTER_FILE, REPORT_FILE, RESOLUTION_FILE, sidecar_path
from pipeline import schemas
from pipeline.lib import chain, runner
from pipeline.lib.entities.catalog import catalog_from_partials, catalog_partial
from pipeline.lib.entities.catalog import build_catalog
from pipeline.lib.entities.tagger import CATALOG_COLUMNS
from pipeline.lib.release.stats import (PARTIAL_SCHEMAS, STATS_SCHEMAS, Statistics, combine,
                                        document_partials)
from pipeline.lib.storage import to_arrow
from pipeline.lib.workdir import read_work
from test_stats import NOTE, REPORT, RESOLUTION, corpus_tables

PER_DOCUMENT = ("documents", "paragraphs", "sentences", "tokens", "entities")
SECOND_REPORT = "003_report_v2"
NO_ENTITIES = "004_plain"


@pytest.fixture(scope="module")
def real_tables(tmp_path_factory) -> dict[str, pa.Table]:
    root = tmp_path_factory.mktemp("partials")
    seeds, data = root / "seeds", root / "data"
    seeds.mkdir()
    for path in (REPORT_FILE, RESOLUTION_FILE, CHARTER_FILE, A_RES_61_211_FILE):
        shutil.copy(path, seeds / path.name)
        if sidecar_path(path).exists():
            shutil.copy(sidecar_path(path), seeds / sidecar_path(path).name)
    # Another version of the report, declaring the same symbol A/74/759.
    (seeds / f"{SECOND_REPORT}.txt").write_text(REPORT_FILE.read_text("utf-8") + "\n\n补充说明。\n", "utf-8")
    shutil.copy(sidecar_path(REPORT_FILE), seeds / f"{SECOND_REPORT}.meta.json")
    (seeds / f"{NO_ENTITIES}.txt").write_text("本说明仅供参考。\n\n请阅读以下内容并提出意见。\n", "utf-8")
    keys = sorted(chain.locate_sources(seeds))
    outcomes = runner.run_documents(keys, data_dir=data, seeds_dir=seeds)
    failed = [f"{o.doc_id} {stage}: {o.detail}" for by_stage in outcomes.values()
              for stage, o in by_stage.items() if o.status != "ok"]
    assert not failed, failed
    tables = {}
    for name in PER_DOCUMENT:
        parts = [to_arrow(read_work(data, name, key), schemas.TABLES[name]) for key in keys]
        # The corpus's rule for a symbol two documents claim: the second cites as symbol@doc_id.
        parts[keys.index(SECOND_REPORT)] = _cite_as(parts[keys.index(SECOND_REPORT)], "A/74/759",
                                                    f"A/74/759@{SECOND_REPORT}")
        tables[name] = pa.concat_tables(parts)
    tables["quarantine"] = schemas.QUARANTINE.empty_table()
    tables["entity_catalog"] = _catalog(tables["entities"])
    return tables


def _cite_as(table: pa.Table, old: str, new: str) -> pa.Table:
    for column in ("para_id", "sent_id"):
        if column in table.column_names:
            i = table.schema.get_field_index(column)
            rewritten = pc.replace_substring_regex(table.column(column), f"^{re.escape(old)}:", f"{new}:")
            table = table.set_column(i, table.schema.field(column), rewritten)
    return table


def _catalog(entities: pa.Table) -> pa.Table:
    return to_arrow(build_catalog(pl.from_arrow(entities.select(CATALOG_COLUMNS))), schemas.ENTITY_CATALOG)


@pytest.fixture(scope="module")
def handmade_tables() -> dict[str, pa.Table]:
    return corpus_tables(specs=(REPORT, RESOLUTION, NOTE))


@pytest.fixture(params=["handmade", "real"])
def tables(request, handmade_tables):
    return handmade_tables if request.param == "handmade" else request.getfixturevalue("real_tables")


def one_document(tables: dict[str, pa.Table], doc_id: str) -> dict[str, pa.Table]:
    return {name: tables[name].filter(pc.equal(tables[name].column("doc_id"), doc_id)) for name in PER_DOCUMENT}


def cached_partials(tables: dict[str, pa.Table], *, seed: int = 7) -> dict[str, pa.Table]:
    """Every document's partials computed on its own, concatenated in a shuffled order."""
    doc_ids = tables["documents"].column("doc_id").to_pylist()
    random.Random(seed).shuffle(doc_ids)
    each = [document_partials(one_document(tables, doc_id)) for doc_id in doc_ids]
    return {name: pa.concat_tables([p[name] for p in each]) if each else schema.empty_table()
            for name, schema in PARTIAL_SCHEMAS.items()}


def combined(tables: dict[str, pa.Table], partials: dict[str, pa.Table]) -> Statistics:
    documents = tables["documents"].drop_columns(["clean_text", "source_map"])  # what a cut keeps at hand
    return combine(partials, documents, tables["quarantine"], tables["entity_catalog"])


def dump(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False, sort_keys=True)


def assert_same(got: Statistics, want: Statistics) -> None:
    assert set(got.tables) == set(want.tables) == set(STATS_SCHEMAS)
    for name, table in want.tables.items():
        assert got.tables[name].equals(table, check_metadata=True), name
    assert dump(got.summary) == dump(want.summary)


# --- combine(partials) == the statistics of the whole corpus ----------------------------------

def test_combined_partials_give_the_statistics_of_the_whole_corpus(tables):
    assert_same(combined(tables, cached_partials(tables)), Statistics.of(tables))


def test_the_order_of_the_partials_does_not_matter(tables):
    first = combined(tables, cached_partials(tables, seed=1))
    again = combined(tables, cached_partials(tables, seed=2))
    assert_same(first, again)


class Streamed:
    """A table handed over a few whole documents at a time, as the corpus streams its large
    tables (corpus.DocumentTable)."""

    def __init__(self, table: pa.Table, documents_per_batch: int = 2) -> None:
        self.table, self.per_batch = table, documents_per_batch

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def batches(self, columns=None, rows=None):
        doc_ids = sorted(set(self.table.column("doc_id").to_pylist()))
        for i in range(0, len(doc_ids), self.per_batch):
            chunk = self.table.filter(pc.is_in(self.table.column("doc_id"), pa.array(doc_ids[i:i + self.per_batch])))
            yield chunk.select(columns) if columns else chunk


def test_streamed_tables_give_the_same_statistics(real_tables):
    streamed = {name: Streamed(real_tables[name]) if name in ("paragraphs", "sentences", "tokens", "entities")
                else table for name, table in real_tables.items()}
    assert_same(Statistics.of(streamed), Statistics.of(real_tables))


def test_a_documents_partials_do_not_depend_on_the_other_documents(real_tables):
    """What a cut caches for a document is what the whole corpus computes for it."""
    whole = document_partials(real_tables)
    for doc_id in real_tables["documents"].column("doc_id").to_pylist():
        alone = document_partials(one_document(real_tables, doc_id))
        for name, table in whole.items():
            assert alone[name].equals(table.filter(pc.equal(table.column("doc_id"), doc_id))), (doc_id, name)
            assert alone[name].schema.equals(PARTIAL_SCHEMAS[name]), name


def test_partials_are_small_and_never_hold_tokens(real_tables):
    partials = document_partials(one_document(real_tables, "000_9d28c16df01d42a8"))
    assert set(partials) == set(PARTIAL_SCHEMAS)
    assert all("doc_id" in table.column_names for table in partials.values())
    rows = sum(table.num_rows for table in partials.values())
    tokens = one_document(real_tables, "000_9d28c16df01d42a8")["tokens"].num_rows
    assert rows < tokens / 2, (rows, tokens)
    assert partials["documents"].to_pylist()[0]["n_tokens"] == tokens


def test_two_documents_claiming_one_symbol_stay_apart(real_tables):
    statistics = combined(real_tables, cached_partials(real_tables))
    profiles = {r["doc_id"]: r for r in statistics.tables["stats_documents"].to_pylist()}
    assert profiles["000_9d28c16df01d42a8"]["symbol"] == profiles[SECOND_REPORT]["symbol"] == "A/74/759"
    assert profiles[SECOND_REPORT]["n_characters"] > profiles["000_9d28c16df01d42a8"]["n_characters"]
    citing = [r for r in statistics.tables["stats_citations"].to_pylist() if r["doc_id"] == SECOND_REPORT]
    assert citing and all(p.startswith(f"A/74/759@{SECOND_REPORT}:") for r in citing for p in r["para_ids"])
    # The resolution's footnote 9 cites A/74/759: the first document in doc_id order holds it.
    cited = [r for r in statistics.tables["stats_citations"].to_pylist()
             if r["doc_id"] == "001_5d5ca6e1adb1dee0" and r["cited_symbol"] == "A/74/759"]
    assert [r["cited_doc_id"] for r in cited] == ["000_9d28c16df01d42a8"]


def test_a_document_without_entities(real_tables):
    alone = one_document(real_tables, NO_ENTITIES)
    assert alone["entities"].num_rows == 0 and alone["tokens"].num_rows > 0
    partials = document_partials(alone)
    assert partials["documents"].num_rows == 1
    assert all(partials[name].num_rows == 0 for name in ("entities", "entity_mentions", "cooccurrence", "citations"))
    tables = {**alone, "quarantine": schemas.QUARANTINE.empty_table(),
              "entity_catalog": _catalog(alone["entities"])}
    statistics = combined(tables, partials)
    assert_same(statistics, Statistics.of(tables))
    assert statistics.summary["corpus"]["entity_mentions"] == 0
    assert statistics.tables["stats_documents"].to_pylist()[0]["n_entities"] == 0


def test_empty_corpus():
    empty = {name: schemas.TABLES[name].empty_table() for name in (*PER_DOCUMENT, "quarantine", "entity_catalog")}
    statistics = combined(empty, cached_partials(empty))
    assert_same(statistics, Statistics.of({}))
    assert statistics.tables["stats_sdgs"].num_rows == 17
    assert statistics.summary["corpus"]["documents"] == 0


def test_combine_refuses_partials_that_do_not_match_the_documents(handmade_tables):
    partials = cached_partials(handmade_tables)
    twice = {name: pa.concat_tables([table, table]) for name, table in partials.items()}
    with pytest.raises(ValueError, match="more than once.*000_9d28c16df01d42a8"):
        combined(handmade_tables, twice)
    fewer = {**handmade_tables, "documents": one_document(handmade_tables, "002_note")["documents"]}
    with pytest.raises(ValueError, match="not in the corpus: 000_9d28c16df01d42a8"):
        combined(fewer, partials)
    with pytest.raises(ValueError, match="lacks the column.*n_tokens"):
        combined(handmade_tables, {**partials, "documents": partials["documents"].drop_columns(["n_tokens"])})


# --- the entity catalog from partials -----------------------------------------------------

def catalog_partials(entities: pa.Table, *, seed: int = 3) -> pa.Table:
    doc_ids = sorted(set(entities.column("doc_id").to_pylist()))
    random.Random(seed).shuffle(doc_ids)
    parts = [catalog_partial(entities.filter(pc.equal(entities.column("doc_id"), d))) for d in doc_ids]
    return pa.concat_tables(parts) if parts else catalog_partial(entities)


def test_catalog_from_partials_is_the_catalog_of_all_mentions(tables):
    entities = tables["entities"]
    expected = build_catalog(pl.from_arrow(entities.select(CATALOG_COLUMNS)))
    got = catalog_from_partials(catalog_partials(entities))
    assert got.height == expected.height > 0
    assert got.equals(expected)


def test_catalog_type_tie_goes_to_the_type_mentioned_first_in_corpus_order():
    # "x" is an ORG twice and a GPE twice: document a (first in doc_id order) names it a GPE
    # first, though b's partial comes first and b's row index is smaller.
    mentions = pl.DataFrame({
        "doc_id": ["a", "a", "a", "b", "b"],
        "entity_id": ["y", "x", "x", "x", "x"],
        "type": ["ORG", "GPE", "ORG", "ORG", "GPE"],
        "text": ["乙", "甲", "甲", "甲", "甲国"],
    })
    expected = build_catalog(mentions)
    assert expected.filter(pl.col("entity_id") == "x").get_column("type").to_list() == ["GPE"]
    b_first = pa.concat_tables([catalog_partial(mentions.filter(pl.col("doc_id") == d)) for d in ("b", "a")])
    assert catalog_from_partials(b_first).equals(expected)


def test_empty_catalog():
    empty = catalog_partial(schemas.ENTITIES.empty_table())
    assert empty.num_rows == 0
    assert catalog_from_partials(empty).equals(build_catalog(pl.from_arrow(schemas.ENTITIES.empty_table())))
