"""The benchmark runs end to end on a tiny corpus, so it cannot rot; the process pool gives
the same work files as one process."""
from __future__ import annotations

import json

import pyarrow.parquet as pq

from benchmarks.corpus import build_corpus
from pipeline.lib import parallel, stages
from pipeline.lib.ingest import scan_sources


def test_benchmark_runs_on_five_documents(tmp_path):
    from benchmarks.run import main

    results = main(["--n", "5", "--workers", "2", "--out", str(tmp_path), "--name", "smoke"])
    saved = json.loads((tmp_path / "smoke.json").read_text())
    size = saved["sizes"][0]
    assert size["n"] == 5 and results["sizes"][0]["n"] == 5
    summary = size["summary"]
    assert [row["stage"] for row in summary["table"]] == [*parallel.PER_DOCUMENT, "corpus"]
    assert summary["ratio_end_to_end_vs_tokenizer"] > 0
    assert summary["parallel_speedup"] > 0
    assert summary["peak_rss_mib"] > 0
    assert size["incremental"]["document_seconds"] > 0
    assert size["dagster"]["one_new_partition"]["processed"] == [size["dagster"]["one_new_partition"]["doc_id"]]


def test_synthetic_documents_are_distinct(tmp_path):
    paths = build_corpus(tmp_path, 4)
    texts = [p.read_text("utf-8") for p in paths]
    assert len(set(texts)) == 4
    symbols = {json.loads(p.with_name(p.stem + ".meta.json").read_text())["symbol"] for p in paths}
    assert len(symbols) == 4


def test_pool_gives_the_same_tables_as_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BATCH", 1)
    seeds = tmp_path / "seeds"
    build_corpus(seeds, 3)
    keys = [s.doc_id for s in scan_sources(seeds)]
    outputs = {}
    for workers in (1, 2):
        data = tmp_path / f"data{workers}"
        parallel.run_documents(data, keys, workers=workers, seeds_dir=seeds,
                               chosen=[s for s in parallel.PER_DOCUMENT if s != "entities"])
        outputs[workers] = {k: pq.read_table(stages.work_path(data, "tokens", k)) for k in keys}
    parallel.shutdown()
    for key in keys:
        assert outputs[1][key].equals(outputs[2][key])
