import dagster as dg
import pyarrow as pa

from pipeline.defs.ingest import checks
from pipeline.defs.metadata import KINDS, OWNERS, code_version, table_metadata
from pipeline.defs.partitions import batch_backfill, documents_partitions
from pipeline.defs.resources import UnparlSettings
from pipeline.lib import parallel, stages


@dg.asset(
    partitions_def=documents_partitions, backfill_policy=batch_backfill, group_name="ingest",
    kinds=KINDS, owners=OWNERS, code_version=code_version("lib/ingest.py", "lib/stages.py", "lib/storage.py", "schemas.py"), check_specs=checks.SPECS,
    description="Source files read and decoded (BOMs honoured, then detection), with their hash, "
                "size and sidecar; unreadable files are quarantined with a reason.",
)
def raw_documents(context: dg.AssetExecutionContext, settings: UnparlSettings) -> dg.MaterializeResult:
    results = parallel.map_stage("raw", settings.data_path, context.partition_keys, workers=settings.workers,
                                 seeds_dir=settings.seeds_path, max_bytes=settings.max_bytes)
    table = pa.concat_tables([r.table for r in results])
    quarantined = [f"{r.table['source_file'][0]}: {r.table['detail'][0]}" for r in results if r.quarantined]
    for line in quarantined:
        context.log.warning(f"quarantined {line}")
    meta = table_metadata(table, stages.RAW, [r.path for r in results],
                          ["doc_id", "source_file", "encoding", "source_bytes", "status", "reason"],
                          warnings=[w for r in results for w in r.warnings])
    meta["quarantined"] = len(quarantined)
    # A data version per document, only when the run holds one (Dagster gives a run's value to all).
    version = (dg.DataVersion(table.column("source_sha256")[0].as_py() or "missing")
               if len(context.partition_keys) == 1 else None)
    return dg.MaterializeResult(metadata=meta, check_results=checks.results(table), data_version=version)
