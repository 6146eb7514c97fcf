import os

import dagster as dg

from pipeline.build import CORPUS, PER_DOCUMENT, contiguous_ranges
from pipeline.defs.ingest.sensors import automation_status
from pipeline.defs.partitions import documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import stages
from pipeline.lib.ingest import scan_sources

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
    sources = {s.doc_id: s for s in scan_sources(settings.seeds_path)}
    stale = {k for k in order if k in sources and not stages.is_current(settings.data_path, sources[k])}
    stamp = context.scheduled_execution_time.isoformat()
    requests = [
        dg.RunRequest(run_key=f"{stamp}:{start}..{end}",
                      asset_selection=[dg.AssetKey(k) for k in (*PER_DOCUMENT, *CORPUS)],
                      tags={"dagster/asset_partition_range_start": start,
                            "dagster/asset_partition_range_end": end, "unparl/trigger": "schedule"})
        for start, end in contiguous_ranges(order, stale)
    ]
    return requests or [dg.RunRequest(run_key=stamp, asset_selection=[dg.AssetKey(k) for k in CORPUS],
                                      tags={"unparl/trigger": "schedule"})]
