import hashlib
import os

import dagster as dg

from pipeline.build import CORPUS, PER_DOCUMENT, contiguous_ranges
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
    known = set(context.instance.get_dynamic_partitions(documents_partitions.name))
    processed = {k: key for k in known if (key := stages.processed_key(settings.data_path, k))}
    plan = watch.plan(settings.seeds_path, context.cursor, known, processed)
    order = [k for k in context.instance.get_dynamic_partitions(documents_partitions.name)
             if k not in plan.removed] + plan.added
    requests = [
        dg.RunRequest(
            run_key=f"{start}..{end}:{hashlib.sha256(plan.cursor.encode()).hexdigest()[:16]}",
            asset_selection=[dg.AssetKey(k) for k in (*PER_DOCUMENT, *CORPUS)],
            tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end,
                  "unparl/trigger": "new_reports_sensor"},
        )
        for start, end in contiguous_ranges(order, set(plan.to_process))
    ]
    if plan.removed and not requests:
        requests.append(dg.RunRequest(asset_selection=[dg.AssetKey(k) for k in CORPUS],
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
