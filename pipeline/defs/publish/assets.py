import datetime
import json

import dagster as dg
import pyarrow as pa

from pipeline.defs.metadata import OWNERS
from pipeline.defs.metadata import code_version as asset_code_version
from pipeline.defs.publish import checks
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import stages
from pipeline.lib.provenance import code_version, release_inputs, release_notes
from pipeline.lib.release import cut_release
from pipeline.lib.stats import STATS_SCHEMAS
from pipeline.lib.storage import read_parquet

RELEASE_POOL = "unparl_release"


@dg.asset(
    deps=["corpus_statistics"], group_name="publish", kinds={"python", "parquet", "json"}, owners=OWNERS,
    code_version=asset_code_version("lib/release.py", "lib/release_card.py", "lib/release_charts.py", "lib/release_verify.py", "lib/storage.py"), check_specs=checks.SPECS,
    # One release cut at a time across runs and machines, when the instance limits this pool.
    pool=RELEASE_POOL,
    description="An immutable, versioned release folder (Parquet, JSON Lines, manifest, Frictionless "
                "data package, Croissant, data card, charts) and its archive; LATEST names it. "
                "Nothing new is cut when the data equal LATEST's.",
)
def release(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    data = settings.data_path
    keys = context.instance.get_dynamic_partitions("documents")
    tables, warnings = stages.corpus_tables(data, keys)
    tables["entity_catalog"] = read_parquet(stages.corpus_path(data, "entity_catalog"))
    stats = {name: read_parquet(stages.corpus_path(data, name)) for name in STATS_SCHEMAS
             if stages.corpus_path(data, name).exists()}
    summary = json.loads(stages.corpus_path(data, "statistics").with_suffix(".json").read_text("utf-8"))
    notes = release_notes(tables["documents"], tables["quarantine"]) + warnings
    result = cut_release(data, tables, stats, summary, inputs=release_inputs(data, keys), notes=notes,
                         code_version=code_version(), today=datetime.date.today())
    context.log.info(f"release {result.version}: {result.reason}")
    meta = {
        "version": result.version or "",
        "created": result.created,
        "reason": result.reason,
        "content_hash": result.content_hash,
        "path": dg.MetadataValue.path(str(result.path)) if result.path else "",
        "dagster/row_count": sum(t.num_rows for t in tables.values()),
        "tables": dg.MetadataValue.json({n: t.num_rows for n, t in tables.items()}),
        "changes": dg.MetadataValue.json(result.changes or {}),
    }
    if notes:
        meta["release_notes"] = dg.MetadataValue.md("\n".join(f"- {n}" for n in notes))
    return dg.MaterializeResult(metadata=meta, check_results=checks.results(result.path))
