import dagster as dg
import pyarrow as pa

from pipeline.defs.metadata import check_results
from pipeline.lib import invariants

SPECS = [
    dg.AssetCheckSpec("doc_ids_unique", asset="raw_documents", blocking=True,
                      description="Each document id names one source file."),
]


def results(table: pa.Table) -> list[dg.AssetCheckResult]:
    return check_results("raw_documents", {"doc_ids_unique": invariants.unique(table, "doc_id")})
