"""What production relies on, checked without a database or a cluster.

The Postgres instance config in docs/production is validated against Dagster's own instance
schema (the same code `dagster-webserver` and the daemon run at start-up) and names a driver
that is installed, the Celery workers' config fits dagster-celery's, the executor the
definitions ship with is the one the README promises (and UNPARL_EXECUTOR=celery the other), and
`dg check defs` loads the project with its location name agreeing between workspace.yaml and
pyproject.toml (those two start processes: the slow tier). The same files are run for real, on
a throwaway Postgres, Redis and Celery workers, by the production tier (tests/production).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance import DagsterInstance
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.config import pg_config

from conftest import REPO

POSTGRES_YAML = REPO / "docs" / "production" / "dagster.postgres.yaml"
PG_ENV = {"DAGSTER_PG_HOST": "db.internal", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_DB": "dagster",
          "DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": "not-a-real-password"}
LOCATION_MISMATCH = "does not match the name"


@pytest.fixture
def postgres_home(tmp_path) -> Path:
    shutil.copy(POSTGRES_YAML, tmp_path / "dagster.yaml")
    return tmp_path


def test_postgres_instance_config_fits_dagsters_schema(postgres_home):
    config, custom_class = dagster_instance_config(str(postgres_home))
    assert custom_class is None
    assert set(config["storage"]) == {"postgres"}
    assert config["concurrency"]["runs"]["max_concurrent_runs"] >= 1


def test_runs_events_and_schedules_all_live_in_postgres(postgres_home):
    # Resolving the instance ref names the storage classes without importing or connecting to them.
    ref = InstanceRef.from_dir(str(postgres_home))
    stores = {"storage": ref.storage_data, "runs": ref.run_storage_data,
              "event_log": ref.event_storage_data, "schedules": ref.schedule_storage_data}
    assert {name: data.module_name for name, data in stores.items()} == dict.fromkeys(stores, "dagster_postgres")
    assert {name: data.class_name for name, data in stores.items()} == {
        "storage": "DagsterPostgresStorage", "runs": "PostgresRunStorage",
        "event_log": "PostgresEventLogStorage", "schedules": "PostgresScheduleStorage"}
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"


def test_everything_but_the_storage_configures_a_real_instance(tmp_path):
    # The same file with SQLite in place of Postgres: the queue, pools, monitoring and retries
    # are read by a real DagsterInstance, which needs no database server.
    config = yaml.safe_load(POSTGRES_YAML.read_text())
    config["storage"] = {"sqlite": {"base_dir": str(tmp_path)}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        assert concurrency.pool_config.default_pool_limit == 1
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
    finally:
        instance.dispose()


def test_the_release_asset_is_in_the_pool_the_instance_limits():
    from pipeline.defs.publish.assets import RELEASE_POOL
    from pipeline.definitions import defs

    assert defs().get_assets_def("release").op.pool == RELEASE_POOL
    pools = yaml.safe_load(POSTGRES_YAML.read_text())["concurrency"]["pools"]
    assert pools.get("default_limit") == 1, "an unconfigured pool such as the release's gets one slot"


def test_postgres_credentials_come_only_from_the_environment(monkeypatch):
    postgres = yaml.safe_load(POSTGRES_YAML.read_text())["storage"]["postgres"]
    connection = postgres["postgres_db"]
    for field in ("hostname", "port", "db_name", "username", "password"):
        assert set(connection[field]) == {"env"}, f"{field} is written in the file, not read from the environment"
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    resolved = process_config(pg_config(), postgres)
    assert resolved.success, resolved.errors
    assert resolved.value["postgres_db"]["port"] == 5432
    assert resolved.value["postgres_db"]["password"] == PG_ENV["DAGSTER_PG_PASSWORD"]


def test_the_postgres_url_names_an_installed_driver(monkeypatch):
    """SQLAlchemy 2.x reads a bare `postgresql://` as psycopg 3, which is not installed (and whose
    NOTIFY Dagster's event log cannot use): the file names psycopg2, which the extra installs."""
    import sqlalchemy
    from dagster_postgres.utils import pg_url_from_config

    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    postgres = yaml.safe_load(POSTGRES_YAML.read_text())["storage"]["postgres"]
    url = pg_url_from_config(process_config(pg_config(), postgres).value)
    assert url.startswith("postgresql+psycopg2://dagster:not-a-real-password@db.internal:5432/dagster")
    engine = sqlalchemy.create_engine(url)
    try:
        assert engine.dialect.driver == "psycopg2"
    finally:
        engine.dispose()


def test_the_celery_workers_config_fits_dagster_celery(monkeypatch):
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("UNPARL_CELERY_BROKER", "redis://broker.internal:6379/0")
    monkeypatch.setenv("UNPARL_CELERY_BACKEND", "redis://broker.internal:6379/1")
    config = get_validated_config(str(REPO / "docs" / "production" / "celery.yaml"))
    assert (config["broker"], config["backend"]) == ("redis://broker.internal:6379/0", "redis://broker.internal:6379/1")


def test_unparl_executor_celery_sends_the_steps_to_celery(monkeypatch):
    from pipeline.defs.jobs import run_executor

    monkeypatch.setenv("UNPARL_EXECUTOR", "celery")
    monkeypatch.setenv("UNPARL_CELERY_BROKER", "redis://broker.internal:6379/0")
    monkeypatch.delenv("UNPARL_CELERY_BACKEND", raising=False)
    executor = run_executor()
    assert executor.name == "celery"
    monkeypatch.delenv("UNPARL_CELERY_BROKER")
    with pytest.raises(ValueError, match="UNPARL_CELERY_BROKER"):
        run_executor()
    monkeypatch.setenv("UNPARL_EXECUTOR", "dask")
    with pytest.raises(ValueError, match="'in_process' .* and 'celery'"):
        run_executor()


def test_every_run_runs_its_steps_in_the_run_process():
    """README, Production: the per-document chain is one step with its own worker pool, so the
    jobs (and the UI's ad hoc asset runs) use the in-process executor; a run scales by its cores."""
    from pipeline.definitions import defs

    definitions = defs()
    assert definitions.executor.name == "in_process"
    assert definitions.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"
    for job in definitions.jobs:
        assert definitions.resolve_job_def(job.name).executor_def.name == "in_process", job.name


def test_workspace_and_dg_project_agree_on_the_location_name():
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = pyproject["tool"]["dg"]["project"]
    assert entry["python_module"]["module_name"] == f"{project['root_module']}.definitions"
    assert entry["python_module"]["location_name"] == project["code_location_name"]


def _dagster_env(tmp_path: Path) -> dict:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    venv_bin = str(Path(sys.executable).parent)
    # dg warns when the active virtual environment is not the project's; make it the project's.
    return {**os.environ, "DAGSTER_HOME": str(home), "VIRTUAL_ENV": str(Path(sys.executable).parents[1]),
            "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}


@pytest.mark.slow
def test_dg_check_defs_passes_without_warnings(tmp_path):
    dg_bin = Path(sys.executable).with_name("dg")
    checked = subprocess.run([str(dg_bin), "check", "defs"], cwd=REPO, env=_dagster_env(tmp_path),
                             capture_output=True, text=True, timeout=180)
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output
    assert "All definitions loaded successfully" in output
    assert "warning" not in output.lower(), output


@pytest.mark.slow
@pytest.mark.parametrize("location, warned", [("unparl", False), ("elsewhere", True)])
def test_workspace_loads_without_a_location_name_warning(tmp_path, location, warned):
    # The mismatched case shows the check would catch a drift between the two files.
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text((REPO / "workspace.yaml").read_text().replace(
        "location_name: unparl", f"location_name: {location}"))
    checked = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", str(workspace)],
        cwd=REPO, env=_dagster_env(tmp_path), capture_output=True, text=True, timeout=180)
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output
    assert (LOCATION_MISMATCH in output) == warned, output
