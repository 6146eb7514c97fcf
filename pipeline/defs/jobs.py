"""The jobs every run targets, so every run (from `unparl build`, the sensor, the schedule or the
UI) can be re-executed from the UI. Steps run in the run's own process: the per-document chain
is one step with its own worker pool, so separate step processes would only add start-up."""
import dagster as dg

from pipeline.lib import chain
from pipeline.lib.planning import BUILD_JOB, CORPUS_JOB, DOCUMENT_JOB

CORPUS_ASSETS = ("corpus", "document_status", "entity_catalog", "corpus_statistics", "release")

document_chain = dg.define_asset_job(
    DOCUMENT_JOB, selection=dg.AssetSelection.assets(*chain.NAMES), executor_def=dg.in_process_executor,
    description="The per-document stages for a range of documents.")
corpus_release = dg.define_asset_job(
    CORPUS_JOB, selection=dg.AssetSelection.assets(*CORPUS_ASSETS), executor_def=dg.in_process_executor,
    description="The corpus assembled, the document status, the entity catalog, the statistics and a release.")
build = dg.define_asset_job(
    BUILD_JOB, selection=dg.AssetSelection.assets(*chain.NAMES, *CORPUS_ASSETS),
    executor_def=dg.in_process_executor,
    description="The per-document stages for a range of documents, then the corpus assets and a release.")


@dg.definitions
def executor() -> dg.Definitions:
    # Runs the UI makes from a selection of assets ("Materialize all") run in one process too.
    return dg.Definitions(jobs=[document_chain, corpus_release, build], executor=dg.in_process_executor)
