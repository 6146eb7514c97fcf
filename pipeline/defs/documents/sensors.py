import hashlib
import os

import dagster as dg

from pipeline.defs import jobs
from pipeline.defs.jobs import CORPUS_ASSETS
from pipeline.defs.partitions import documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import planning

MAX_RUNTIME_TAG = "dagster/max_runtime"  # read by the daemon's run monitoring (dagster.yaml's run_monitoring)


def automation_status() -> dg.DefaultSensorStatus:
    off = os.environ.get("UNPARL_AUTOMATION", "on").lower() in ("off", "0", "false", "no")
    return dg.DefaultSensorStatus.STOPPED if off else dg.DefaultSensorStatus.RUNNING


def run_request(spec: planning.RunSpec, run_key: str, trigger: str, settings: UnparlSettings) -> dg.RunRequest:
    """A planned run as Dagster's request: its job, its partition range and its stages, and the
    time after which run monitoring fails it (a run whose process died, then retried)."""
    tags = {"unparl/trigger": trigger, MAX_RUNTIME_TAG: str(settings.run_time_limit(spec))}
    if spec.start is None:
        return dg.RunRequest(run_key=run_key, job_name=spec.job, tags=tags)
    return dg.RunRequest(
        run_key=run_key, job_name=spec.job,
        asset_selection=[dg.AssetKey(k) for k in (*spec.stages, *CORPUS_ASSETS)],
        tags={**tags, "dagster/asset_partition_range_start": spec.start,
              "dagster/asset_partition_range_end": spec.end})


@dg.sensor(
    jobs=[jobs.build, jobs.corpus_release], minimum_interval_seconds=30, default_status=automation_status(),
    description="Watches the seeds folder: adds a partition for each new report, reruns changed ones, "
                "drops deleted ones, and cuts a new release; a file still being written waits a look. "
                "Documents stale after a code change are left to `unparl build` and the weekly schedule.",
)
def new_reports_sensor(context: dg.SensorEvaluationContext, settings: UnparlSettings) -> dg.SensorResult:
    known = context.instance.get_dynamic_partitions(documents_partitions.name)
    plan = planning.plan(settings.seeds_path, settings.data_path, known=set(known), settings=settings.stamp_settings,
                         cursor=context.cursor, wait=True, code_changes=False)
    order = [k for k in known if k not in plan.removed] + plan.added
    # The key names this change (from the previous look to this one), so a file that returns
    # to an earlier state is still processed again.
    change = hashlib.sha256(f"{context.cursor or ''}\n{plan.cursor}".encode()).hexdigest()[:16]
    requests = [run_request(spec, f"{spec.start}..{spec.end}:{change}" if spec.start else f"removed:{change}",
                            "new_reports_sensor", settings)
                for spec in planning.runs(plan, order, one_run=True)]
    partition_requests = []
    if plan.added:
        partition_requests.append(documents_partitions.build_add_request(plan.added))
    if plan.removed:
        # Their rows leave the next release: the corpus reads the partitions there are.
        partition_requests.append(documents_partitions.build_delete_request(plan.removed))
    summary = plan.summary()
    context.log.info(summary)
    if not requests and not partition_requests:
        return dg.SensorResult(skip_reason=dg.SkipReason(summary), cursor=plan.cursor)
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=partition_requests,
                           cursor=plan.cursor)
