"""The corpus step reads the documents' work files a batch at a time. However the rows are
batched, a user gets the same release: the same tables, statistics and content hash."""
from __future__ import annotations

import datetime
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import RESOLUTION_FILE, REPORT_FILE, CHARTER_FILE, sidecar_path
from pipeline.lib import invariants, release, stages
from pipeline.lib.ingest import scan_sources
from pipeline.lib.provenance import release_inputs
from pipeline.lib.release import cut_release
from pipeline.lib.stats import statistics_and_summary

DAY = datetime.date(2024, 5, 2)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The seeds and the Charter, every per-document stage run, in a data folder of their own."""
    root = tmp_path_factory.mktemp("streaming")
    seeds, data = root / "seeds", root / "data"
    seeds.mkdir()
    for path in (REPORT_FILE, RESOLUTION_FILE, CHARTER_FILE):
        shutil.copy(path, seeds / path.name)
        if sidecar_path(path).exists():
            shutil.copy(sidecar_path(path), seeds / sidecar_path(path).name)
    keys = [s.doc_id for s in scan_sources(seeds)]
    for key in keys:
        stages.run_document(seeds, data, key)
    return data, keys


def _release(data, keys, target, *, in_memory: bool):
    tables, warnings = stages.corpus_tables(data, keys)
    if in_memory:
        tables = {n: t if isinstance(t, pa.Table) else t.read() for n, t in tables.items()}
    stats, summary = statistics_and_summary(tables)
    return cut_release(target, tables, stats, summary, inputs=release_inputs(data, keys), notes=warnings,
                       code_version={"package": "test"}, today=DAY)


def test_batches_of_any_size_give_the_same_release(work, tmp_path, monkeypatch):
    data, keys = work
    monkeypatch.setattr(release, "ROW_GROUP_ROWS", 1000)  # row groups of their own size, whatever the batches
    whole = _release(data, keys, tmp_path / "whole", in_memory=True)
    monkeypatch.setattr(stages, "BATCH_ROWS", 97)  # many batches, cut inside no document
    streamed = _release(data, keys, tmp_path / "streamed", in_memory=False)
    assert streamed.content_hash == whole.content_hash
    tokens = pq.ParquetFile(streamed.path / "tokens.parquet")
    assert tokens.metadata.num_row_groups > 1  # written a row group at a time
    for path in sorted(whole.path.glob("*.parquet")):
        assert (streamed.path / path.name).read_bytes() == path.read_bytes(), path.name
    for name in ("documents.jsonl", "paragraphs.jsonl", "entities.jsonl", "statistics.json"):
        assert (streamed.path / name).read_bytes() == (whole.path / name).read_bytes(), name


def test_a_batch_never_splits_a_document(work):
    data, keys = work
    tables, _ = stages.corpus_tables(data, keys)
    seen: list[str] = []
    for batch in tables["tokens"].batches(["doc_id"], rows=10):
        docs = batch.column("doc_id").unique().to_pylist()
        assert not set(docs) & set(seen)
        seen += docs
    assert seen == sorted(keys)
    assert tables["tokens"].num_rows == sum(tables["documents"].column("n_tokens").to_pylist())


def test_the_tokens_step_sends_back_a_preview_and_its_checks(work):
    data, keys = work
    result = stages.tokens_stage(data, keys[0])
    slim = result.slim()
    assert slim.table.num_rows == 5 and slim.num_rows == result.table.num_rows > 1000
    assert slim.checks["token_offsets"][0]
    merged = invariants.merged([slim.checks["token_offsets"], (False, {"rows": 3, "broken": 1,
                                                                         "examples": [{"doc_id": "x"}]})])
    assert merged == (False, {"rows": result.table.num_rows + 3, "broken": 1, "examples": [{"doc_id": "x"}]})


def test_a_document_removed_while_the_release_is_written_leaves_it_whole(work, tmp_path):
    data, keys = work
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    tables, _ = stages.corpus_tables(copy, keys)
    expected = tables["tokens"].num_rows
    snapshot = tables["tokens"].snapshot.folder
    stages.remove_work(copy, keys[0])  # its file deleted, as the sensor does for a deleted report
    stats, summary = statistics_and_summary(tables)
    result = cut_release(copy, tables, stats, summary, inputs=[], notes=[], code_version={}, today=DAY)
    assert pq.ParquetFile(result.path / "tokens.parquet").metadata.num_rows == expected
    del tables
    import gc

    gc.collect()
    assert not snapshot.exists()  # the links go with the tables
