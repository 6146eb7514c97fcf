import dagster as dg
import pyarrow as pa

from pipeline import schemas
from pipeline.defs.metadata import KINDS, OWNERS, code_version, table_metadata
from pipeline.defs.partitions import batch_backfill, documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.defs.structure import checks
from pipeline.lib import parallel, stages


STRUCTURE_VERSION = code_version("lib/structure.py", "lib/clean.py", "gazetteers/operative_verbs.tsv", "lib/stages.py", "lib/storage.py", "schemas.py")


@dg.multi_asset(
    specs=[
        dg.AssetSpec("document_metadata", deps=["clean_documents"], group_name="structure", kinds=KINDS,
                     owners=OWNERS, code_version=STRUCTURE_VERSION,
                     description="One row per document: symbol, kind, title, session, agenda item, date, "
                                 "resolution number, plenary meeting, drafts, each with its provenance "
                                 "(text, sidecar or inferred); the text's own symbol when a sidecar overrides it."),
        dg.AssetSpec("paragraphs", deps=["clean_documents"], group_name="structure", kinds=KINDS,
                     owners=OWNERS, code_version=STRUCTURE_VERSION,
                     description="Paragraphs with kind, number, section, subsection, operative verb, "
                                 "footnote links and citation-style ids (A/RES/74/304:op5, A/74/759:p70(a))."),
    ],
    partitions_def=documents_partitions, backfill_policy=batch_backfill, check_specs=checks.SPECS,
)
def structure(context: dg.AssetExecutionContext, settings: UnparlSettings):
    results = parallel.map_stage("structure", settings.data_path, context.partition_keys, workers=settings.workers)
    docs = pa.concat_tables([d.table for d, _ in results])
    paragraphs = pa.concat_tables([p.table for _, p in results])
    warnings = [w for d, _ in results for w in d.warnings]
    for warning in warnings:
        context.log.warning(warning)
    texts = dict(zip(docs.column("doc_id").to_pylist(), docs.column("clean_text").to_pylist()))
    doc_meta = table_metadata(docs, schemas.DOCUMENTS, [d.path for d, _ in results],
                              ["doc_id", "symbol", "symbol_in_text", "doc_type", "session", "date"], warnings)
    yield dg.MaterializeResult(asset_key="document_metadata", metadata=doc_meta)
    para_meta = table_metadata(paragraphs, schemas.PARAGRAPHS, [p.path for _, p in results],
                               ["para_id", "kind", "number", "section", "operative_verb", "text"])
    kinds = paragraphs.column("kind").cast(pa.string()).value_counts().to_pylist() if paragraphs.num_rows else []
    para_meta["by_kind"] = dg.MetadataValue.json({k["values"]: k["counts"] for k in kinds})
    yield dg.MaterializeResult(asset_key="paragraphs", metadata=para_meta,
                               check_results=checks.results(paragraphs, texts))
