"""The new-report sensor and the rebuild schedule, through Dagster's test contexts."""
import datetime
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipeline.build import CORPUS, build
from pipeline.defs.ingest.sensors import new_reports_sensor
from pipeline.defs.publish.schedules import rebuild_release_schedule
from pipeline.defs.resources import UnparlSettings

MONDAY = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


@pytest.fixture
def folders(tmp_path):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    shutil.copytree(SEEDS, seeds)
    data.mkdir()
    return seeds, data


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


def test_new_files_wait_one_tick_then_come_as_one_run(folders):
    seeds, data = folders
    shutil.copy(SAMPLES / "UN_Charter.zh.txt", seeds)
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.instance_for_test() as instance:
        first = tick(instance, settings)
        assert first.run_requests == []
        assert set(json.loads(first.cursor)["pending"]) == {
            "000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0", "UN_Charter.zh"}
        second = tick(instance, settings, first.cursor)
        assert len(second.run_requests) == 1, "a burst of files gives one run"
        request = second.run_requests[0]
        assert request.tags["dagster/asset_partition_range_start"] == "000_9d28c16df01d42a8"
        assert request.tags["dagster/asset_partition_range_end"] == "UN_Charter.zh"
        assert {k.to_user_string() for k in request.asset_selection} >= set(CORPUS)
        (add,) = second.dynamic_partitions_requests
        assert sorted(add.partition_keys) == ["000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0", "UN_Charter.zh"]
        files = json.loads(second.cursor)["files"]
        assert set(files) == set(add.partition_keys)
        assert all(len(entry["key"]) == 64 for entry in files.values())
        # A restart reads the stored cursor: nothing is asked again.
        third = tick(instance, settings, second.cursor)
        assert third.run_requests == [] and not third.dynamic_partitions_requests


def test_growing_file_waits_and_changed_file_reruns_alone(folders):
    seeds, data = folders
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.instance_for_test() as instance:
        cursor = tick(instance, settings, tick(instance, settings).cursor).cursor
        growing = seeds / "new_report.txt"
        growing.write_text("第七十五届会议\n\n1. 大会欢迎", encoding="utf-8")
        result = tick(instance, settings, cursor)
        assert result.run_requests == []
        growing.write_text("第七十五届会议\n\n1. 大会欢迎各国议会联盟的工作。\n", encoding="utf-8")
        result = tick(instance, settings, result.cursor)
        assert result.run_requests == [], "size changed since the last tick: wait"
        result = tick(instance, settings, result.cursor)
        (request,) = result.run_requests
        assert request.tags["dagster/asset_partition_range_start"] == "new_report"
        assert request.tags["dagster/asset_partition_range_end"] == "new_report"
        cursor = result.cursor

        report = seeds / "000_9d28c16df01d42a8.txt"
        report.write_text(report.read_text(encoding="utf-8") + "\n72. 补充段落。\n", encoding="utf-8")
        result = tick(instance, settings, cursor)  # new size: wait one tick
        result = tick(instance, settings, result.cursor)
        (request,) = result.run_requests
        assert (request.tags["dagster/asset_partition_range_start"],
                request.tags["dagster/asset_partition_range_end"]) == ("000_9d28c16df01d42a8",) * 2
        assert not result.dynamic_partitions_requests


def test_deleted_file_removes_its_partition_and_reruns_the_corpus(folders):
    seeds, data = folders
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.instance_for_test() as instance:
        cursor = tick(instance, settings, tick(instance, settings).cursor).cursor
        (seeds / "001_5d5ca6e1adb1dee0.txt").unlink()
        result = tick(instance, settings, cursor)
        (delete,) = result.dynamic_partitions_requests
        assert isinstance(delete, dg.DeleteDynamicPartitionsRequest)
        assert delete.partition_keys == ["001_5d5ca6e1adb1dee0"]
        (request,) = result.run_requests
        assert {k.to_user_string() for k in request.asset_selection} == set(CORPUS)
        assert instance.get_dynamic_partitions("documents") == ["000_9d28c16df01d42a8"]


def test_sensor_after_a_build_reprocesses_nothing_and_schedule_only_reruns_the_corpus(folders):
    seeds, data = folders
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.instance_for_test() as instance:
        build(seeds, data, instance=instance, resources={"settings": settings})
        first = tick(instance, settings)
        # Files an earlier build processed are recognised by their bytes at once: no waiting.
        assert json.loads(first.cursor)["pending"] == {}
        assert set(json.loads(first.cursor)["files"]) == {"000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0"}
        result = tick(instance, settings, first.cursor)
        assert result.run_requests == [] and not result.dynamic_partitions_requests

        with dg.build_schedule_context(instance=instance, resources={"settings": settings},
                                       scheduled_execution_time=MONDAY) as context:
            requests = rebuild_release_schedule(context)
        (request,) = requests
        assert {k.to_user_string() for k in request.asset_selection} == set(CORPUS)
        assert "dagster/asset_partition_range_start" not in request.tags


def test_schedule_reprocesses_documents_whose_bytes_changed(folders):
    seeds, data = folders
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.instance_for_test() as instance:
        build(seeds, data, instance=instance, resources={"settings": settings})
        sidecar = seeds / "001_5d5ca6e1adb1dee0.meta.json"
        meta = json.loads(sidecar.read_text())
        meta["title"] = "联合国与各国议会和各国议会联盟的互动"
        sidecar.write_text(json.dumps(meta, ensure_ascii=False))
        with dg.build_schedule_context(instance=instance, resources={"settings": settings},
                                       scheduled_execution_time=MONDAY) as context:
            (request,) = rebuild_release_schedule(context)
        assert request.tags["dagster/asset_partition_range_start"] == "001_5d5ca6e1adb1dee0"
        assert request.tags["dagster/asset_partition_range_end"] == "001_5d5ca6e1adb1dee0"
