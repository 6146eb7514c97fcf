"""Measuring the metadata reader on real UN texts of every kind (tests/corpus).

Each text of the corpus is cleaned and parsed as the `documents` stage does, and its symbol,
date and document type are compared with the hand-annotated gold
(`tests/corpus/metadata_gold.json`; organ and meeting are reported too). A document is right
when all three of symbol, date and type equal the gold's (a null gold value, where the text
prints none, is right only when nothing is read). Figures are given per document kind (the
corpus folder a text is in) for the tuning part and the held-out part of `split.json`
separately: the held-out part is never used to adjust the rules.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from pipeline.lib.text.clean import clean
from pipeline.lib.text.structure import parse

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS = REPO_ROOT / "tests" / "corpus"
SCORED = ("symbol", "date", "doc_type")
REPORTED = ("organ", "meeting")
TARGET = 0.90


def read_document(path: Path, doc_id: str) -> dict:
    """The metadata the documents stage reads from one text (no sidecar)."""
    text = path.read_text(encoding="utf-8")
    return parse(clean(text), doc_id=doc_id).metadata


def evaluate(corpus: Path = CORPUS) -> dict:
    """Per part (tuning, heldout) and kind: documents, right, and right per field; with every miss."""
    gold = json.loads((corpus / "metadata_gold.json").read_text(encoding="utf-8"))["documents"]
    split = json.loads((corpus / "split.json").read_text(encoding="utf-8"))
    missing = sorted(set(gold) - set(split["tuning"]) - set(split["heldout"]))
    if missing:
        raise ValueError(f"{corpus / 'split.json'}: {len(missing)} gold documents in neither part: {missing[:3]}")
    result: dict = {"parts": {}, "misses": []}
    for part in ("tuning", "heldout"):
        kinds: dict[str, dict] = defaultdict(lambda: {"documents": 0, "right": 0,
                                                      **{f: 0 for f in SCORED + REPORTED}})
        for rel in split[part]:
            if rel not in gold:
                raise ValueError(f"{corpus / 'split.json'}: {rel} has no gold row in metadata_gold.json")
            path = corpus / "texts" / rel
            if not path.is_file():
                raise FileNotFoundError(f"{path}: listed in split.json but not in the corpus")
            expected = gold[rel]
            got = read_document(path, Path(rel).stem)
            row = kinds[rel.split("/", 1)[0]]
            row["documents"] += 1
            wrong = [f for f in SCORED + REPORTED if got.get(f) != expected.get(f)]
            for f in SCORED + REPORTED:
                row[f] += f not in wrong
            if not any(f in SCORED for f in wrong):
                row["right"] += 1
            if wrong:
                result["misses"].append({"part": part, "file": rel,
                                         **{f: {"gold": expected.get(f), "read": got.get(f)} for f in wrong}})
        total = {"documents": 0, "right": 0, **{f: 0 for f in SCORED + REPORTED}}
        for row in kinds.values():
            for key in total:
                total[key] += row[key]
        result["parts"][part] = {"kinds": dict(sorted(kinds.items())), "all": total}
    return result


def report(result: dict) -> str:
    lines = ["Metadata (symbol, date, type) on real UN texts, tests/corpus "
             f"(a document is right when all three are; target {TARGET:.0%})"]
    for part, data in result["parts"].items():
        lines.append(f"  {part}:")
        lines.append(f"    {'kind':<28}{'docs':>5}{'right':>7}{'share':>7}"
                     + "".join(f"{f:>10}" for f in SCORED + REPORTED))
        for kind, row in [*data["kinds"].items(), ("all", data["all"])]:
            n = row["documents"]
            lines.append(f"    {kind:<28}{n:>5}{row['right']:>7}{row['right'] / n if n else 0:>7.0%}"
                         + "".join(f"{row[f]:>7}/{n:<2}" for f in SCORED + REPORTED))
    misses = [m for m in result["misses"] if any(f in m for f in SCORED)]
    if misses:
        lines.append("  misses (symbol, date or type):")
        for miss in misses:
            fields = "; ".join(f"{f} read {miss[f]['read']!r}, gold {miss[f]['gold']!r}" for f in SCORED if f in miss)
            lines.append(f"    [{miss['part']}] {miss['file']}: {fields}")
    return "\n".join(lines)


def main() -> int:
    print(report(evaluate()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
