"""What makes a document stale, and what keeps a half-built or unverified state out of a release."""
import datetime
import os
import shutil
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipeline import schemas
from pipeline.build import build
from pipeline.defs.ingest.sensors import new_reports_sensor
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import parallel, release, stages
from pipeline.lib.ingest import doc_id_for

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
REPORT = "000_9d28c16df01d42a8"


def _settings(seeds, data, **kw):
    return UnparlSettings(seeds_dir=str(seeds), data_dir=str(data), **kw)


@pytest.fixture
def built(tmp_path):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    shutil.copytree(SEEDS, seeds)
    instance = dg.DagsterInstance.ephemeral()
    build(seeds, data, instance=instance, resources={"settings": _settings(seeds, data)})
    return seeds, data, instance


def test_changing_a_setting_that_shapes_the_tables_makes_documents_stale(built):
    seeds, data, instance = built
    located = stages.locate_sources(seeds)
    same = _settings(seeds, data).stamp_settings
    assert stages.is_current(data, *located[REPORT], same)
    for other in (_settings(seeds, data, max_bytes=30_000_000), _settings(seeds, data, tokenizer="rjieba")):
        assert other.stamp_settings != same
        assert not stages.is_current(data, *located[REPORT], other.stamp_settings)
    # and a build with the new limit reprocesses both documents
    report = build(seeds, data, instance=instance, resources={"settings": _settings(seeds, data, max_bytes=30_000_000)})
    assert report.processed == ["000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0"]


def test_a_duplicate_stands_for_itself_once_its_twin_is_deleted(built):
    seeds, data, instance = built
    shutil.copy(seeds / f"{REPORT}.txt", seeds / "zz_copy.txt")
    settings = {"settings": _settings(seeds, data)}
    build(seeds, data, instance=instance, resources=settings)
    latest = data / "releases" / (data / "LATEST").read_text().strip()
    assert pq.read_table(latest / "quarantine.parquet").column("reason").to_pylist() == ["duplicate"]
    (seeds / f"{REPORT}.txt").unlink()
    (seeds / f"{REPORT}.meta.json").unlink()
    report = build(seeds, data, instance=instance, resources=settings)
    assert "zz_copy" in report.processed
    latest = data / "releases" / (data / "LATEST").read_text().strip()
    docs = pq.read_table(latest / "documents.parquet").column("doc_id").to_pylist()
    assert "zz_copy" in docs and REPORT not in docs
    assert pq.read_table(latest / "quarantine.parquet").num_rows == 0


def test_a_document_whose_stages_did_not_all_run_on_its_bytes_stays_out(built):
    seeds, data, _ = built
    keys = ["000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0"]
    (seeds / f"{REPORT}.txt").write_text("第七十四届会议\n\n1. 新的文本。\n", encoding="utf-8")
    stages.ingest(seeds, data, REPORT)  # a run has re-read the file and is still at work on it
    tables, warnings = stages.corpus_tables(data, keys)
    assert tables["documents"].column("doc_id").to_pylist() == ["001_5d5ca6e1adb1dee0"]
    assert any(REPORT in w and "present bytes" in w for w in warnings)


def test_a_release_that_fails_its_own_checks_is_never_published(built, monkeypatch):
    seeds, data, _ = built
    before = (data / "LATEST").read_text()
    releases = sorted(p.name for p in (data / "releases").iterdir())
    tables, _ = stages.corpus_tables(data, ["000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0"])
    monkeypatch.setattr(release.release_verify, "problems", lambda folder: ["checksums_match: a file changed"])
    empty = {name: schemas.TABLES[name].empty_table() for name in tables}  # different data: a release would be cut
    with pytest.raises(release.ReleaseInvalid, match="checksums_match"):
        release.cut_release(data, empty, {}, {"corpus": {}}, inputs=[], notes=[], code_version={},
                            today=datetime.date(2026, 12, 1))
    assert (data / "LATEST").read_text() == before
    assert sorted(p.name for p in (data / "releases").iterdir()) == releases


def test_one_document_failing_a_stage_is_set_aside_and_the_others_go_on(tmp_path, monkeypatch):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    shutil.copytree(SEEDS, seeds)
    keys = ["000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0"]
    parallel.map_stage("raw", data, keys, workers=1, seeds_dir=seeds)
    real_clean = stages.clean

    def clean(text):
        if "秘书长的报告" in text[:200]:
            raise ValueError("a bug met in this text")
        return real_clean(text)

    monkeypatch.setattr(stages, "clean", clean)
    results = parallel.map_stage("clean", data, keys, workers=1)
    assert [r.quarantined for r in results] == [True, False]
    raw = stages.read_work(data, "raw", REPORT).to_pylist()[0]
    assert raw["reason"] == "internal_error" and "ValueError: a bug met in this text" in raw["detail"]
    assert results[1].table.column("clean_text")[0].as_py()


def test_a_file_that_returns_to_an_earlier_state_gets_a_new_run_key(tmp_path):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    path = seeds / "note.txt"
    settings = _settings(seeds, data)

    def settle(instance, cursor):
        for _ in range(3):  # first sight of a size waits one tick
            with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"settings": settings}) as context:
                result = new_reports_sensor(context)
            for request in result.dynamic_partitions_requests or []:
                instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
            cursor = result.cursor
            if result.run_requests:
                return result.run_requests[0].run_key, cursor
        return None, cursor

    with dg.instance_for_test() as instance:
        path.write_text("第一稿。\n", encoding="utf-8")
        os.utime(path, ns=(10**18, 10**18))
        first, cursor = settle(instance, None)
        path.write_text("第二稿，更长一些。\n", encoding="utf-8")
        second, cursor = settle(instance, cursor)
        path.write_text("第一稿。\n", encoding="utf-8")
        os.utime(path, ns=(10**18, 10**18))  # restored as it was, time and all
        third, _ = settle(instance, cursor)
    assert first and second and third
    assert len({first, second, third}) == 3


@pytest.mark.parametrize("names", [("联合国报告 2020.txt", "联合国决议 2020.txt"), ("A RES 61 211.txt", "A_RES_61_211.txt")])
def test_a_doc_id_does_not_depend_on_the_other_files(tmp_path, names):
    ids_alone = []
    for name in names:
        folder = tmp_path / f"alone_{len(ids_alone)}"
        folder.mkdir()
        (folder / name).write_text("正文。", encoding="utf-8")
        ids_alone.append(stages.locate_sources(folder).popitem()[0])
    together = tmp_path / "together"
    together.mkdir()
    for name in names:
        (together / name).write_text(f"正文{name}。", encoding="utf-8")
    ids_together = {source.path.name: doc_id for doc_id, (source, _) in stages.locate_sources(together).items()}
    assert [ids_together[n] for n in names] == ids_alone == [doc_id_for(Path(n)) for n in names]
    assert len(set(ids_alone)) == 2
