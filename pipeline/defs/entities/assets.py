import dagster as dg
import polars as pl
import pyarrow as pa

from pipeline import schemas
from pipeline.defs.entities import checks
from pipeline.defs.metadata import KINDS, OWNERS, code_version, table_metadata
from pipeline.defs.partitions import batch_backfill, documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import parallel, stages
from pipeline.lib.entities import CATALOG_COLUMNS, build_catalog, gazetteer_version
from pipeline.lib.storage import to_arrow, write_parquet


def _type_counts(table: pa.Table) -> dict:
    if not table.num_rows:
        return {}
    return {r["values"]: r["counts"] for r in table.column("type").cast(pa.string()).value_counts().to_pylist()}


@dg.asset(
    deps=["tokens"], partitions_def=documents_partitions, backfill_policy=batch_backfill,
    group_name="entities", kinds=KINDS, owners=OWNERS, code_version=code_version("lib/entities.py", "lib/stages.py", "lib/storage.py", "schemas.py") + "-" + gazetteer_version()[:12],
    check_specs=checks.SPECS,
    description="Entity mentions (ORG, GPE, DOC, LAW, EVENT, SDG, DATE, PERCENT, PERSON) from curated "
                "gazetteers and exact patterns, with POS only as a fallback; canonical ids.",
)
def entities(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    data = settings.data_path
    results = parallel.map_stage("entities", data, context.partition_keys, workers=settings.workers)
    table = pa.concat_tables([r.table for r in results])
    paragraphs = pa.concat_tables([stages.read_work(data, "paragraphs", k) for k in context.partition_keys])
    texts = {k: stages.read_work(data, "documents", k, ["clean_text"]).column("clean_text")[0].as_py() for k in context.partition_keys}
    meta = table_metadata(table, schemas.ENTITIES, [r.path for r in results],
                          ["entity_id", "type", "text", "method", "value"])
    meta["by_type"] = dg.MetadataValue.json(_type_counts(table))
    if table.num_rows:
        top = (pl.from_arrow(table.select(["entity_id"])).group_by("entity_id").len()
               .sort(["len", "entity_id"], descending=[True, False]).head(10))
        meta["top_entities"] = dg.MetadataValue.json(dict(zip(top["entity_id"], top["len"])))
    check_results = checks.results(table, paragraphs, texts)
    if all(r.passed for r in check_results):
        # Only now are these documents done: a failed check leaves them stale, to be redone.
        for key in context.partition_keys:
            stages.write_stamp(data, key, settings.stamp_settings)
    return dg.MaterializeResult(metadata=meta, check_results=check_results)


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
