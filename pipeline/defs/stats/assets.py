import dagster as dg

from pipeline.defs.metadata import KINDS, OWNERS, code_version, preview
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import stages
from pipeline.lib.stats import statistics_and_summary
from pipeline.lib.storage import atomic_write_text, dumps_json, read_parquet, write_parquet


@dg.asset(
    deps=["entity_catalog"], group_name="stats", kinds=KINDS, owners=OWNERS, code_version=code_version("lib/stats.py", "lib/stages.py", "gazetteers/stopwords_un.txt", "gazetteers/sdg_goals.tsv"),
    description="Corpus statistics: per-document profiles, entity counts, countries, SDGs, operative "
                "verbs, keywords, entity co-occurrence and the citation graph, computed with Polars.",
)
def corpus_statistics(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    data = settings.data_path
    keys = context.instance.get_dynamic_partitions("documents")
    tables, warnings = stages.corpus_tables(data, keys)
    for warning in warnings:
        context.log.warning(warning)
    catalog_path = stages.corpus_path(data, "entity_catalog")
    if catalog_path.exists():
        tables["entity_catalog"] = read_parquet(catalog_path)
    stats, summary = statistics_and_summary(tables)
    for name, table in stats.items():
        write_parquet(stages.corpus_path(data, name), table)
    atomic_write_text(stages.corpus_path(data, "statistics").with_suffix(".json"), dumps_json(summary))
    meta = {f"rows/{name}": t.num_rows for name, t in stats.items()}
    meta["dagster/row_count"] = sum(t.num_rows for t in stats.values())
    meta["documents"] = tables["documents"].num_rows
    meta["quarantined"] = tables["quarantine"].num_rows
    for name in ("stats_entities_corpus", "stats_countries", "stats_operative_verbs"):
        if name in stats:
            meta[f"preview/{name}"] = dg.MetadataValue.md(preview(stats[name]))
    if warnings:
        meta["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in warnings))
    return dg.MaterializeResult(metadata=meta)
