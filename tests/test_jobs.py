"""Named jobs: every run `unparl build` makes targets a job of the definitions, comes from the code
location `unparl`, and can be re-executed the way the UI does it (GraphQL's
launchPipelineReexecution against the location)."""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import dagster as dg
import pytest
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster_graphql.client.query import LAUNCH_PIPELINE_REEXECUTION_MUTATION
from dagster_graphql.test.utils import execute_dagster_graphql

from pipeline.build import LOCATION, build, location_origin
from pipeline.definitions import defs
from pipeline.defs.jobs import CORPUS_ASSETS
from pipeline.lib import chain
from conftest import REPORT_ID, RESOLUTION_ID, copy_seeds

JOBS = {"document_chain": set(chain.NAMES), "corpus_release": set(CORPUS_ASSETS),
        "build": {*chain.NAMES, *CORPUS_ASSETS}}


@contextmanager
def workspace(instance: dg.DagsterInstance):
    """The project as the webserver loads it (workspace.yaml's module and location name), in this process."""
    origin = location_origin()
    with warnings.catch_warnings():
        # Dagster's own snapshot of a schedule reads its deprecated `environment_vars` (as in pipeline/build.py).
        warnings.filterwarnings("ignore", message="Property `ScheduleDefinition.environment_vars`",
                                category=DeprecationWarning)
        process_context = WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin))
    with process_context:
        yield process_context.create_request_context()


@pytest.mark.parametrize("name", sorted(JOBS))
def test_each_job_selects_its_assets_and_runs_in_one_process(name):
    job = defs().resolve_job_def(name)
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == JOBS[name]
    assert job.executor_def is dg.in_process_executor


@pytest.mark.slow
def test_every_run_of_a_build_names_a_job_of_the_location(built):
    runs = [built.instance.get_run_by_id(run_id) for run_id in built.report.runs]
    assert runs and len(runs) == len(built.instance.get_run_records())
    with workspace(built.instance) as context:
        (repository,) = context.get_code_location(LOCATION).get_repositories().values()
        for run in runs:
            assert run.job_name in JOBS and not run.job_name.startswith("__")
            assert run.remote_job_origin is not None
            assert run.remote_job_origin.location_name == LOCATION
            assert run.remote_job_origin.repository_origin.repository_name == repository.name
            assert repository.has_job(run.job_name), run.job_name
            assert run.tags["dagster/code_location"] == LOCATION


@pytest.mark.slow
# The synchronous test launcher runs the re-executed run inside GraphQL's event loop; the loop's
# clean-up then warns about itself. Dagster's test harness, not the project.
@pytest.mark.filterwarnings("ignore:coroutine 'BaseEventLoop.shutdown_asyncgens' was never awaited:RuntimeWarning")
def test_runs_of_a_build_can_be_reexecuted_as_from_the_ui(tmp_path, monkeypatch):
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    # The re-executed runs read their folders as the UI's runs do: from the definitions' settings.
    monkeypatch.setenv("UNPARL_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("UNPARL_DATA_DIR", str(data))
    with dg.instance_for_test(synchronous_run_coordinator=True, synchronous_run_launcher=True) as instance:
        report = build(seeds, data, instance=instance)
        chain_run, corpus_run = (instance.get_run_by_id(run_id) for run_id in report.runs)
        assert (chain_run.job_name, corpus_run.job_name) == ("document_chain", "corpus_release")
        with workspace(instance) as context:
            for parent in (corpus_run, chain_run):
                # What the UI's "Re-execute all" sends.
                variables = {"reexecutionParams": {"parentRunId": parent.run_id, "strategy": "ALL_STEPS"}}
                launched = execute_dagster_graphql(context, LAUNCH_PIPELINE_REEXECUTION_MUTATION, variables)
                answer = launched.data["launchPipelineReexecution"]
                assert answer["__typename"] == "LaunchRunSuccess", answer
                child = instance.get_run_by_id(answer["run"]["runId"])
                assert child.status == dg.DagsterRunStatus.SUCCESS, child.run_id
                assert (child.job_name, child.parent_run_id) == (parent.job_name, parent.run_id)
                assert child.remote_job_origin.location_name == LOCATION

        reexecuted_chain = [r.dagster_run for r in instance.get_run_records()
                            if r.dagster_run.parent_run_id == chain_run.run_id]
        (child,) = reexecuted_chain
        assert (child.tags["dagster/asset_partition_range_start"], child.tags["dagster/asset_partition_range_end"]) == (
            REPORT_ID, RESOLUTION_ID)
        materialized = instance.fetch_materializations(dg.AssetKey("tokens"), limit=10).records
        assert sorted(r.partition_key for r in materialized if r.run_id == child.run_id) == [REPORT_ID, RESOLUTION_ID]
        # the corpus run again: same data, so no new release
        (release,) = [r for r in instance.fetch_materializations(dg.AssetKey("release"), limit=10).records
                      if instance.get_run_by_id(r.run_id).parent_run_id == corpus_run.run_id]
        assert release.asset_materialization.metadata["created"].value is False
        assert (data / "LATEST").read_text().strip() == report.release["version"]
