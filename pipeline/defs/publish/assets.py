import datetime

import dagster as dg

from pipeline.defs.metadata import OWNERS, check_results, listed
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import chain
from pipeline.lib.corpus import Corpus
from pipeline.lib.entities.evaluation import recorded_quality
from pipeline.lib.release.provenance import code_version, release_notes
from pipeline.lib.release.cut import archive_release, cut_release, latest_release, unchanged_since_checked
from pipeline.lib.release import verify as release_verify
from pipeline.lib.release.verify import CHECKS
from pipeline.lib.release.stats import Statistics

RELEASE_POOL = "unparl_release"
CHECK_DESCRIPTIONS = {
    "checksums_match": "Every file's sha256 equals the manifest's, and every file is listed.",
    "tables_in_datapackage": "Every Parquet table is described in datapackage.json.",
    "counts_agree": "Row counts agree between the files, the manifest and statistics.json.",
    "ids_unique": "para_id, sent_id and entity_id are unique across the corpus.",
}


@dg.asset(
    group_name="publish", kinds={"python", "parquet", "json"}, owners=OWNERS,
    code_version=chain.files_version("lib/release/cut.py", "lib/release/card.py", "lib/release/charts.py",
                                     "lib/release/conllu.py", "lib/release/site.py", "lib/release/verify.py",
                                     "lib/release/provenance.py", "templates/", "quality/"),
    check_specs=[dg.AssetCheckSpec(name, asset="release", blocking=True, description=CHECK_DESCRIPTIONS[name])
                 for name in CHECKS],
    # One release cut at a time across runs and machines, when the instance limits this pool.
    pool=RELEASE_POOL,
    description="An immutable, versioned release folder (Parquet, JSON Lines, manifest, Frictionless "
                "data package, Croissant, data card, charts); LATEST names it. Parts of unchanged documents "
                "are hard-linked from the previous release. "
                "Nothing new is cut when the data equal LATEST's; a release that fails its checks "
                "(run once, on the folder, before it is published) is not published.",
)
def release(context: dg.AssetExecutionContext, settings: UnparlSettings, corpus: Corpus, document_status,
            entity_catalog, corpus_statistics: Statistics) -> dg.MaterializeResult:
    tables = {**corpus.tables(), "document_status": document_status, "entity_catalog": entity_catalog}
    notes = release_notes(corpus.documents, corpus.quarantine) + corpus.warnings
    result = cut_release(settings.data_path, tables, corpus_statistics.tables, corpus_statistics.summary,
                         inputs=corpus.inputs, notes=notes, code_version=code_version(),
                         today=datetime.date.today(), fingerprints=corpus.fingerprints, index=corpus.documents,
                         settings=settings.release_settings,
                         quality=recorded_quality())
    context.log.info(f"release {result.version}: {result.reason}")
    if result.index_problem:
        context.log.warning(result.index_problem)
    meta = {
        "version": result.version or "",
        "created": result.created,
        "reason": result.reason,
        "content_hash": result.content_hash,
        "path": dg.MetadataValue.path(str(result.path)) if result.path else "",
        "tables": dg.MetadataValue.json({n: t.num_rows for n, t in tables.items()}),
        "parts": dg.MetadataValue.json({"written": result.parts_written, "linked": result.parts_linked}),
        "changes": dg.MetadataValue.json(result.changes or {}),
    }
    if notes:
        meta["release_notes"] = listed(notes)
    # A new release's checks ran once, on its folder before it was published; when nothing new
    # was cut, they look at LATEST as it is now.
    outcomes = result.checks or (release_verify.outcomes(result.path, trusted=unchanged_since_checked(result.path))
                                 if result.path else {})
    return dg.MaterializeResult(metadata=meta, check_results=check_results("release", outcomes))


@dg.asset(
    deps=["release"], group_name="publish", kinds={"python", "zip"}, owners=OWNERS,
    code_version=chain.files_version("lib/release/cut.py"),
    pool=RELEASE_POOL,
    description="The newest release as one deterministic ZIP archive (`releases/unparl-<version>.zip`, "
                "Parquet and PNG stored, text deflated) with its sha256, written once per release. Apart from "
                "the release: its cost follows the size of the whole corpus, not the change.",
)
def release_archive(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    latest = latest_release(settings.data_path)
    if latest is None:
        context.log.info("no release yet: nothing to archive")
        return dg.MaterializeResult(metadata={"version": ""})
    path, sha = archive_release(settings.data_path, latest.name)
    return dg.MaterializeResult(metadata={"version": latest.name, "path": dg.MetadataValue.path(str(path)),
                                          "sha256": sha, "bytes": path.stat().st_size})
