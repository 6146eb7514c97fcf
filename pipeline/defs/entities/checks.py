import dagster as dg
import pyarrow as pa

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


def results(entities: pa.Table, paragraphs: pa.Table, texts: dict[str, str]) -> list[dg.AssetCheckResult]:
    return check_results({
        "entity_offsets": invariants.offsets_hold(entities, texts),
        "entity_types_known": invariants.entity_types_known(entities),
        "entities_within_paragraphs": invariants.within_paragraphs(entities, paragraphs),
    })


def check_results(outcomes: dict[str, tuple[bool, dict]]) -> list[dg.AssetCheckResult]:
    """The check results from outcomes already computed (by the workers, per document)."""
    return [dg.AssetCheckResult(check_name=n, asset_key="entities", passed=p, metadata=d)
            for n, (p, d) in outcomes.items()]


def catalog_results(catalog: pa.Table) -> list[dg.AssetCheckResult]:
    passed, details = invariants.unique(catalog, "entity_id")
    return [dg.AssetCheckResult(check_name="entity_ids_unique", asset_key="entity_catalog",
                                passed=passed, metadata=details)]
