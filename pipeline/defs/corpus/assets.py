"""The corpus assets: the documents assembled once per build, where each stands, the entity
catalog and the statistics. Each hands its output to the next through the IO manager
(pipeline/defs/io.py)."""

from collections import Counter

import dagster as dg

from pipeline import schemas
from pipeline.defs.metadata import KINDS, OWNERS, check_results, listed, preview, table_metadata
from pipeline.defs.partitions import documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import chain, invariants
from pipeline.lib.corpus import PARTIALS_CODE, Corpus, assemble
from pipeline.lib.entities.catalog import catalog_from_partials
from pipeline.lib.release.stats import Statistics, combine
from pipeline.lib.storage import to_arrow

GROUP = "corpus"


@dg.asset(
    deps=[s.name for s in chain.STAGES], group_name=GROUP, kinds=KINDS, owners=OWNERS,
    code_version=chain.files_version("lib/workdir.py", "lib/stamps.py", *PARTIALS_CODE),
    description="Every document's work files assembled once for the corpus assets: where each stands, its "
                "metadata, links to its tables and its partial aggregates for the statistics. Only "
                "documents changed since the last assembly are read again.",
)
def corpus(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.Output[Corpus]:
    keys = context.instance.get_dynamic_partitions(documents_partitions.name)
    assembled = assemble(settings.data_path, keys)
    for warning in assembled.warnings:
        context.log.warning(warning)
    rows = {name: sum(p.rows for p in parts) for name, parts in assembled.parts.items()}
    meta = {"documents": assembled.documents.num_rows, "quarantined": assembled.quarantine.num_rows,
            "by_status": dg.MetadataValue.json(assembled.counts()),
            "rows": dg.MetadataValue.json({"documents": assembled.documents.num_rows, **rows})}
    if assembled.warnings:
        meta["warnings"] = listed(assembled.warnings)
    return dg.Output(assembled, metadata=meta)


@dg.asset(
    group_name=GROUP, kinds=KINDS, owners=OWNERS,
    code_version=chain.files_version("lib/corpus.py", "schemas.py"),
    check_specs=[
        dg.AssetCheckSpec("no_quarantined_documents", asset="document_status",
                          description="No document is set aside in the quarantine (fails naming each and its reason)."),
        dg.AssetCheckSpec("no_failed_documents", asset="document_status",
                          description="No stage failed on any document, and none was left out of the corpus "
                                      "(fails naming each, the stage and the error)."),
    ],
    description="Where every document stands: ok, quarantined or failed, with the reason, rows per stage, "
                "warnings and the code version it was built with. Published in each release.",
)
def document_status(context: dg.AssetExecutionContext, corpus: Corpus):
    status = corpus.status
    counts = corpus.counts()
    meta = table_metadata(status, schemas.DOCUMENT_STATUS, ["doc_id", "symbol", "status", "reason", "n_tokens", "warnings"])
    meta["by_status"] = dg.MetadataValue.json(counts)
    rows = status.select(["doc_id", "source_file", "status", "reason", "detail"]).to_pylist()
    outcomes = {}
    for check, wanted in (("no_quarantined_documents", "quarantined"), ("no_failed_documents", "failed")):
        bad = [r for r in rows if r["status"] == wanted]
        outcomes[check] = (not bad, {"documents": len(bad), "listed": listed(
            [f"{r['doc_id']} ({r['source_file']}): {r['reason']}: {r['detail']}" for r in bad] or ["none"])})
    yield dg.Output(status, metadata=meta)
    yield from check_results("document_status", outcomes,
                             {"no_quarantined_documents": "WARN", "no_failed_documents": "ERROR"})


@dg.asset(
    group_name=GROUP, kinds=KINDS, owners=OWNERS,
    code_version=chain.files_version("lib/entities/catalog.py", "lib/entities/tagger.py", "lib/text/un_symbols.py",
                                     "gazetteers/", "schemas.py"),
    check_specs=[dg.AssetCheckSpec("entity_ids_unique", asset="entity_catalog", blocking=True,
                                   description="The catalog lists each entity once.")],
    description="One row per canonical entity of the corpus: type, Chinese name, aliases, ISO3 for "
                "countries, mentions and documents.",
)
def entity_catalog(context: dg.AssetExecutionContext, corpus: Corpus):
    catalog = to_arrow(catalog_from_partials(corpus.partials["entity_mentions"]), schemas.ENTITY_CATALOG)
    meta = table_metadata(catalog, schemas.ENTITY_CATALOG, ["entity_id", "type", "name_zh", "iso3", "n_mentions"])
    meta["by_type"] = dg.MetadataValue.json(dict(Counter(catalog.column("type").cast("string").to_pylist())))
    yield dg.Output(catalog, metadata=meta)
    yield from check_results("entity_catalog", {"entity_ids_unique": invariants.unique(catalog, "entity_id")})


@dg.asset(
    group_name=GROUP, kinds=KINDS, owners=OWNERS,
    code_version=chain.files_version("lib/release/stats.py", "lib/entities/catalog.py", "lib/text/structure.py",
                                     "lib/text/un_symbols.py", "gazetteers/"),
    description="Corpus statistics: per-document profiles, entity counts, countries, SDGs, operative "
                "verbs, keywords, entity co-occurrence and the citation graph, computed with Polars.",
)
def corpus_statistics(context: dg.AssetExecutionContext, corpus: Corpus, entity_catalog) -> dg.Output[Statistics]:
    statistics = combine(corpus.partials, corpus.documents, corpus.quarantine, entity_catalog)
    meta = {f"rows/{name}": t.num_rows for name, t in statistics.tables.items()}
    for name in ("stats_entities_corpus", "stats_countries", "stats_operative_verbs"):
        if name in statistics.tables:
            meta[f"preview/{name}"] = dg.MetadataValue.md(preview(statistics.tables[name]))
    return dg.Output(statistics, metadata=meta)
