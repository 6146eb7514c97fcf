"""Building the corpus through Dagster: a checked release, what the UI shows for a batch and for
one document, nothing redone on a rerun, a new document processed alone, a deleted one gone
from the next release; and the CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import dagster as dg
import pytest

from pipeline import build as build_module
from pipeline.build import PLANNED_EVENTS_ENV, build
from pipeline.lib import chain, planning, stamps, workdir
from conftest import CHARTER_FILE, CHECK_RELEASE, REPO, REPORT_ID, RESOLUTION_ID, copy_seeds
from pipeline.lib.release.cut import read_table, table_rows

CHARTER_ID = "UN_Charter.zh"


def run_check_release(target) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK_RELEASE), str(target)], capture_output=True, text=True,
                          timeout=120)


def partitions_in_run(instance: dg.DagsterInstance, run_id: str, asset: str = "documents") -> list[str]:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
    return sorted(r.partition_key for r in records if r.run_id == run_id)


def latest(instance: dg.DagsterInstance, asset: str, partition: str) -> dict:
    """The metadata the UI shows on a partition's page: its latest materialisation's."""
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1,
        ascending=False).records
    return {k: getattr(v, "value", v) for k, v in record.asset_materialization.metadata.items()}


def release_table(release, name, columns=None):
    return read_table(release, name, columns=columns)


def rows_by_document(release, name: str) -> dict[str, int]:
    ids = release_table(release, name, ["doc_id"]).column("doc_id").to_pylist()
    return {doc: ids.count(doc) for doc in set(ids)}


# --- the shared build ------------------------------------------------------------------------

@pytest.mark.slow
def test_release_folder_exists_and_latest_names_it(built):
    latest_version = (built.data / "LATEST").read_text().strip()
    assert latest_version == built.report.release["version"]
    assert built.release.is_dir()
    assert str(built.release) == str(built.report.release["path"])
    for name in ("documents/part-00000.parquet", "paragraphs/part-00000.parquet", "sentences/part-00000.parquet",
                 "tokens/part-00000.parquet", "entities/part-00000.parquet", "quarantine/part-00000.parquet",
                 "document_status/part-00000.parquet", "jsonl/documents/part-00000.jsonl",
                 "conllu/part-00000.conllu", "manifest.json", "datapackage.json",
                 "croissant.json", "README.md"):
        assert (built.release / name).is_file(), name


@pytest.mark.slow
def test_release_passes_the_shared_checker(built):
    result = run_check_release(built.data)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_build_report_and_run_history(built):
    assert built.report.added == [REPORT_ID, RESOLUTION_ID]
    assert built.report.processed == [REPORT_ID, RESOLUTION_ID]
    assert built.report.release["created"] is True
    runs = [built.instance.get_run_by_id(run_id) for run_id in built.report.runs]
    # one run of the per-document chain over the range of both documents, then the corpus and release
    assert [r.job_name for r in runs] == ["document_chain", "corpus_release"]
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    chain_run, corpus_run = runs
    assert {k: chain_run.tags[k] for k in ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end",
                                           "unparl/trigger")} == {
        "dagster/asset_partition_range_start": REPORT_ID, "dagster/asset_partition_range_end": RESOLUTION_ID,
        "unparl/trigger": "build"}
    assert "dagster/asset_partition_range_start" not in corpus_run.tags
    assert partitions_in_run(built.instance, chain_run.run_id) == [REPORT_ID, RESOLUTION_ID]
    assert set(built.instance.get_dynamic_partitions("documents")) == {REPORT_ID, RESOLUTION_ID}
    assert REPORT_ID in built.report.summary and "new" in built.report.summary


@pytest.mark.slow
def test_a_batch_run_labels_its_figures_as_the_batchs(built):
    """A run over both documents puts no document's rows or count on the other's page."""
    tokens = rows_by_document(built.release, "tokens")
    for doc in (REPORT_ID, RESOLUTION_ID):
        meta = latest(built.instance, "tokens", doc)
        assert "dagster/row_count" not in meta and "preview" not in meta
        assert meta["batch/documents"] == 2
        assert meta["batch/rows_by_document"] == tokens
        assert meta["batch/status"] == {"ok": 2}
    assert tokens[REPORT_ID] != tokens[RESOLUTION_ID]


@pytest.mark.slow
def test_document_status_is_a_table_of_where_each_document_stands(built):
    status = {r["doc_id"]: r for r in release_table(built.release, "document_status").to_pylist()}
    assert set(status) == {REPORT_ID, RESOLUTION_ID}
    tokens = rows_by_document(built.release, "tokens")
    for doc, row in status.items():
        assert row["status"] == "ok" and row["n_tokens"] == tokens[doc]
        assert f"tokens={chain.code_version('tokens')}" in row["code_version"]
    (record,) = built.instance.fetch_materializations(dg.AssetKey("document_status"), limit=1).records
    meta = record.asset_materialization.metadata
    assert meta["dagster/row_count"].value == 2
    assert meta["by_status"].value == {"ok": 2, "quarantined": 0, "failed": 0}


@pytest.mark.slow
def test_release_holds_both_documents_with_their_metadata(built):
    docs = {r["doc_id"]: r for r in release_table(built.release, "documents").to_pylist()}
    assert set(docs) == {REPORT_ID, RESOLUTION_ID}
    report, resolution = docs[REPORT_ID], docs[RESOLUTION_ID]
    assert (report["symbol"], report["doc_type"], report["session"], report["agenda_item"]) == (
        "A/74/759", "report", 74, "125")
    assert (resolution["symbol"], resolution["symbol_in_text"], resolution["date"]) == (
        "A/RES/74/304", "A/RES/74/303", "2020-09-04")
    assert any("A/RES/74/303" in w for w in resolution["warnings"])
    # 101: the unnumbered block after paragraph 45 is part of A/74/759:p45 (its continuation).
    assert report["n_paragraphs"] == 101 and resolution["n_paragraphs"] == 60
    assert len(report["source_sha256"]) == 64
    paragraphs = release_table(built.release, "paragraphs", ["doc_id", "para_id"])
    assert paragraphs.num_rows == 161
    assert "A/74/759:p70(f)" in paragraphs.column("para_id").to_pylist()
    assert "A/74/759:p45.2" not in paragraphs.column("para_id").to_pylist()
    # the data card tells a reader about the conflict
    card = (built.release / "README.md").read_text("utf-8")
    assert "A/RES/74/304" in card and "A/RES/74/303" in card


@pytest.mark.slow
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
    assert planning.contiguous_ranges(order, selected) == ranges


# --- incremental builds ----------------------------------------------------------------------

def planned(instance: dg.DagsterInstance, run_id: str) -> list:
    return [r.event_log_entry.dagster_event.event_specific_data for r in instance.get_records_for_run(run_id).records
            if r.event_log_entry.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED]


@pytest.mark.slow
def test_rerun_add_and_delete(tmp_path, monkeypatch):
    # Runs of many documents record one "planned" event per asset, small runs one per partition
    # (so the UI's partitions bar can show their documents failed): two documents count as many here.
    monkeypatch.setattr(build_module, "MANY_PARTITIONS", 2)
    monkeypatch.delenv(PLANNED_EVENTS_ENV, raising=False)
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        first = build(seeds, data, instance=instance)
        first_version = first.release["version"]
        releases_before = sorted(p.name for p in (data / "releases").iterdir())
        events = planned(instance, first.runs[0])
        assert len(events) == len(chain.NAMES)
        assert all(e.partition is None and set(e.partitions_subset.get_partition_keys()) == {REPORT_ID, RESOLUTION_ID}
                   for e in events)
        assert PLANNED_EVENTS_ENV not in os.environ  # only while that run was created

        # a second build with nothing new processes nothing and cuts no release
        second = build(seeds, data, instance=instance)
        assert second.processed == [] and second.added == [] and second.removed == []
        assert "nothing new, changed or deleted" in second.summary
        assert second.release["created"] is False
        assert "identical" in second.release["reason"]
        assert [instance.get_run_by_id(r).job_name for r in second.runs] == ["corpus_release"]
        assert sorted(p.name for p in (data / "releases").iterdir()) == releases_before
        assert (data / "LATEST").read_text().strip() == first_version

        # a third document is processed alone, in a run of its own, and its page shows its own figures
        shutil.copy(CHARTER_FILE, seeds / CHARTER_FILE.name)
        third = build(seeds, data, instance=instance)
        assert third.added == [CHARTER_ID] and third.processed == [CHARTER_ID]
        assert len(third.runs) == 2
        assert partitions_in_run(instance, third.runs[0]) == [CHARTER_ID]
        assert sorted(e.partition for e in planned(instance, third.runs[0])) == [CHARTER_ID] * len(chain.NAMES)
        assert third.release["created"] is True and third.release["version"] != first_version
        release = data / "releases" / (data / "LATEST").read_text().strip()
        assert release.name == third.release["version"]
        tokens = rows_by_document(release, "tokens")
        charter = latest(instance, "tokens", CHARTER_ID)
        assert charter["dagster/row_count"] == tokens[CHARTER_ID]
        assert charter["status"] == "ok" and not any(k.startswith("batch/") for k in charter)
        assert latest(instance, "documents", CHARTER_ID)["rows"]["paragraphs"] == rows_by_document(
            release, "paragraphs")[CHARTER_ID] > 300
        # the documents of the earlier batch keep the batch's figures
        assert latest(instance, "tokens", REPORT_ID)["batch/documents"] == 2
        docs = release_table(release, "documents", ["doc_id"]).column("doc_id").to_pylist()
        assert sorted(docs) == sorted([REPORT_ID, RESOLUTION_ID, CHARTER_ID])
        assert release_table(release, "quarantine").num_rows == 0
        assert run_check_release(data).returncode == 0
        # the first release is immutable
        assert read_table(data / "releases" / first_version, "documents").num_rows == 2

        # deleting it removes its partition, its work files and its rows from the next release
        (seeds / CHARTER_FILE.name).unlink()
        fourth = build(seeds, data, instance=instance)
        assert fourth.removed == [CHARTER_ID] and fourth.processed == []
        assert CHARTER_ID not in instance.get_dynamic_partitions("documents")
        assert not any(workdir.work_path(data, t, CHARTER_ID).exists() for t in workdir.TABLES)
        assert stamps.read_stamp(data, CHARTER_ID) is None
        assert fourth.release["created"] is True
        release = data / "releases" / fourth.release["version"]
        for name in ("documents", "paragraphs", "sentences", "tokens", "entities", "document_status"):
            ids = set(release_table(release, name, ["doc_id"]).column("doc_id").to_pylist())
            assert ids == {REPORT_ID, RESOLUTION_ID}, name
        assert run_check_release(data).returncode == 0

        # an edited sidecar reprocesses that document only; an unreadable new file is quarantined,
        # says so on its own page, and stops nothing
        sidecar = seeds / f"{REPORT_ID}.meta.json"
        meta = json.loads(sidecar.read_text("utf-8"))
        meta["title"] = "联合国与各国议会和各国议会联盟之间的互动（修订）"
        sidecar.write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        (seeds / "blank.txt").write_bytes(b"\n \n")
        fifth = build(seeds, data, instance=instance)
        assert fifth.added == ["blank"]
        assert fifth.processed == [REPORT_ID, "blank"]
        assert len(fifth.runs) == 3  # two partition ranges (the resolution lies between) and the corpus
        assert partitions_in_run(instance, fifth.runs[0]) == [REPORT_ID]
        assert partitions_in_run(instance, fifth.runs[1]) == ["blank"]
        release = data / "releases" / fifth.release["version"]
        assert latest(instance, "tokens", REPORT_ID)["dagster/row_count"] == rows_by_document(release, "tokens")[REPORT_ID]
        assert latest(instance, "documents", "blank")["status"].startswith("quarantined (empty)")
        quarantine = release_table(release, "quarantine").to_pylist()
        assert [(q["source_file"], q["reason"]) for q in quarantine] == [("blank.txt", "empty")]
        docs = {r["doc_id"]: r for r in release_table(release, "documents").to_pylist()}
        assert set(docs) == {REPORT_ID, RESOLUTION_ID}
        assert docs[REPORT_ID]["title"].endswith("（修订）")
        assert docs[REPORT_ID]["provenance"]["title"] == "sidecar"
        assert {r.dagster_run.status for r in instance.get_run_records()} == {dg.DagsterRunStatus.SUCCESS}


# --- the command line --------------------------------------------------------------------------

@pytest.mark.slow
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
        rows = table_rows(release, name)
        assert f"{name}: {rows:,}" in out, name
    assert "documents: 2," in out and "paragraphs: 161," in out
    assert "A/74/759" in out and "A/RES/74/304" in out
    assert "processed: 2" in out
    assert (home / "dagster.yaml").exists()
    assert run_check_release(data).returncode == 0
    # the runs are in the instance the CLI named, under the definitions' own jobs
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert sorted(r.dagster_run.job_name for r in instance.get_run_records()) == ["corpus_release", "document_chain"]
    # last, so the checks above still run: the summary shows the release notes (cli.py prints
    # `note:` lines), and the one note of the seeds is the resolution's symbol conflict
    assert "note:" in out and "A/RES/74/303" in out, out
