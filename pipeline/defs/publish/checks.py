from pathlib import Path

import dagster as dg

from pipeline.defs.metadata import check_results
from pipeline.lib import release_verify

SPECS = [
    dg.AssetCheckSpec("checksums_match", asset="release", blocking=True,
                      description="Every file's sha256 equals the manifest's, and every file is listed."),
    dg.AssetCheckSpec("tables_in_datapackage", asset="release", blocking=True,
                      description="Every Parquet table is described in datapackage.json."),
    dg.AssetCheckSpec("ids_unique", asset="release", blocking=True,
                      description="para_id, sent_id and entity_id are unique across the corpus."),
    dg.AssetCheckSpec("counts_agree", asset="release", blocking=True,
                      description="Row counts agree between the files, the manifest and statistics.json."),
]


def results(release: Path) -> list[dg.AssetCheckResult]:
    outcomes = {
        "checksums_match": release_verify.checksums_match(release),
        "tables_in_datapackage": release_verify.tables_in_datapackage(release),
        "counts_agree": release_verify.counts_agree(release),
        "ids_unique": release_verify.ids_unique(release),
    }
    return check_results("release", outcomes)
