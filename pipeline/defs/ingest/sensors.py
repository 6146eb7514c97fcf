import hashlib
import os

import dagster as dg

from pipeline.build import CORPUS, PER_DOCUMENT, covering_range
from pipeline.defs.partitions import documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import stages, watch


def automation_status() -> dg.DefaultSensorStatus:
    off = os.environ.get("UNPARL_AUTOMATION", "on").lower() in ("off", "0", "false", "no")
    return dg.DefaultSensorStatus.STOPPED if off else dg.DefaultSensorStatus.RUNNING


@dg.sensor(
    asset_selection=dg.AssetSelection.assets(*PER_DOCUMENT, *CORPUS),
    minimum_interval_seconds=30, default_status=automation_status(),
    description="Watches the seeds folder: adds a partition for each new report, reruns changed ones, "
                "drops deleted ones, and cuts a new release; a file still being written waits a tick.",
)
def new_reports_sensor(context: dg.SensorEvaluationContext, settings: UnparlSettings) -> dg.SensorResult:
    data = settings.data_path
    known = set(context.instance.get_dynamic_partitions(documents_partitions.name))
    plan = watch.plan(settings.seeds_path, context.cursor, known,
                      lambda doc_id: stages.processed_key(data, doc_id, settings.stamp_settings))
    to_process = set(plan.to_process)
    if plan.removed:
        # A file set aside as a duplicate of a deleted one now stands for itself.
        gone = {raw["source_file"] for k in plan.removed
                if stages.work_path(data, "raw", k).exists() and (raw := stages.read_raw(data, k))}
        to_process |= set(stages.twins_of(data, known - set(plan.removed), gone))
    order = [k for k in context.instance.get_dynamic_partitions(documents_partitions.name)
             if k not in plan.removed] + plan.added
    # The key names this change (from the previous look to this one), so a file that returns
    # to an earlier state is still processed again.
    change = hashlib.sha256(f"{context.cursor or ''}\n{plan.cursor}".encode()).hexdigest()[:16]
    requests = []
    span = covering_range(order, to_process)
    if span is not None:
        requests.append(dg.RunRequest(
            run_key=f"{span[0]}..{span[1]}:{change}",
            asset_selection=[dg.AssetKey(k) for k in (*PER_DOCUMENT, *CORPUS)],
            tags={"dagster/asset_partition_range_start": span[0], "dagster/asset_partition_range_end": span[1],
                  "unparl/trigger": "new_reports_sensor"},
        ))
    elif plan.removed:
        requests.append(dg.RunRequest(run_key=f"removed:{change}", asset_selection=[dg.AssetKey(k) for k in CORPUS],
                                      tags={"unparl/trigger": "new_reports_sensor"}))
    partition_requests = []
    if plan.added:
        partition_requests.append(documents_partitions.build_add_request(plan.added))
    if plan.removed:
        partition_requests.append(documents_partitions.build_delete_request(plan.removed))
    if plan.waiting:
        context.log.info(f"waiting for files still being written: {', '.join(plan.waiting)}")
    if not requests and not partition_requests:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new, changed or deleted reports"),
                               cursor=plan.cursor)
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=partition_requests,
                           cursor=plan.cursor)
