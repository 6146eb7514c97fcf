import os

import dagster as dg

from pipeline.build import CORPUS, PER_DOCUMENT, covering_range
from pipeline.defs.ingest.sensors import automation_status
from pipeline.defs.partitions import documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import stages

CRON = os.environ.get("UNPARL_REBUILD_CRON", "0 3 * * 1")  # Mondays 03:00 by default


@dg.schedule(
    cron_schedule=CRON, target=dg.AssetSelection.assets(*PER_DOCUMENT, *CORPUS),
    default_status=dg.DefaultScheduleStatus.RUNNING
    if automation_status() == dg.DefaultSensorStatus.RUNNING else dg.DefaultScheduleStatus.STOPPED,
    description="Rebuilds the release periodically: documents whose code or bytes changed are "
                "reprocessed, and a release is cut only when the data differ from LATEST's.",
)
def rebuild_release_schedule(context: dg.ScheduleEvaluationContext, settings: UnparlSettings):
    order = context.instance.get_dynamic_partitions(documents_partitions.name)
    located = stages.locate_sources(settings.seeds_path)
    stale = {k for k in order if k in located
             and not stages.is_current(settings.data_path, *located[k], settings.stamp_settings)}
    stamp = context.scheduled_execution_time.isoformat()
    span = covering_range(order, stale)
    if span is None:
        return [dg.RunRequest(run_key=stamp, asset_selection=[dg.AssetKey(k) for k in CORPUS],
                              tags={"unparl/trigger": "schedule"})]
    return [dg.RunRequest(run_key=f"{stamp}:{span[0]}..{span[1]}",
                         asset_selection=[dg.AssetKey(k) for k in (*PER_DOCUMENT, *CORPUS)],
                         tags={"dagster/asset_partition_range_start": span[0],
                               "dagster/asset_partition_range_end": span[1], "unparl/trigger": "schedule"})]
