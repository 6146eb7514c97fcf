import json

import dagster as dg
import pyarrow as pa

from pipeline.defs.clean import checks
from pipeline.defs.metadata import KINDS, OWNERS, code_version, table_metadata
from pipeline.defs.partitions import batch_backfill, documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import parallel, stages


@dg.asset(
    deps=["raw_documents"], partitions_def=documents_partitions, backfill_policy=batch_backfill,
    group_name="clean", kinds=KINDS, owners=OWNERS, code_version=code_version("lib/clean.py", "lib/stages.py", "lib/storage.py", "schemas.py"), check_specs=checks.SPECS,
    description="clean_text: export markup removed, white space normalised, footnote bodies moved "
                "to the end, paragraphs cut by page breaks rejoined; a map back to source offsets.",
)
def clean_documents(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    results = parallel.map_stage("clean", settings.data_path, context.partition_keys, workers=settings.workers)
    table = pa.concat_tables([r.table for r in results])
    pieces = {row["doc_id"]: json.loads(row["pieces"]) for row in table.select(["doc_id", "pieces"]).to_pylist()}
    joined = sum(p["joined_page_break"] for ps in pieces.values() for p in ps)
    meta = table_metadata(table, stages.CLEAN, [r.path for r in results], ["doc_id", "clean_text"])
    meta.update({"characters": sum(len(t) for t in table.column("clean_text").to_pylist()),
                 "page_breaks_rejoined": joined,
                 "footnotes_moved": sum(1 for ps in pieces.values() for p in ps if p["footnote"])})
    return dg.MaterializeResult(metadata=meta, check_results=checks.results(table, pieces))
