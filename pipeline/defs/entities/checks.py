import dagster as dg
import pyarrow as pa

from pipeline.defs.metadata import check_results
from pipeline.lib import invariants

SPECS = [
    dg.AssetCheckSpec("entity_offsets", asset="entities", blocking=True,
                      description="clean_text[char_start:char_end] == text for every mention."),
    dg.AssetCheckSpec("entity_types_known", asset="entities", blocking=True,
                      description="Every type is one of ORG, GPE, DOC, LAW, EVENT, SDG, DATE, PERCENT, PERSON."),
    dg.AssetCheckSpec("entities_within_paragraphs", asset="entities", blocking=True,
                      description="No mention crosses a paragraph boundary."),
]
CATALOG_SPECS = [
    dg.AssetCheckSpec("entity_ids_unique", asset="entity_catalog", blocking=True,
                      description="The catalog lists each entity once."),
]


def catalog_results(catalog: pa.Table) -> list[dg.AssetCheckResult]:
    return check_results("entity_catalog", {"entity_ids_unique": invariants.unique(catalog, "entity_id")})
