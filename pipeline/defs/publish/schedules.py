import os

import dagster as dg

from pipeline.defs.documents.sensors import MAX_RUNTIME_TAG, automation_status, run_request
from pipeline.defs.jobs import CORPUS_ASSETS
from pipeline.lib.planning import BUILD_JOB
from pipeline.defs.partitions import documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import planning

CRON = os.environ.get("UNPARL_REBUILD_CRON", "0 3 * * 1")  # Mondays 03:00 by default


@dg.schedule(
    cron_schedule=CRON, job_name=BUILD_JOB,
    default_status=dg.DefaultScheduleStatus.RUNNING
    if automation_status() == dg.DefaultSensorStatus.RUNNING else dg.DefaultScheduleStatus.STOPPED,
    description="Rebuilds the release periodically: documents whose code or bytes changed are "
                "reprocessed, and a release is cut only when the data differ from LATEST's.",
)
def rebuild_release_schedule(context: dg.ScheduleEvaluationContext, settings: UnparlSettings):
    known = context.instance.get_dynamic_partitions(documents_partitions.name)
    plan = planning.plan(settings.seeds_path, settings.data_path, known=set(known), settings=settings.stamp_settings)
    # New files are the sensor's to add; here only the partitions there are.
    plan.stages = {k: v for k, v in plan.stages.items() if k in set(known)}
    stamp = context.scheduled_execution_time.isoformat()
    specs = planning.runs(plan, known, one_run=True)
    if specs and specs[0].start is not None:
        return [run_request(specs[0], f"{stamp}:{specs[0].start}..{specs[0].end}", "schedule", settings)]
    # Nothing stale: the corpus assets alone (a schedule targets one job: build, without partitions).
    return [dg.RunRequest(run_key=stamp, job_name=BUILD_JOB, asset_selection=[dg.AssetKey(k) for k in CORPUS_ASSETS],
                          tags={"unparl/trigger": "schedule",
                                MAX_RUNTIME_TAG: str(settings.run_time_limit(planning.RunSpec(BUILD_JOB)))})]
