"""The jobs every run targets, so every run (from `unparl build`, the sensor, the schedule or the
UI) can be re-executed from the UI. Steps run in the run's own process: the per-document chain
is one step with its own worker pool, so separate step processes would only add start-up."""
import os

import dagster as dg

from pipeline.lib import chain
from pipeline.lib.planning import BUILD_JOB, CORPUS_JOB, DOCUMENT_JOB

CORPUS_ASSETS = ("corpus", "document_status", "entity_catalog", "corpus_statistics", "release", "release_archive")
EXECUTOR_ENV, BROKER_ENV, BACKEND_ENV = "UNPARL_EXECUTOR", "UNPARL_CELERY_BROKER", "UNPARL_CELERY_BACKEND"


def run_executor() -> dg.ExecutorDefinition:
    """Where a run's steps execute: in the run's own process (the default), or, with
    UNPARL_EXECUTOR=celery, each step sent through the broker UNPARL_CELERY_BROKER to Celery workers
    (`dagster-celery worker start`, the `production` extra), results through UNPARL_CELERY_BACKEND
    (the broker's URL when unset). Steps share their work through the data folder only."""
    name = os.environ.get(EXECUTOR_ENV, "in_process")
    if name == "in_process":
        return dg.in_process_executor
    if name == "celery":
        from dagster_celery import celery_executor

        broker = os.environ.get(BROKER_ENV)
        if not broker:
            raise ValueError(f"{EXECUTOR_ENV}=celery needs the broker's URL in {BROKER_ENV} (e.g. redis://host:6379/0)")
        return celery_executor.configured({"broker": broker, "backend": os.environ.get(BACKEND_ENV) or broker},
                                          name="celery")
    raise ValueError(f"{EXECUTOR_ENV}={name!r}: the executors are 'in_process' (the default) and 'celery'")


EXECUTOR = run_executor()

document_chain = dg.define_asset_job(
    DOCUMENT_JOB, selection=dg.AssetSelection.assets(*chain.NAMES), executor_def=EXECUTOR,
    description="The per-document stages for a range of documents.")
corpus_release = dg.define_asset_job(
    CORPUS_JOB, selection=dg.AssetSelection.assets(*CORPUS_ASSETS), executor_def=EXECUTOR,
    description="The corpus assembled, the document status, the entity catalog, the statistics and a release.")
build = dg.define_asset_job(
    BUILD_JOB, selection=dg.AssetSelection.assets(*chain.NAMES, *CORPUS_ASSETS),
    executor_def=EXECUTOR,
    description="The per-document stages for a range of documents, then the corpus assets and a release.")


@dg.definitions
def executor() -> dg.Definitions:
    # Runs the UI makes from a selection of assets ("Materialize all") run in one process too.
    return dg.Definitions(jobs=[document_chain, corpus_release, build], executor=EXECUTOR)
