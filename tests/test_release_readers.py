"""A release read the way researchers read one: every table, in every common reader, by its
folder, with the row counts the manifest gives (tables with no rows included)."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release(built):
    return built.release


@pytest.fixture(scope="module")
def manifest(release) -> dict:
    return json.loads((release / "manifest.json").read_text("utf-8"))


def test_every_table_has_a_folder_of_parquet_parts_and_nothing_else(release, manifest):
    for table in manifest["tables"]:
        folder = release / table
        names = sorted(p.name for p in folder.iterdir())
        assert names and all(n.startswith("part-") and n.endswith(".parquet") for n in names), (table, names)
    assert not list(release.glob("*.parquet")) and not list(release.glob("*.jsonl"))
    for table in ("documents", "paragraphs", "sentences", "entities", "entity_catalog"):
        assert list((release / "jsonl" / table).glob("part-*.jsonl")), table
    assert list((release / "conllu").glob("part-*.conllu"))


def test_polars_scans_each_table_folder(release, manifest):
    import polars as pl

    for table, rows in manifest["tables"].items():
        assert pl.scan_parquet(release / table).select(pl.len()).collect().item() == rows, table
    # The JSON Lines tree reads the same rows.
    for table in ("documents", "paragraphs", "sentences", "entities", "entity_catalog"):
        assert pl.scan_ndjson(release / "jsonl" / table / "*.jsonl").select(pl.len()).collect().item() \
            == manifest["tables"][table]


def test_duckdb_reads_each_table_and_only_that_table(release, manifest):
    import duckdb

    for table, rows in manifest["tables"].items():
        glob = (release / table / "*.parquet").as_posix()
        assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0] == rows, table
    # A join across tables by their keys, as a researcher writes it.
    joined = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{(release / 'tokens' / '*.parquet').as_posix()}') t "
        f"JOIN read_parquet('{(release / 'sentences' / '*.parquet').as_posix()}') s USING (sent_id)").fetchall()[0][0]
    assert joined == manifest["tables"]["tokens"]


def test_pandas_reads_each_table_folder(release, manifest):
    import pandas as pd

    for table, rows in manifest["tables"].items():
        frame = pd.read_parquet(release / table)
        assert len(frame) == rows, table
        # A table with no rows still has its columns.
        assert list(frame.columns) == pq.read_schema(next((release / table).glob("*.parquet"))).names


def test_hugging_face_datasets_loads_each_config_of_the_card(release, manifest, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from datasets import load_dataset

    for table, rows in manifest["tables"].items():
        if not rows:
            # `datasets` has no empty split: a table with no rows is refused by name, never read
            # wrong (the README says so; the other readers give its columns and no rows).
            with pytest.raises((ValueError, Exception), match="no data|BatchSize|corresponds"):
                load_dataset("parquet", data_dir=str(release / table), split="train", cache_dir=str(tmp_path / "a"))
            continue
        loaded = load_dataset("parquet", data_dir=str(release / table), split="train", cache_dir=str(tmp_path / "a"))
        assert loaded.num_rows == rows, table
        # Through the data card's YAML `configs`, by name.
        by_name = load_dataset(str(release), name=table, split="train", cache_dir=str(tmp_path / "b"))
        assert by_name.num_rows == rows, table


def test_one_string_type_and_the_columns_researchers_join_and_sort_on(release):
    for path in release.glob("*/part-*.parquet"):
        schema = pq.read_schema(path)
        assert not [f.name for f in schema if pa.types.is_large_string(f.type)], path
    tokens = pq.read_schema(next((release / "tokens").glob("*.parquet")))
    assert "para_id" in tokens.names
    paragraphs = pq.read_table(next((release / "paragraphs").glob("*.parquet")))
    assert "section_order" in paragraphs.column_names
    # Chinese numerals sort by their value: 二 (2) before 三 (3).
    rows = [r for r in paragraphs.select(["section", "section_order"]).to_pylist() if r["section"]]
    order = {r["section"]: r["section_order"] for r in rows}
    if "二" in order and "三" in order:
        assert order["二"] < order["三"]


def test_operative_paragraphs_name_whom_they_address(release):
    from pipeline.lib.release.cut import read_table

    paragraphs = {r["para_id"]: r for r in read_table(release, "paragraphs", ["para_id", "kind", "addressees"]).to_pylist()}
    # "促请会员国…" (op5) addresses the Member States, not the United Nations.
    assert "actor:member-states" in paragraphs["A/RES/74/304:op5"]["addressees"]
    assert "org:un" not in paragraphs["A/RES/74/304:op5"]["addressees"]
    for op in ("op16", "op18", "op21"):
        assert paragraphs[f"A/RES/74/304:{op}"]["addressees"], op
    # Only operative paragraphs address anyone.
    assert all(not r["addressees"] for r in paragraphs.values() if r["kind"] != "operative")
