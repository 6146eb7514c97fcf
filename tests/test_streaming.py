"""The corpus step reads the documents' work files a batch at a time. However the rows are
batched, a user gets the same release: the same tables, statistics and content hash."""
from __future__ import annotations

import datetime
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import RESOLUTION_FILE, REPORT_FILE, CHARTER_FILE, sidecar_path
from pipeline.lib import chain, corpus, invariants, runner, stamps
from pipeline.lib.release import cut as release
from pipeline.lib.chain import StageInput
from pipeline.lib.release.cut import read_table, table_rows, cut_release
from pipeline.lib.release.stats import Statistics, combine
from pipeline.lib.workdir import remove_work, stamp_path

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
        # The whole tables in memory, the statistics computed from them.
        tables = {n: t if isinstance(t, pa.Table) else t.read() for n, t in tables.items()}
        statistics = Statistics.of(tables)
    else:
        # The documents' files read a batch at a time, the statistics from their partials.
        statistics = combine(assembled.partials, assembled.documents, assembled.quarantine)
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
    tokens = pq.ParquetFile(streamed.path / "tokens" / "part-00000.parquet")
    assert tokens.metadata.num_row_groups > 1  # written a row group at a time
    data_files = sorted(p.relative_to(whole.path).as_posix() for p in whole.path.rglob("*")
                        if p.is_file() and release.is_content_file(p.relative_to(whole.path).as_posix()))
    assert {"documents/part-00000.parquet", "jsonl/entities/part-00000.jsonl", "conllu/part-00000.conllu",
            "statistics.json"} <= set(data_files)
    for name in data_files:
        assert (streamed.path / name).read_bytes() == (whole.path / name).read_bytes(), name


def test_a_batch_never_splits_a_document(work):
    data, keys = work
    assembled = corpus.assemble(data, keys)
    tables = assembled.tables()
    seen: list[str] = []
    for batch in tables["tokens"].batches(["doc_id"], rows=10):
        docs = batch.column("doc_id").unique().to_pylist()
        assert not set(docs) & set(seen)
        seen += docs
    assert seen == sorted(keys)
    assert tables["tokens"].num_rows == sum(assembled.documents.column("n_tokens").to_pylist())
    # The streamed documents carry the corpus's counts, as the slim table does.
    streamed = tables["documents"].read(["doc_id", "n_tokens"]).to_pylist()
    assert streamed == assembled.documents.select(["doc_id", "n_tokens"]).to_pylist()


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
    statistics = combine(assembled.partials, assembled.documents, assembled.quarantine)
    result = cut_release(copy, tables, statistics.tables, statistics.summary, inputs=[], notes=[],
                         code_version={}, today=DAY)
    assert table_rows(result.path, "tokens") == expected
    assert keys[0] in read_table(result.path, "documents").column("doc_id").to_pylist()

    # The links an assembly holds are per document version (work/corpus/held/<doc_id>/<version>/):
    # a document's older versions go once newer ones replaced them (the newest few stay, for a
    # release still reading one), and a document gone from the corpus loses its links, so the
    # work folder does not grow build after build.
    removed, kept = (tables["tokens"].parts[i].path.parent for i in (0, 1))
    assert removed.parent.name == keys[0] and removed.parent.parent.name == "held"
    assert kept.parent.name == keys[1]
    for i in range(corpus.Held.KEEP):
        assert kept.exists()
        # Its stamp touched: its files are not as the last assembly saw them, a new version is held.
        os.utime(stamp_path(copy, keys[1]), ns=(10**9 * (i + 1),) * 2)
        corpus.assemble(copy, keys[1:])
        assert not removed.parent.exists()  # gone from the corpus: its links go
        assert len(list(kept.parent.iterdir())) <= corpus.Held.KEEP
    assert not kept.exists()
    assert len(list(kept.parent.iterdir())) == corpus.Held.KEEP
