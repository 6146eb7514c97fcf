"""The corpus step reads the documents' work files a batch at a time. However the rows are
batched, a user gets the same release: the same tables, statistics and content hash."""
from __future__ import annotations

import datetime
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import RESOLUTION_FILE, REPORT_FILE, CHARTER_FILE, sidecar_path
from pipeline.lib import chain, corpus, invariants, runner, stamps
from pipeline.lib.release import cut as release
from pipeline.lib.chain import StageInput
from pipeline.lib.release.cut import cut_release
from pipeline.lib.release.stats import Statistics
from pipeline.lib.workdir import remove_work

DAY = datetime.date(2024, 5, 2)
SETTINGS = stamps.settings_key(10_000_000, "test")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The seeds and the Charter, every per-document stage run and stamped, in a data folder of
    their own."""
    root = tmp_path_factory.mktemp("streaming")
    seeds, data = root / "seeds", root / "data"
    seeds.mkdir()
    for path in (REPORT_FILE, RESOLUTION_FILE, CHARTER_FILE):
        shutil.copy(path, seeds / path.name)
        if sidecar_path(path).exists():
            shutil.copy(sidecar_path(path), seeds / sidecar_path(path).name)
    keys = sorted(chain.locate_sources(seeds))
    outcomes = runner.run_documents(keys, data_dir=data, seeds_dir=seeds)
    assert {o.status for by_stage in outcomes.values() for o in by_stage.values()} == {"ok"}
    for key in keys:
        stamps.write_stamp(data, key, chain.NAMES, SETTINGS)
    return data, keys


def _release(data, keys, target, *, in_memory: bool):
    assembled = corpus.assemble(data, keys)
    tables = assembled.tables()
    if in_memory:
        tables = {n: t if isinstance(t, pa.Table) else t.read() for n, t in tables.items()}
    statistics = Statistics.of(tables)
    return cut_release(target, tables, statistics.tables, statistics.summary, inputs=assembled.inputs,
                       notes=assembled.warnings, code_version={"package": "test"}, today=DAY)


def test_batches_of_any_size_give_the_same_release(work, tmp_path, monkeypatch):
    data, keys = work
    monkeypatch.setattr(release, "ROW_GROUP_ROWS", 1000)  # row groups of their own size, whatever the batches
    whole = _release(data, keys, tmp_path / "whole", in_memory=True)
    monkeypatch.setattr(corpus, "BATCH_ROWS", 97)  # many batches, cut inside no document
    streamed = _release(data, keys, tmp_path / "streamed", in_memory=False)
    assert whole.created and streamed.created
    assert streamed.content_hash == whole.content_hash
    tokens = pq.ParquetFile(streamed.path / "tokens.parquet")
    assert tokens.metadata.num_row_groups > 1  # written a row group at a time
    for path in sorted(whole.path.glob("*.parquet")):
        assert (streamed.path / path.name).read_bytes() == path.read_bytes(), path.name
    for name in ("documents.jsonl", "paragraphs.jsonl", "entities.jsonl", "statistics.json"):
        assert (streamed.path / name).read_bytes() == (whole.path / name).read_bytes(), name


def test_a_batch_never_splits_a_document(work):
    data, keys = work
    tables = corpus.assemble(data, keys).tables()
    seen: list[str] = []
    for batch in tables["tokens"].batches(["doc_id"], rows=10):
        docs = batch.column("doc_id").unique().to_pylist()
        assert not set(docs) & set(seen)
        seen += docs
    assert seen == sorted(keys)
    assert tables["tokens"].num_rows == sum(tables["documents"].column("n_tokens").to_pylist())


def test_the_tokens_step_sends_back_a_preview_and_its_checks(work):
    data, keys = work
    outcome = runner.run_stage("tokens", StageInput(data, keys[0]))
    assert outcome.status == "ok"
    slim = outcome.results["tokens"]
    written = pq.ParquetFile(slim.path).metadata.num_rows
    # Only the first rows travel back from a worker; the count is the whole table's.
    assert slim.table.num_rows == runner.PREVIEW_ROWS and slim.num_rows == outcome.rows["tokens"] == written > 1000
    assert outcome.checks["token_offsets"][0]
    merged = invariants.merged([outcome.checks["token_offsets"], (False, {"rows": 3, "broken": 1,
                                                                         "examples": [{"doc_id": "x"}]})])
    assert merged == (False, {"rows": written + 3, "broken": 1, "examples": [{"doc_id": "x"}]})


def test_a_document_removed_while_the_release_is_written_leaves_it_whole(work, tmp_path):
    data, keys = work
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    assembled = corpus.assemble(copy, keys)
    tables = assembled.tables()
    expected = tables["tokens"].num_rows
    remove_work(copy, keys[0])  # its files deleted, as a build does for a deleted report
    statistics = Statistics.of(tables)
    result = cut_release(copy, tables, statistics.tables, statistics.summary, inputs=[], notes=[],
                         code_version={}, today=DAY)
    assert pq.ParquetFile(result.path / "tokens.parquet").metadata.num_rows == expected
    assert keys[0] in pq.read_table(result.path / "documents.parquet").column("doc_id").to_pylist()

    # The links an assembly holds go once newer assemblies have replaced it (the newest few
    # stay, for a release still reading one): the work folder does not grow build after build.
    snapshot = tables["tokens"].parts[0].path.parent.parent
    assert snapshot.parent.name == "snapshots"
    for _ in range(corpus.Snapshot.KEEP):
        assert snapshot.exists()
        corpus.assemble(copy, keys[1:])
    assert not snapshot.exists()
    assert len(list(snapshot.parent.iterdir())) == corpus.Snapshot.KEEP
