import dagster as dg
import pyarrow as pa

from pipeline.lib import invariants

SPECS = [
    dg.AssetCheckSpec("doc_ids_unique", asset="raw_documents", blocking=True,
                      description="Each document id names one source file."),
]


def results(table: pa.Table) -> list[dg.AssetCheckResult]:
    passed, details = invariants.unique(table, "doc_id")
    return [dg.AssetCheckResult(check_name="doc_ids_unique", asset_key="raw_documents", passed=passed,
                                metadata=details)]
