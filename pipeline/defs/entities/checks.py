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


def within_paragraphs(entities: pa.Table, paragraphs: pa.Table) -> tuple[bool, dict]:
    columns = ["doc_id", "para_id", "char_start", "char_end"]
    spans = {(p["doc_id"], p["para_id"]): (p["char_start"], p["char_end"])
             for p in paragraphs.select(columns).to_pylist()}
    bad = [e for e in entities.select(columns).to_pylist()
           if (span := spans.get((e["doc_id"], e["para_id"]))) is None
           or not (span[0] <= e["char_start"] and e["char_end"] <= span[1])]
    return not bad, {"outside": len(bad), "examples": bad[:5]}


def results(entities: pa.Table, paragraphs: pa.Table, texts: dict[str, str]) -> list[dg.AssetCheckResult]:
    outcomes = {
        "entity_offsets": invariants.offsets_hold(entities, texts),
        "entity_types_known": invariants.entity_types_known(entities),
        "entities_within_paragraphs": within_paragraphs(entities, paragraphs),
    }
    return [dg.AssetCheckResult(check_name=n, asset_key="entities", passed=p, metadata=d)
            for n, (p, d) in outcomes.items()]


def catalog_results(catalog: pa.Table) -> list[dg.AssetCheckResult]:
    passed, details = invariants.unique(catalog, "entity_id")
    return [dg.AssetCheckResult(check_name="entity_ids_unique", asset_key="entity_catalog",
                                passed=passed, metadata=details)]
