from collections import Counter

import dagster as dg
import polars as pl

from pipeline import schemas
from pipeline.defs.entities import checks
from pipeline.defs.metadata import KINDS, OWNERS, check_results, code_version, results_metadata, table_metadata
from pipeline.defs.partitions import batch_backfill, documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import invariants, parallel, stages
from pipeline.lib.entities import CATALOG_COLUMNS, build_catalog, gazetteer_version
from pipeline.lib.storage import to_arrow, write_parquet


@dg.asset(
    deps=["tokens"], partitions_def=documents_partitions, backfill_policy=batch_backfill,
    group_name="entities", kinds=KINDS, owners=OWNERS, code_version=code_version("lib/entities.py", "lib/stages.py", "lib/storage.py", "lib/invariants.py", "lib/parallel.py", "schemas.py") + "-" + gazetteer_version()[:12],
    check_specs=checks.SPECS,
    description="Entity mentions (ORG, GPE, DOC, LAW, EVENT, SDG, DATE, PERCENT, PERSON) from curated "
                "gazetteers and exact patterns, with POS only as a fallback; canonical ids.",
)
def entities(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    data = settings.data_path
    # Each worker checks its own documents' mentions and sends back their counts and first rows.
    results = parallel.map_stage("entities", data, context.partition_keys, workers=settings.workers)
    meta = results_metadata(results, schemas.ENTITIES, ["entity_id", "type", "text", "method", "value"])
    by_type, by_entity = Counter(), Counter()
    for r in results:
        by_type.update(r.facts.get("by_type", {}))
        by_entity.update(r.facts.get("by_entity", {}))
    meta["by_type"] = dg.MetadataValue.json(dict(sorted(by_type.items())))
    if by_entity:
        top = sorted(by_entity.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        meta["top_entities"] = dg.MetadataValue.json(dict(top))
    outcomes = check_results("entities", invariants.merged_checks([r.checks for r in results]))
    if all(r.passed for r in outcomes):
        # Only now are these documents done: a failed check leaves them stale, to be redone.
        for key in context.partition_keys:
            stages.write_stamp(data, key, settings.stamp_settings)
    return dg.MaterializeResult(metadata=meta, check_results=outcomes)


@dg.asset(
    deps=["entities"], group_name="entities", kinds=KINDS, owners=OWNERS,
    code_version=code_version("lib/entities.py") + "-" + gazetteer_version()[:12], check_specs=checks.CATALOG_SPECS,
    description="One row per canonical entity of the corpus: type, Chinese name, aliases, ISO3 for "
                "countries, mentions and documents.",
)
def entity_catalog(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    data = settings.data_path
    keys = context.instance.get_dynamic_partitions("documents")
    mentions = stages.entity_mentions(data, keys, CATALOG_COLUMNS)
    catalog = to_arrow(build_catalog(pl.from_arrow(mentions)), schemas.ENTITY_CATALOG)
    path = stages.corpus_path(data, "entity_catalog")
    catalog = write_parquet(path, catalog, sort_by=schemas.SORT_KEYS["entity_catalog"])
    meta = table_metadata(catalog, schemas.ENTITY_CATALOG, [path],
                          ["entity_id", "type", "name_zh", "iso3", "n_mentions"])
    return dg.MaterializeResult(metadata=meta, check_results=checks.catalog_results(catalog))
