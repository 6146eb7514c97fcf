"""The Dagster layer: the definitions load cleanly, every asset carries what the UI shows, the
per-document assets are the registry's stages, and a run materialises partitions with each
document's own figures (one document) or the batch's, so labelled (many)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipeline import schemas
from pipeline.definitions import defs
from pipeline.defs.documents.assets import document_stages
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import chain, stamps, workdir
from conftest import CHARTER_FILE, REPO, REPORT_ID, RESOLUTION_ID, copy_seeds

STAGES = ["documents", "tokens", "entities"]
CORPUS = ["corpus", "document_status", "entity_catalog", "corpus_statistics", "release"]
# After the release, apart from it: the ZIP of the newest release (its cost follows the corpus).
ARCHIVE = ["release_archive"]
JOBS = {"document_chain", "corpus_release", "build"}


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


@pytest.fixture(scope="module")
def graph(definitions):
    return definitions.resolve_asset_graph()


def parents(graph, name: str) -> set[str]:
    return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}


# --- what the definitions declare ------------------------------------------------------------

def test_definitions_load_without_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = defs()
        loaded.resolve_asset_graph()
        for job in loaded.jobs:
            loaded.resolve_job_def(job.name)
    assert [str(w.message) for w in caught] == []


@pytest.mark.slow
def test_definitions_import_without_warnings_in_a_fresh_process():
    """Warnings raised while the modules are first imported (decorators) only show in a new process."""
    code = ("from pipeline.definitions import defs\n"
            "d = defs(); d.resolve_asset_graph()\n"
            "[d.resolve_job_def(j.name) for j in d.jobs]\n")
    done = subprocess.run([sys.executable, "-W", "always", "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr


def test_asset_keys_are_the_stages_then_the_corpus(graph):
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == sorted(STAGES + CORPUS + ARCHIVE)
    # the stage assets are the registry's: one name for the asset, the work table and the code
    assert list(chain.NAMES) == STAGES
    for name in STAGES:
        assert name in chain.stage(name).tables


def test_asset_lineage(graph):
    for stage in chain.STAGES:
        assert parents(graph, stage.name) == set(stage.reads), stage.name
    assert parents(graph, "tokens") == {"documents"}
    assert parents(graph, "entities") == {"documents", "tokens"}
    assert parents(graph, "corpus") == set(STAGES)
    assert parents(graph, "document_status") == {"corpus"}
    assert parents(graph, "entity_catalog") == {"corpus"}
    assert parents(graph, "corpus_statistics") == {"corpus", "entity_catalog"}
    # the catalog, the statistics and the status reach the release as its inputs
    assert parents(graph, "release") == {"corpus", "document_status", "entity_catalog", "corpus_statistics"}
    assert parents(graph, "release_archive") == {"release"}


@pytest.mark.parametrize("name", STAGES + CORPUS + ARCHIVE)
def test_asset_carries_group_kinds_owners_code_version_description(graph, name):
    node = graph.get(dg.AssetKey(name))
    assert node.group_name == {"release": "publish", "release_archive": "publish",
                               **dict.fromkeys(STAGES, "documents")}.get(name, "corpus")
    assert {"python", "zip" if name in ARCHIVE else "parquet"} <= node.kinds
    assert node.owners == ["team:unparl"]
    assert node.code_version and isinstance(node.code_version, str)
    assert node.description and len(node.description) > 40


def test_stage_code_versions_are_the_registrys(graph):
    """The UI's code version of a stage is the one its documents' stamps record (one staleness rule)."""
    for name in STAGES:
        assert graph.get(dg.AssetKey(name)).code_version == chain.code_version(name), name
    assert len({chain.code_version(n) for n in STAGES}) == len(STAGES)
    assert "jieba" in graph.get(dg.AssetKey("tokens")).kinds


@pytest.mark.parametrize("name", STAGES)
def test_stage_assets_are_partitioned_by_document_and_run_in_one_step(graph, definitions, name):
    node = graph.get(dg.AssetKey(name))
    assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
    assert node.partitions_def.name == "documents"
    assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assets_def = definitions.get_assets_def(name)
    assert assets_def.op.name == "document_stages" and assets_def.can_subset


@pytest.mark.parametrize("name", CORPUS + ARCHIVE)
def test_corpus_assets_are_not_partitioned(graph, name):
    assert graph.get(dg.AssetKey(name)).partitions_def is None


def test_each_stage_carries_its_registered_checks_and_the_corpus_its_own(graph, definitions):
    declared: dict[str, set[str]] = {}
    for key in graph.asset_check_keys:
        declared.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
    for stage in chain.STAGES:
        assert declared[stage.name] == {c.name for c in stage.all_checks}, stage.name
        assert "completed" in declared[stage.name]
    assert "documents_readable" in declared["documents"]
    assert declared["document_status"] == {"no_quarantined_documents", "no_failed_documents"}
    assert declared["entity_catalog"] == {"entity_ids_unique"}
    assert declared["release"] == {"checksums_match", "tables_in_datapackage", "counts_agree", "ids_unique"}

    def blocking(asset: str) -> dict[str, bool]:
        return {spec.name: spec.blocking for spec in definitions.get_assets_def(asset).check_specs
                if spec.asset_key == dg.AssetKey(asset)}

    # One bad document never stops the release: the checks that name documents do not block...
    assert not blocking("documents")["documents_readable"]
    assert not blocking("documents")["completed"]
    assert not any(blocking("document_status").values())
    # ...while a release that fails its own checks does.
    assert all(blocking("release").values())
    assert blocking("documents")["paragraph_offsets"]


def test_jobs_exist_and_automation_targets_them(definitions):
    assert {job.name for job in definitions.jobs} == JOBS
    for name in JOBS:
        assert definitions.resolve_job_def(name).executor_def is dg.in_process_executor, name
    (sensor,) = definitions.sensors
    assert sensor.name == "new_reports_sensor"
    assert {target.job_name for target in sensor.targets} <= JOBS
    (schedule,) = definitions.schedules
    assert schedule.name == "rebuild_release_schedule" and schedule.job_name in JOBS


def test_settings_resource_is_provided(definitions):
    assert "settings" in definitions.resources


# --- materialising partitions --------------------------------------------------------------

def settings_for(seeds: Path, data: Path) -> dict:
    return {"settings": UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))}


def materialization(result, name):
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == name]
    assert len(events) == 1, name
    return events[0].materialization


def values(materialization) -> dict:
    return {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}


def evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def run_stages(seeds: Path, data: Path, instance, partitions: list[str], *, selection=None, **kwargs):
    instance.add_dynamic_partitions("documents", [p for p in partitions
                                                  if not instance.has_dynamic_partition("documents", p)])
    return dg.materialize([document_stages], instance=instance, resources=settings_for(seeds, data),
                          selection=selection, **kwargs)


@pytest.mark.slow
def test_one_document_shows_its_own_figures_with_checks_passing(tmp_path):
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("documents", [REPORT_ID])
        result = run_stages(seeds, data, instance, [RESOLUTION_ID], partition_key=RESOLUTION_ID)
        assert result.success
        checked = evaluations(result)
        assert set(checked) == {(s.name, c.name) for s in chain.STAGES for c in s.all_checks}
        assert [key for key, e in checked.items() if not e.passed] == []

        documents = materialization(result, "documents")
        assert documents.partition == RESOLUTION_ID
        meta = values(documents)
        assert meta["dagster/row_count"] == 1 and meta["status"] == "ok"
        assert meta["rows"]["paragraphs"] == 60
        assert meta["by_kind/operative"] == 24
        assert meta["footnotes_moved"] == 9
        assert "A/RES/74/303" in meta["warnings"]
        assert "A/RES/74/304" in meta["preview"]
        assert not any(k.startswith("batch/") for k in meta)
        tokens = values(materialization(result, "tokens"))
        assert tokens["dagster/row_count"] == pq.read_metadata(
            workdir.work_path(data, "tokens", RESOLUTION_ID)).num_rows > 1000
        assert tokens["backend"].startswith("jieba")
    # only the requested partition was written, and its stamp says every stage ran
    assert [p.name for p in (data / "work" / "paragraphs").iterdir()] == [f"{RESOLUTION_ID}.parquet"]
    assert pq.read_schema(workdir.work_path(data, "paragraphs", RESOLUTION_ID)).equals(
        schemas.PARAGRAPHS, check_metadata=False)
    assert set(stamps.read_stamp(data, RESOLUTION_ID)["stages"]) == set(STAGES)
    assert stamps.read_stamp(data, REPORT_ID) is None


@pytest.mark.slow
def test_one_stage_can_be_materialised_alone_and_again(tmp_path):
    """The UI can select one stage asset (the multi-asset is subsettable); a rerun replaces its rows."""
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        for _ in range(2):
            result = run_stages(seeds, data, instance, [REPORT_ID], selection=["documents"], partition_key=REPORT_ID)
            assert result.success
            assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {"documents"}
        meta = values(materialization(result, "documents"))
        # 101: the unnumbered block after paragraph 45 is its continuation, part of A/74/759:p45.
        assert meta["rows"]["paragraphs"] == 101
        assert meta["page_breaks_rejoined"] == 6
        kinds = {k.removeprefix("by_kind/"): v for k, v in meta.items() if k.startswith("by_kind/")}
        assert kinds == {"front_matter": 5, "heading": 19, "numbered": 71, "list_item": 6}
        assert {e.asset_key.to_user_string() for e in result.get_asset_check_evaluations()} == {"documents"}
    assert pq.read_metadata(workdir.work_path(data, "paragraphs", REPORT_ID)).num_rows == 101
    assert not workdir.work_path(data, "tokens", REPORT_ID).exists()
    assert set(stamps.read_stamp(data, REPORT_ID)["stages"]) == {"documents"}


@pytest.mark.slow
def test_a_partition_range_runs_once_shows_batch_figures_and_matches_the_build(tmp_path, built):
    """A run over two documents labels its figures as the batch's; its work files are
    byte-identical to another build's (stable ids, no timestamps)."""
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        result = run_stages(seeds, data, instance, [REPORT_ID, RESOLUTION_ID], tags={
            "dagster/asset_partition_range_start": REPORT_ID, "dagster/asset_partition_range_end": RESOLUTION_ID})
        assert result.success
        assert len(instance.get_run_records()) == 1
        events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "tokens"]
        assert {e.partition for e in events} == {REPORT_ID, RESOLUTION_ID}
        for event in events:
            meta = values(event.materialization)
            assert "dagster/row_count" not in meta and "preview" not in meta and "status" not in meta
            assert meta["batch/documents"] == 2
            assert meta["batch/rows_by_document"] == {
                doc: pq.read_metadata(workdir.work_path(data, "tokens", doc)).num_rows
                for doc in (REPORT_ID, RESOLUTION_ID)}
            assert "#18123" in meta["batch/note"]
    for table in workdir.TABLES:
        for doc_id in (REPORT_ID, RESOLUTION_ID):
            ours = workdir.work_path(data, table, doc_id).read_bytes()
            theirs = workdir.work_path(built.data, table, doc_id).read_bytes()
            assert ours == theirs, (table, doc_id)
    ids = pq.read_table(workdir.work_path(data, "paragraphs", REPORT_ID), columns=["para_id"])
    assert ids.column("para_id").to_pylist()[:3] == ["A/74/759:fm1", "A/74/759:fm2", "A/74/759:fm3"]


@pytest.mark.slow
def test_a_quarantined_document_fails_a_warning_check_naming_it(tmp_path):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    (seeds / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with dg.instance_for_test() as instance:
        result = run_stages(seeds, data, instance, ["scan"], partition_key="scan")
        assert result.success, "one unreadable file never fails the run"
        readable = evaluations(result)[("documents", "documents_readable")]
        assert not readable.passed and readable.severity == dg.AssetCheckSeverity.WARN
        named = readable.metadata["documents"].value
        assert "scan" in named and "binary" in named
        assert [k for k, e in evaluations(result).items() if not e.passed] == [("documents", "documents_readable")]
        documents = values(materialization(result, "documents"))
        assert documents["status"].startswith("quarantined (binary)")
        assert documents["rows"]["paragraphs"] == 0
        assert values(materialization(result, "tokens"))["dagster/row_count"] == 0
    raw = chain.read_raw(data, "scan")
    assert (raw["status"], raw["reason"]) == ("quarantined", "binary")


@pytest.mark.slow
def test_a_new_kind_of_document_goes_through_every_check(tmp_path):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    shutil.copy(CHARTER_FILE, seeds / CHARTER_FILE.name)
    with dg.instance_for_test() as instance:
        result = run_stages(seeds, data, instance, ["UN_Charter.zh"], partition_key="UN_Charter.zh")
        assert result.success
        assert values(materialization(result, "documents"))["status"] == "ok"
        assert [k for k, e in evaluations(result).items() if not e.passed] == []
