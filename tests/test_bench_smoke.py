"""The benchmark runs end to end on a tiny corpus, so it cannot rot; the process pool gives
the same work files as one process."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from benchmarks.corpus import build_corpus
from pipeline.lib import chain, runner
from pipeline.lib.workdir import work_path


@pytest.mark.slow
def test_benchmark_runs_on_five_documents(tmp_path):
    from benchmarks.run import main

    results = main(["--n", "5", "--workers", "2", "--out", str(tmp_path), "--name", "smoke"])
    saved = json.loads((tmp_path / "smoke.json").read_text())
    size = saved["sizes"][0]
    assert size["n"] == 5 and results["sizes"][0]["n"] == 5
    summary = size["summary"]
    assert [row["stage"] for row in summary["table"]] == [*chain.NAMES, "corpus"]
    assert not any(size["stages"][name]["failed"] for name in chain.NAMES)
    assert summary["ratio_end_to_end_vs_tokenizer"] > 0
    assert summary["parallel_speedup"] > 0
    assert summary["peak_rss_mib"] > 0
    assert size["incremental"]["document_seconds"] > 0
    dagster = size["dagster"]
    assert not dagster["outside"]["failed"]
    one = dagster["one_new_document"]
    assert one["processed"] == [one["doc_id"]]
    # The figures the issue asks for, read from the instance's event log.
    full = dagster["all_documents"]["document_chain"]
    assert full["job"] == "document_chain" and full["status"] == "SUCCESS"
    assert full["events_by_type"]["ASSET_MATERIALIZATION"] == 5 * len(chain.NAMES)
    assert summary["events_per_document"] >= len(chain.NAMES)
    assert 0 < one["document_chain"]["step_seconds"] < one["document_chain"]["wall_seconds"]
    assert 0 < summary["share_outside_steps"] < 1
    assert summary["dagster_vs_outside"] > 0
    assert summary["dagster_document_chain_seconds"] == full["wall_seconds"]


@pytest.mark.slow
def test_only_the_dagster_section(tmp_path):
    from benchmarks.run import main

    results = main(["--n", "3", "--workers", "1", "--only", "dagster", "--out", str(tmp_path), "--name", "d"])
    size = results["sizes"][0]
    assert "stages" not in size and "parallel" not in size
    assert size["summary"]["dagster_vs_outside"] > 0 and "table" not in size["summary"]


def test_synthetic_documents_are_distinct(tmp_path):
    paths = build_corpus(tmp_path, 4)
    texts = [p.read_text("utf-8") for p in paths]
    assert len(set(texts)) == 4
    symbols = {json.loads(p.with_name(p.stem + ".meta.json").read_text())["symbol"] for p in paths}
    assert len(symbols) == 4


@pytest.mark.slow  # starts a pool of worker processes (a few seconds)
def test_pool_gives_the_same_tables_as_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "MIN_BATCH", 1)
    seeds = tmp_path / "seeds"
    build_corpus(seeds, 3)
    keys = sorted(chain.locate_sources(seeds))
    outputs = {}
    try:
        for workers in (1, 2):
            data = tmp_path / f"data{workers}"
            outcomes = runner.run_documents(keys, ("documents", "tokens"), data_dir=data, seeds_dir=seeds,
                                            workers=workers)
            assert {o.status for by_stage in outcomes.values() for o in by_stage.values()} == {"ok"}
            outputs[workers] = {(table, k): pq.read_table(work_path(data, table, k))
                                for k in keys for table in ("paragraphs", "tokens")}
    finally:
        runner.shutdown()
    for key, table in outputs[1].items():
        assert outputs[2][key].equals(table), key
