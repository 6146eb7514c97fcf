"""What makes a document stale, one rule for the UI and `unparl build`, and what keeps a
half-built state out of a release.

The rule (pipeline/lib/stamps.py): a document's stamp records its bytes, sidecar, twin and
settings and, per stage, the code version that stage ran with; the code versions are the ones
the Dagster assets show. Edits to package files are pretended by reading one file's bytes with
a line more (the real file is left alone)."""
import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipeline.build import build
from pipeline.defs.documents import assets as document_assets
from pipeline.defs.documents.sensors import new_reports_sensor
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import chain, corpus, planning, runner, stamps
from pipeline.lib.text.ingest import doc_id_for
from pipeline.lib.workdir import work_path
from conftest import REPORT_ID, RESOLUTION_ID, copy_seeds
from pipeline.lib.release.cut import read_table

KEYS = [REPORT_ID, RESOLUTION_ID]


def _settings(seeds, data, **kw):
    return UnparlSettings(seeds_dir=str(seeds), data_dir=str(data), **kw)


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """The seeds through every stage and stamped, as a build leaves them (outside Dagster). Read only."""
    root = tmp_path_factory.mktemp("processed")
    seeds, data = copy_seeds(root / "seeds"), root / "data"
    runner.run_documents(KEYS, data_dir=data, seeds_dir=seeds, workers=1)
    settings = _settings(seeds, data).stamp_settings
    for key in KEYS:
        stamps.write_stamp(data, key, chain.NAMES, settings)
    return seeds, data


def manifest_sha256(release: Path) -> dict[str, str]:
    files = json.loads((release / "manifest.json").read_text("utf-8"))["files"]
    return {name: entry["sha256"] for name, entry in files.items()}


def stale(seeds, data, settings: str) -> dict[str, tuple[str, ...]]:
    return {doc: stamps.stale_stages(data, source, twin, settings)
            for doc, (source, twin) in chain.locate_sources(seeds).items()}


def ui_code_versions() -> dict[str, str]:
    """The code versions the stage assets would show, were the definitions loaded now."""
    return {spec.key.to_user_string(): spec.code_version for spec in document_assets._specs()}


def plan(seeds, data, settings: str) -> planning.Plan:
    return planning.plan(seeds, data, known=set(KEYS), settings=settings)


# --- one rule, the same in the UI and in `unparl build` -------------------------------------

def test_built_documents_are_fresh(processed):
    seeds, data = processed
    settings = _settings(seeds, data).stamp_settings
    assert stale(seeds, data, settings) == {REPORT_ID: (), RESOLUTION_ID: ()}
    assert plan(seeds, data, settings).stages == {}
    assert ui_code_versions() == chain.code_versions()


def test_a_file_only_the_release_uses_makes_no_document_stale(processed, edit_package):
    seeds, data = processed
    settings = _settings(seeds, data).stamp_settings
    versions, shown = chain.code_versions(), ui_code_versions()
    card = chain.files_version("lib/release/card.py")
    edit_package("lib/release/card.py")
    assert chain.files_version("lib/release/card.py") != card, "the pretended edit is seen"
    assert chain.code_versions() == versions
    assert ui_code_versions() == shown
    assert stale(seeds, data, settings) == {REPORT_ID: (), RESOLUTION_ID: ()}
    result = plan(seeds, data, settings)
    assert result.stages == {} and result.code_stale == []
    assert result.summary().endswith("nothing new, changed or deleted")


def test_the_user_dictionary_makes_tokens_and_what_follows_stale(processed, edit_package):
    seeds, data = processed
    settings = _settings(seeds, data).stamp_settings
    versions, shown = chain.code_versions(), ui_code_versions()
    edit_package("gazetteers/userdict.txt", "\n新词 50 nz\n".encode())
    now, shown_now = chain.code_versions(), ui_code_versions()
    assert now["documents"] == versions["documents"]
    assert now["tokens"] != versions["tokens"] and now["entities"] != versions["entities"]
    # the UI marks the same stages stale as the plan redoes
    assert shown_now == now
    assert {name for name in shown if shown[name] != shown_now[name]} == {"tokens", "entities"}
    assert stale(seeds, data, settings) == {REPORT_ID: ("tokens", "entities"), RESOLUTION_ID: ("tokens", "entities")}
    result = plan(seeds, data, settings)
    assert result.code_stale == KEYS and result.changed == [] and result.added == []
    assert "stale after a code change" in result.summary()
    assert planning.runs(result, KEYS, one_run=False) == [
        planning.RunSpec("document_chain", REPORT_ID, RESOLUTION_ID, ("tokens", "entities"), 2),
        planning.RunSpec("corpus_release")]


def test_changing_a_setting_that_shapes_the_tables_makes_every_stage_stale(processed):
    seeds, data = processed
    same = _settings(seeds, data).stamp_settings
    for other in (_settings(seeds, data, max_bytes=30_000_000), _settings(seeds, data, tokenizer="rjieba")):
        assert other.stamp_settings != same
        assert stale(seeds, data, other.stamp_settings) == {REPORT_ID: chain.NAMES, RESOLUTION_ID: chain.NAMES}
        result = plan(seeds, data, other.stamp_settings)
        assert result.stages == {REPORT_ID: chain.NAMES, RESOLUTION_ID: chain.NAMES}


@pytest.mark.slow
def test_a_build_after_a_dictionary_edit_redoes_only_tokens_and_entities(tmp_path, edit_package):
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        first = build(seeds, data, instance=instance)
        documents_file = {k: work_path(data, "documents", k).stat().st_mtime_ns for k in KEYS}
        edit_package("gazetteers/userdict.txt")
        second = build(seeds, data, instance=instance)
        assert second.processed == KEYS and second.added == []
        chain_run, corpus_run = (instance.get_run_by_id(r) for r in second.runs)
        assert chain_run.job_name == "document_chain" and corpus_run.job_name == "corpus_release"
        assert {k.to_user_string() for k in chain_run.asset_selection} == {"tokens", "entities"}
        # the documents stage did not run again; its files are as the first build left them
        assert {k: work_path(data, "documents", k).stat().st_mtime_ns for k in KEYS} == documents_file
        assert all(stamps.read_stamp(data, k)["stages"] == chain.code_versions() for k in KEYS)
        # a comment in the dictionary changes no token; document_status records the new versions
        assert second.release["created"] is True
        before, after = (manifest_sha256(Path(r.release["path"])) for r in (first, second))
        assert before["tokens/part-00000.parquet"] == after["tokens/part-00000.parquet"]
        assert before["document_status/part-00000.parquet"] != after["document_status/part-00000.parquet"]
        third = build(seeds, data, instance=instance)
        assert third.processed == [] and len(third.runs) == 1


# --- twins and half-built documents -----------------------------------------------------------

@pytest.mark.slow
def test_a_duplicate_stands_for_itself_once_its_twin_is_deleted(tmp_path):
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    settings = {"settings": _settings(seeds, data)}
    with dg.instance_for_test() as instance:
        shutil.copy(seeds / f"{REPORT_ID}.txt", seeds / "zz_copy.txt")
        build(seeds, data, instance=instance, resources=settings)
        latest = data / "releases" / (data / "LATEST").read_text().strip()
        assert read_table(latest, "quarantine").column("reason").to_pylist() == ["duplicate"]
        (seeds / f"{REPORT_ID}.txt").unlink()
        (seeds / f"{REPORT_ID}.meta.json").unlink()
        report = build(seeds, data, instance=instance, resources=settings)
        assert report.removed == [REPORT_ID]
        assert "zz_copy" in report.processed
        assert "no longer duplicates: zz_copy" in report.summary
        latest = data / "releases" / (data / "LATEST").read_text().strip()
        docs = read_table(latest, "documents").column("doc_id").to_pylist()
        assert "zz_copy" in docs and REPORT_ID not in docs
        assert read_table(latest, "quarantine").num_rows == 0


def test_a_document_whose_stages_did_not_all_run_on_its_bytes_stays_out(processed, tmp_path):
    seeds, data = (shutil.copytree(p, tmp_path / p.name) for p in processed)
    (seeds / f"{REPORT_ID}.txt").write_text("第七十四届会议\n\n1. 新的文本。\n", encoding="utf-8")
    # a run has re-read the file and is still at work on its later stages: no new stamp yet
    runner.run_documents([REPORT_ID], ["documents"], data_dir=data, seeds_dir=seeds, workers=1)
    assembled = corpus.assemble(data, KEYS)
    assert assembled.documents.column("doc_id").to_pylist() == [RESOLUTION_ID]
    assert any(REPORT_ID in w and "present bytes" in w for w in assembled.warnings)
    status = {r["doc_id"]: r for r in assembled.status.to_pylist()}
    assert (status[REPORT_ID]["status"], status[REPORT_ID]["reason"]) == ("failed", "incomplete")
    assert status[RESOLUTION_ID]["status"] == "ok"
    # and the plan redoes it whole
    result = plan(seeds, data, _settings(seeds, data).stamp_settings)
    assert result.changed == [REPORT_ID] and result.stages == {REPORT_ID: chain.NAMES}


# --- the sensor's run keys and the documents' ids ---------------------------------------------

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

    with dg.DagsterInstance.ephemeral() as instance:
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
        ids_alone.append(chain.locate_sources(folder).popitem()[0])
    together = tmp_path / "together"
    together.mkdir()
    for name in names:
        (together / name).write_text(f"正文{name}。", encoding="utf-8")
    ids_together = {source.path.name: doc_id for doc_id, (source, _) in chain.locate_sources(together).items()}
    assert [ids_together[n] for n in names] == ids_alone == [doc_id_for(Path(n)) for n in names]
    assert len(set(ids_alone)) == 2
