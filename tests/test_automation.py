"""The new-report sensor and the rebuild schedule, through Dagster's test contexts: what a tick
sees and says, and the runs it asks for (always a job of the definitions)."""
import datetime
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipeline.build import build
from pipeline.definitions import defs
from pipeline.defs.documents.sensors import new_reports_sensor
from pipeline.defs.jobs import CORPUS_ASSETS
from pipeline.defs.publish.schedules import rebuild_release_schedule
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import chain, planning, runner, stamps
from conftest import CHARTER_FILE, REPORT_ID, RESOLUTION_ID, SEEDS

MONDAY = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)
CHARTER_ID = "UN_Charter.zh"


@pytest.fixture(scope="module")
def jobs() -> set[str]:
    return {job.name for job in defs().jobs}


@pytest.fixture
def folders(tmp_path):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    shutil.copytree(SEEDS, seeds)
    data.mkdir()
    return seeds, data


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> Path:
    """The seeds' work files, as every stage wrote them (outside Dagster), once for the module."""
    data = tmp_path_factory.mktemp("processed") / "data"
    runner.run_documents(sorted(chain.locate_sources(SEEDS)), data_dir=data, seeds_dir=SEEDS, workers=1)
    return data


@pytest.fixture
def stamped(folders, processed):
    """A build's state without Dagster's runs: the work files, each document's stamp, its partition."""
    seeds, data = folders
    shutil.copytree(processed / "work", data / "work")
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))

    def stamp(instance: dg.DagsterInstance) -> UnparlSettings:
        keys = sorted(chain.locate_sources(seeds))
        for key in keys:
            stamps.write_stamp(data, key, chain.NAMES, settings.stamp_settings)
        instance.add_dynamic_partitions("documents", keys)
        return settings

    return stamp


def tick(instance, settings, cursor=None):
    # As a context manager: what the context enters (resources, an instance) it leaves before the test's
    # instance goes, so no later load of the definitions finds a storage that has gone.
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"settings": settings}) as context:
        result = new_reports_sensor(context)
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def schedule(instance, settings) -> list[dg.RunRequest]:
    # A schedule's context needs an instance that can be referred to (not an ephemeral one).
    with dg.build_schedule_context(instance=instance, resources={"settings": settings},
                                   scheduled_execution_time=MONDAY) as context:
        return list(rebuild_release_schedule(context))


def selected(request: dg.RunRequest) -> set[str]:
    return {k.to_user_string() for k in request.asset_selection or []}


def range_of(request: dg.RunRequest) -> tuple[str, str]:
    return request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]


# --- the sensor ---------------------------------------------------------------------------------

def test_a_new_file_waits_one_tick_then_comes_in_a_build_run(folders, jobs):
    seeds, data = folders
    shutil.copy(CHARTER_FILE, seeds)
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.DagsterInstance.ephemeral() as instance:
        first = tick(instance, settings)
        assert first.run_requests == [] and not first.dynamic_partitions_requests
        said = first.skip_reason.skip_message
        assert said.startswith("3 file(s) in the folder")
        assert "waiting" in said and all(key in said for key in (REPORT_ID, RESOLUTION_ID, CHARTER_ID))
        assert set(json.loads(first.cursor)["pending"]) == {REPORT_ID, RESOLUTION_ID, CHARTER_ID}

        second = tick(instance, settings, first.cursor)
        (request,) = second.run_requests  # a burst of files gives one run
        assert request.job_name == "build" and request.job_name in jobs
        assert range_of(request) == (REPORT_ID, CHARTER_ID)
        assert selected(request) == {*chain.NAMES, *CORPUS_ASSETS}
        # run monitoring fails the run after an hour (a minute a document beyond): its process may die unseen
        assert request.tags["dagster/max_runtime"] == "3600"
        (add,) = second.dynamic_partitions_requests
        assert isinstance(add, dg.AddDynamicPartitionsRequest)
        assert sorted(add.partition_keys) == [REPORT_ID, RESOLUTION_ID, CHARTER_ID]
        assert instance.get_dynamic_partitions("documents") == [REPORT_ID, RESOLUTION_ID, CHARTER_ID]
        files = json.loads(second.cursor)["files"]  # the cursor is JSON the instance keeps
        assert set(files) == set(add.partition_keys)
        assert all(len(entry["key"]) == 64 for entry in files.values())

        # A restart reads the stored cursor: nothing is asked again, and the tick says why.
        third = tick(instance, settings, second.cursor)
        assert third.run_requests == [] and not third.dynamic_partitions_requests
        assert third.skip_reason.skip_message == "3 file(s) in the folder; nothing new, changed or deleted"


def test_a_growing_file_waits_and_a_changed_file_reruns_alone(folders, jobs):
    seeds, data = folders
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.DagsterInstance.ephemeral() as instance:
        cursor = tick(instance, settings, tick(instance, settings).cursor).cursor
        growing = seeds / "new_report.txt"
        growing.write_text("第七十五届会议\n\n1. 大会欢迎", encoding="utf-8")
        result = tick(instance, settings, cursor)
        assert result.run_requests == []
        assert "new_report" in result.skip_reason.skip_message
        growing.write_text("第七十五届会议\n\n1. 大会欢迎各国议会联盟的工作。\n", encoding="utf-8")
        result = tick(instance, settings, result.cursor)
        assert result.run_requests == [], "size changed since the last tick: wait"
        result = tick(instance, settings, result.cursor)
        (request,) = result.run_requests
        assert range_of(request) == ("new_report", "new_report")
        cursor = result.cursor

        report = seeds / f"{REPORT_ID}.txt"
        report.write_text(report.read_text(encoding="utf-8") + "\n72. 补充段落。\n", encoding="utf-8")
        result = tick(instance, settings, cursor)  # new size: wait one tick
        assert result.run_requests == []
        result = tick(instance, settings, result.cursor)
        (request,) = result.run_requests
        assert request.job_name in jobs
        assert range_of(request) == (REPORT_ID, REPORT_ID)
        assert not result.dynamic_partitions_requests


def test_a_deleted_file_removes_its_partition_and_reruns_the_corpus(folders, jobs):
    seeds, data = folders
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.DagsterInstance.ephemeral() as instance:
        cursor = tick(instance, settings, tick(instance, settings).cursor).cursor
        (seeds / f"{RESOLUTION_ID}.txt").unlink()
        result = tick(instance, settings, cursor)
        (delete,) = result.dynamic_partitions_requests
        assert isinstance(delete, dg.DeleteDynamicPartitionsRequest)
        assert delete.partition_keys == [RESOLUTION_ID]
        (request,) = result.run_requests
        assert request.job_name == "corpus_release" and request.job_name in jobs
        assert "dagster/asset_partition_range_start" not in request.tags
        assert request.tags["dagster/max_runtime"] == "3600"
        assert instance.get_dynamic_partitions("documents") == [REPORT_ID]


def test_a_large_range_gets_a_minute_a_document_and_the_limits_come_from_the_settings(folders):
    seeds, data = folders
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data), run_seconds_min=100,
                              run_seconds_per_document=45)
    with dg.DagsterInstance.ephemeral() as instance:
        (request,) = tick(instance, settings, tick(instance, settings).cursor).run_requests
    assert request.tags["dagster/max_runtime"] == "100"  # 2 documents: 90 s is under the minimum
    spec = planning.RunSpec("build", "a", "z", documents=5000)
    assert planning.run_time_limit(spec) == 5000 * 60
    assert planning.run_time_limit(planning.RunSpec("corpus_release")) == 3600


def test_documents_stale_after_a_code_change_are_left_to_the_schedule(stamped, edit_package):
    with dg.DagsterInstance.ephemeral() as instance:
        settings = stamped(instance)
        cursor = tick(instance, settings).cursor
        edit_package("gazetteers/userdict.txt")
        result = tick(instance, settings, cursor)
        assert result.run_requests == []
        assert "nothing new, changed or deleted" in result.skip_reason.skip_message


# --- the schedule ---------------------------------------------------------------------------------

def test_schedule_with_nothing_stale_reruns_only_the_corpus(stamped, jobs):
    with dg.instance_for_test() as instance:
        settings = stamped(instance)
        (request,) = schedule(instance, settings)
        assert request.job_name == "build" and request.job_name in jobs
        assert selected(request) == set(CORPUS_ASSETS)
        assert "dagster/asset_partition_range_start" not in request.tags
        assert request.tags["dagster/max_runtime"] == "3600"


def test_schedule_after_a_code_change_reruns_the_stale_stages(stamped, edit_package):
    with dg.instance_for_test() as instance:
        settings = stamped(instance)
        edit_package("gazetteers/userdict.txt")
        (request,) = schedule(instance, settings)
        assert request.job_name == "build"
        assert range_of(request) == (REPORT_ID, RESOLUTION_ID)
        assert selected(request) == {"tokens", "entities", *CORPUS_ASSETS}


def test_schedule_reprocesses_a_document_whose_bytes_changed(folders, stamped):
    seeds, _ = folders
    with dg.instance_for_test() as instance:
        settings = stamped(instance)
        sidecar = seeds / f"{RESOLUTION_ID}.meta.json"
        meta = json.loads(sidecar.read_text())
        meta["title"] = "联合国与各国议会和各国议会联盟的互动"
        sidecar.write_text(json.dumps(meta, ensure_ascii=False))
        (request,) = schedule(instance, settings)
        assert range_of(request) == (RESOLUTION_ID, RESOLUTION_ID)
        assert selected(request) == {*chain.NAMES, *CORPUS_ASSETS}


@pytest.mark.slow
def test_after_a_build_the_sensor_asks_nothing_and_the_schedule_only_the_corpus(folders):
    """What a real build leaves (partitions, stamps) is what the sensor and the schedule read."""
    seeds, data = folders
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.instance_for_test() as instance:
        build(seeds, data, instance=instance, resources={"settings": settings})
        first = tick(instance, settings)
        # Files an earlier build processed are recognised by their bytes at once: no waiting.
        assert json.loads(first.cursor)["pending"] == {}
        assert set(json.loads(first.cursor)["files"]) == {REPORT_ID, RESOLUTION_ID}
        assert first.run_requests == [] and not first.dynamic_partitions_requests
        result = tick(instance, settings, first.cursor)
        assert result.run_requests == [] and not result.dynamic_partitions_requests
        (request,) = schedule(instance, settings)
        assert selected(request) == set(CORPUS_ASSETS)
        assert "dagster/asset_partition_range_start" not in request.tags
