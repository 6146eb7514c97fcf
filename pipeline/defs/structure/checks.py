import dagster as dg
import pyarrow as pa

from pipeline.lib import invariants

SPECS = [
    dg.AssetCheckSpec("para_ids_unique", asset="paragraphs", blocking=True,
                      description="Every para_id is unique within its document (and, in the release, across the corpus)."),
    dg.AssetCheckSpec("paragraph_offsets", asset="paragraphs", blocking=True,
                      description="clean_text[char_start:char_end] == text for every paragraph."),
    dg.AssetCheckSpec("paragraph_kinds_known", asset="paragraphs", blocking=True,
                      description="Every kind is one of the contract's eight."),
    dg.AssetCheckSpec("numbers_contiguous", asset="paragraphs",
                      description="Numbered and operative paragraphs run 1 … n without gaps or repeats."),
    dg.AssetCheckSpec("footnotes_linked", asset="paragraphs",
                      description="Every footnote is cited by a marker and every marker has its footnote."),
]


def results(paragraphs: pa.Table, clean_texts: dict[str, str]) -> list[dg.AssetCheckResult]:
    outcomes = {
        "para_ids_unique": invariants.unique(paragraphs, "para_id", within="doc_id"),
        "paragraph_offsets": invariants.offsets_hold(paragraphs, clean_texts),
        "paragraph_kinds_known": invariants.paragraph_kinds_known(paragraphs),
        "numbers_contiguous": invariants.numbers_contiguous(paragraphs),
        "footnotes_linked": invariants.footnotes_linked(paragraphs),
    }
    return [
        dg.AssetCheckResult(check_name=name, asset_key="paragraphs", passed=passed, metadata=details,
                            severity=dg.AssetCheckSeverity.ERROR if name in ("para_ids_unique", "paragraph_offsets",
                                                                              "paragraph_kinds_known")
                            else dg.AssetCheckSeverity.WARN)
        for name, (passed, details) in outcomes.items()
    ]
