"""Building the corpus through Dagster: a checked release, nothing redone on a rerun, a new
document processed alone, a deleted one gone from the next release; and the CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipeline import build as build_module
from pipeline.build import PER_DOCUMENT, PLANNED_EVENTS_ENV, build, contiguous_ranges
from pipeline.lib import stages
from conftest import CHARTER_FILE, CHECK_RELEASE, REPO, REPORT_ID, RESOLUTION_ID, copy_seeds

CHARTER_ID = "UN_Charter.zh"


def run_check_release(target) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK_RELEASE), str(target)], capture_output=True, text=True,
                          timeout=120)


def raw_partitions_in_run(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    records = instance.fetch_materializations(dg.AssetKey("raw_documents"), limit=1000).records
    return sorted(r.partition_key for r in records if r.run_id == run_id)


def release_table(release, name, columns=None):
    return pq.read_table(release / f"{name}.parquet", columns=columns)


# --- the shared build ------------------------------------------------------------------------

def test_release_folder_exists_and_latest_names_it(built):
    latest = (built.data / "LATEST").read_text().strip()
    assert latest == built.report.release["version"]
    assert built.release.is_dir()
    assert str(built.release) == str(built.report.release["path"])
    for name in ("documents.parquet", "paragraphs.parquet", "sentences.parquet", "tokens.parquet",
                 "quarantine.parquet", "manifest.json", "datapackage.json", "croissant.json", "README.md"):
        assert (built.release / name).is_file(), name


def test_release_passes_the_shared_checker(built):
    result = run_check_release(built.data)
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_report_and_run_history(built):
    assert built.report.added == [REPORT_ID, RESOLUTION_ID]
    assert built.report.processed == [REPORT_ID, RESOLUTION_ID]
    assert built.report.release["created"] is True
    runs = built.instance.get_run_records()
    assert len(runs) >= 2
    assert {r.dagster_run.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert {r.dagster_run.run_id for r in runs} >= set(built.report.runs)
    ranged = [r.dagster_run.tags for r in runs if "dagster/asset_partition_range_start" in r.dagster_run.tags]
    assert ranged == [{"dagster/asset_partition_range_start": REPORT_ID,
                       "dagster/asset_partition_range_end": RESOLUTION_ID, "unparl/trigger": "build"}]
    assert set(built.instance.get_dynamic_partitions("documents")) == {REPORT_ID, RESOLUTION_ID}


def test_release_holds_both_documents_with_their_metadata(built):
    docs = {r["doc_id"]: r for r in release_table(built.release, "documents").to_pylist()}
    assert set(docs) == {REPORT_ID, RESOLUTION_ID}
    report, resolution = docs[REPORT_ID], docs[RESOLUTION_ID]
    assert (report["symbol"], report["doc_type"], report["session"], report["agenda_item"]) == (
        "A/74/759", "report", 74, "125")
    assert (resolution["symbol"], resolution["symbol_in_text"], resolution["date"]) == (
        "A/RES/74/304", "A/RES/74/303", "2020-09-04")
    assert any("A/RES/74/303" in w for w in resolution["warnings"])
    assert report["n_paragraphs"] == 102 and resolution["n_paragraphs"] == 60
    assert len(report["source_sha256"]) == 64
    paragraphs = release_table(built.release, "paragraphs", ["doc_id", "para_id"])
    assert paragraphs.num_rows == 162
    assert "A/74/759:p70(f)" in paragraphs.column("para_id").to_pylist()
    # the data card tells a reader about the conflict
    card = (built.release / "README.md").read_text("utf-8")
    assert "A/RES/74/304" in card and "A/RES/74/303" in card


def test_release_rows_keep_the_offset_invariant(built):
    texts = {r["doc_id"]: r["clean_text"]
             for r in release_table(built.release, "documents", ["doc_id", "clean_text"]).to_pylist()}
    from pipeline.lib import invariants

    for name in ("paragraphs", "sentences", "tokens"):
        passed, details = invariants.offsets_hold(release_table(built.release, name), texts)
        assert passed, (name, details)


@pytest.mark.parametrize("order, selected, ranges", [
    (["a", "b", "c", "d"], {"a", "b", "c", "d"}, [("a", "d")]),
    (["a", "b", "c", "d"], {"b"}, [("b", "b")]),
    (["a", "b", "c", "d"], {"a", "c", "d"}, [("a", "a"), ("c", "d")]),
    (["a", "b"], set(), []),
])
def test_contiguous_ranges(order, selected, ranges):
    assert contiguous_ranges(order, selected) == ranges


# --- incremental builds ----------------------------------------------------------------------

@pytest.fixture
def frozen_code(monkeypatch):
    """Other work on the repository while the suite runs must not look like a code change."""
    fingerprint = stages.code_fingerprint()
    monkeypatch.setattr(stages, "code_fingerprint", lambda: fingerprint)


def planned(instance: dg.DagsterInstance, run_id: str) -> list:
    return [r.event_log_entry.dagster_event.event_specific_data for r in instance.get_records_for_run(run_id).records
            if r.event_log_entry.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED]


def test_a_run_over_many_documents_plans_once_per_asset_and_a_small_run_per_partition(tmp_path, frozen_code,
                                                                                      monkeypatch):
    """Thousands of "planned" events would be written before a big run starts; a small run keeps
    one per partition, so the UI's partitions bar can show its documents failed."""
    monkeypatch.setattr(build_module, "MANY_PARTITIONS", 2)
    monkeypatch.delenv(PLANNED_EVENTS_ENV, raising=False)
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        first = build(seeds, data, instance=instance)
        events = planned(instance, first.runs[0])
        assert len(events) == len(PER_DOCUMENT)
        assert all(e.partition is None and set(e.partitions_subset.get_partition_keys()) == {REPORT_ID, RESOLUTION_ID}
                   for e in events)
        assert PLANNED_EVENTS_ENV not in os.environ  # only while that run was created
        shutil.copy(CHARTER_FILE, seeds / CHARTER_FILE.name)
        third = build(seeds, data, instance=instance)
        assert sorted(e.partition for e in planned(instance, third.runs[0])) == [CHARTER_ID] * len(PER_DOCUMENT)


def test_rerun_add_and_delete(tmp_path, frozen_code):
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        first = build(seeds, data, instance=instance)
        first_version = first.release["version"]
        releases_before = sorted(p.name for p in (data / "releases").iterdir())

        # a second build with nothing new processes nothing and cuts no release
        second = build(seeds, data, instance=instance)
        assert second.processed == [] and second.added == [] and second.removed == []
        assert second.release["created"] is False
        assert "identical" in second.release["reason"]
        assert len(second.runs) == 1  # the corpus assets only
        assert sorted(p.name for p in (data / "releases").iterdir()) == releases_before
        assert (data / "LATEST").read_text().strip() == first_version

        # a third document is processed alone, in a run of its own
        shutil.copy(CHARTER_FILE, seeds / CHARTER_FILE.name)
        third = build(seeds, data, instance=instance)
        assert third.added == [CHARTER_ID] and third.processed == [CHARTER_ID]
        assert len(third.runs) == 2
        assert raw_partitions_in_run(instance, third.runs[0]) == [CHARTER_ID]
        assert third.release["created"] is True and third.release["version"] != first_version
        release = data / "releases" / (data / "LATEST").read_text().strip()
        assert release.name == third.release["version"]
        docs = release_table(release, "documents", ["doc_id"]).column("doc_id").to_pylist()
        assert docs == [REPORT_ID, RESOLUTION_ID, CHARTER_ID] or sorted(docs) == sorted(
            [REPORT_ID, RESOLUTION_ID, CHARTER_ID])
        charter_rows = release_table(release, "paragraphs", ["doc_id"]).column("doc_id").to_pylist().count(CHARTER_ID)
        assert charter_rows > 300
        assert release_table(release, "quarantine").num_rows == 0
        assert run_check_release(data).returncode == 0
        # the first release is immutable
        assert (data / "releases" / first_version / "documents.parquet").exists()
        assert pq.read_table(data / "releases" / first_version / "documents.parquet").num_rows == 2

        # deleting it removes its partition, its work files and its rows from the next release
        (seeds / CHARTER_FILE.name).unlink()
        fourth = build(seeds, data, instance=instance)
        assert fourth.removed == [CHARTER_ID] and fourth.processed == []
        assert CHARTER_ID not in instance.get_dynamic_partitions("documents")
        assert not any(stages.work_path(data, s, CHARTER_ID).exists() for s in stages.STAGES)
        assert fourth.release["created"] is True
        release = data / "releases" / fourth.release["version"]
        for name in ("documents", "paragraphs", "sentences", "tokens", "entities"):
            ids = set(release_table(release, name, ["doc_id"]).column("doc_id").to_pylist())
            assert ids == {REPORT_ID, RESOLUTION_ID}, name
        assert run_check_release(data).returncode == 0

        # an edited sidecar reprocesses that document only; an unreadable new file is quarantined
        # and stops nothing
        sidecar = seeds / f"{REPORT_ID}.meta.json"
        meta = json.loads(sidecar.read_text("utf-8"))
        meta["title"] = "联合国与各国议会和各国议会联盟之间的互动（修订）"
        sidecar.write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        (seeds / "blank.txt").write_bytes(b"\n \n")
        fifth = build(seeds, data, instance=instance)
        assert fifth.added == ["blank"]
        assert fifth.processed == [REPORT_ID, "blank"]
        assert len(fifth.runs) == 3  # two partition ranges (the resolution lies between) and the corpus
        assert raw_partitions_in_run(instance, fifth.runs[0]) == [REPORT_ID]
        assert raw_partitions_in_run(instance, fifth.runs[1]) == ["blank"]
        release = data / "releases" / fifth.release["version"]
        quarantine = release_table(release, "quarantine").to_pylist()
        assert [(q["source_file"], q["reason"]) for q in quarantine] == [("blank.txt", "empty")]
        docs = {r["doc_id"]: r for r in release_table(release, "documents").to_pylist()}
        assert set(docs) == {REPORT_ID, RESOLUTION_ID}
        assert docs[REPORT_ID]["title"].endswith("（修订）")
        assert docs[REPORT_ID]["provenance"]["title"] == "sidecar"
        assert {r.dagster_run.status for r in instance.get_run_records()} == {dg.DagsterRunStatus.SUCCESS}


# --- the command line --------------------------------------------------------------------------

def test_cli_build(tmp_path):
    seeds, data, home = copy_seeds(tmp_path / "seeds"), tmp_path / "data", tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("UNPARL_SEEDS_DIR", None)
    env.pop("UNPARL_DATA_DIR", None)
    result = subprocess.run([sys.executable, "-m", "pipeline", "build", "--seeds", str(seeds), "--data", str(data)],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    version = (data / "LATEST").read_text().strip()
    release = (data / "releases" / version).resolve()
    assert f"release folder: {release}" in out
    assert f"release: {version} (first release)" in out
    for name in ("documents", "paragraphs", "sentences", "tokens", "entities", "quarantine"):
        rows = pq.ParquetFile(release / f"{name}.parquet").metadata.num_rows
        assert f"{name}: {rows:,}" in out, name
    assert "documents: 2," in out and "paragraphs: 162," in out
    assert "A/74/759" in out and "A/RES/74/304" in out
    assert "processed: 2" in out
    assert (home / "dagster.yaml").exists()
    assert run_check_release(data).returncode == 0
    # last, so the checks above still run: the summary shows the release notes (cli.py prints
    # `note:` lines), and the one note of the seeds is the resolution's symbol conflict
    assert "note:" in out and "A/RES/74/303" in out, out
