"""Measuring the entity tagger against the hand-annotated gold sample.

Gold mentions are keyed by paragraph and matched by (text, type) within the
paragraph, so the gold does not depend on exact offsets. Only paragraphs the
gold lists are scored: a paragraph listed with no mentions still counts false
positives.

Scores: precision, recall and F1 per type and overall (micro-averaged);
linking accuracy (among matched mentions, the share whose entity_id equals the
gold one); alias consistency (among gold entities written in two or more ways,
the share whose matched mentions all got one predicted id).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from pipeline.schemas import ENTITY_TYPES

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_GOLD = REPO_ROOT / "tests" / "gold" / "entities_gold.json"
DEFAULT_SEEDS = REPO_ROOT / "seeds"
# Held-out gold: real UN texts the tagger was not developed on (../shared/samples, no sidecars).
DEFAULT_HELDOUT_GOLD = REPO_ROOT / "tests" / "gold" / "entities_gold_heldout.json"
DEFAULT_SAMPLES = REPO_ROOT.parent / "shared" / "samples"
TARGET_TYPES = ("ORG", "GPE", "DOC", "LAW", "SDG", "DATE", "PERCENT")
TARGET_F1 = 0.90
TARGET_LINKING = 0.95


def gold_paragraphs(gold: dict) -> dict[str, list[dict]]:
    """para_id -> gold mentions, from the gold file's layout or a flat mapping."""
    if "documents" in gold:
        merged: dict[str, list[dict]] = {}
        for document in gold["documents"]:
            merged.update(document["paragraphs"])
        return merged
    return gold


def _prf(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def evaluate(predicted_rows: list[dict], gold: dict) -> dict:
    paragraphs = gold_paragraphs(gold)
    predicted: dict[str, list[dict]] = defaultdict(list)
    for row in sorted(predicted_rows, key=lambda r: (r["para_id"], r["char_start"], r["char_end"])):
        if row["para_id"] in paragraphs:
            predicted[row["para_id"]].append(row)
    counts = {t: {"tp": 0, "fp": 0, "fn": 0} for t in ENTITY_TYPES}
    matched: list[tuple[dict, dict, str]] = []  # (gold mention, predicted row, para_id)
    errors: list[dict] = []
    for para_id, mentions in paragraphs.items():
        pool: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for row in predicted.get(para_id, []):
            pool[(row["text"], str(row["type"]))].append(row)
        for mention in mentions:
            key = (mention["text"], mention["type"])
            if pool.get(key):
                row = pool[key].pop(0)
                counts[mention["type"]]["tp"] += 1
                matched.append((mention, row, para_id))
            else:
                counts[mention["type"]]["fn"] += 1
                errors.append({"kind": "missed", "para_id": para_id, **mention})
        for (text, type_), rows in pool.items():
            for row in rows:
                counts.setdefault(type_, {"tp": 0, "fp": 0, "fn": 0})["fp"] += 1
                errors.append({"kind": "spurious", "para_id": para_id, "text": text, "type": type_,
                               "entity_id": row["entity_id"]})
    per_type = {t: _prf(**c) for t, c in counts.items() if any(c.values())}
    overall = _prf(*(sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")))
    linked = 0
    for mention, row, para_id in matched:
        if row["entity_id"] == mention["entity_id"]:
            linked += 1
        else:
            errors.append({"kind": "wrong_id", "para_id": para_id, "text": mention["text"],
                           "type": mention["type"], "entity_id": mention["entity_id"],
                           "predicted_id": row["entity_id"]})
    surfaces: dict[str, set[str]] = defaultdict(set)
    ids_given: dict[str, set[str]] = defaultdict(set)
    for mention, row, _ in matched:
        surfaces[mention["entity_id"]].add(mention["text"].replace(" ", ""))
        ids_given[mention["entity_id"]].add(row["entity_id"])
    aliased = [e for e, s in surfaces.items() if len(s) > 1]
    consistent = [e for e in aliased if len(ids_given[e]) == 1]
    return {
        "per_type": per_type,
        "overall": overall,
        "linking": {
            "accuracy": linked / len(matched) if matched else 1.0,
            "correct": linked,
            "matched": len(matched),
            "alias_consistency": len(consistent) / len(aliased) if aliased else 1.0,
            "aliased_entities": len(aliased),
            "inconsistent": sorted(set(aliased) - set(consistent)),
        },
        "n_paragraphs": len(paragraphs),
        "n_gold": sum(len(m) for m in paragraphs.values()),
        "errors": errors,
    }


def meets_targets(result: dict) -> list[str]:
    """The targets the result falls short of, in words (empty when all are met)."""
    short = []
    for type_ in TARGET_TYPES:
        f1 = result["per_type"].get(type_, {}).get("f1")
        if f1 is not None and f1 < TARGET_F1:
            short.append(f"{type_} F1 {f1:.3f} < {TARGET_F1}")
    if result["linking"]["accuracy"] < TARGET_LINKING:
        short.append(f"linking accuracy {result['linking']['accuracy']:.3f} < {TARGET_LINKING}")
    return short


def format_report(result: dict, *, max_errors: int = 40) -> str:
    lines = [
        f"Entity tagger on the gold sample: {result['n_paragraphs']} paragraphs, "
        f"{result['n_gold']} gold mentions",
        "",
        f"{'type':<8} {'P':>6} {'R':>6} {'F1':>6} {'tp':>5} {'fp':>5} {'fn':>5}",
    ]
    for type_ in ENTITY_TYPES:
        if type_ in result["per_type"]:
            s = result["per_type"][type_]
            lines.append(f"{type_:<8} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
                         f"{s['tp']:5d} {s['fp']:5d} {s['fn']:5d}")
    s = result["overall"]
    lines.append(f"{'overall':<8} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
                 f"{s['tp']:5d} {s['fp']:5d} {s['fn']:5d}")
    link = result["linking"]
    lines += [
        "",
        f"linking accuracy   {link['accuracy']:.3f} ({link['correct']}/{link['matched']} matched mentions)",
        f"alias consistency  {link['alias_consistency']:.3f} "
        f"({link['aliased_entities']} entities written more than one way)",
    ]
    if link["inconsistent"]:
        lines.append("  split across ids: " + ", ".join(link["inconsistent"]))
    short = meets_targets(result)
    lines += ["", "targets: " + ("all met" if not short else "NOT met: " + "; ".join(short))]
    if result["errors"]:
        lines += ["", f"errors ({len(result['errors'])}, first {max_errors}):"]
        for error in result["errors"][:max_errors]:
            extra = f" -> {error['predicted_id']}" if error["kind"] == "wrong_id" else ""
            lines.append(f"  {error['kind']:<8} {error['para_id']:<22} {error['type']:<7} "
                         f"{error['text']}  [{error.get('entity_id')}]{extra}")
    return "\n".join(lines)


def load_gold(path: Path = DEFAULT_GOLD) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def tag_gold_documents(gold: dict, seeds_dir: Path = DEFAULT_SEEDS,
                       samples_dir: Path = DEFAULT_SAMPLES) -> tuple[list[dict], list[str]]:
    """Run the text pipeline and the tagger on every document the gold covers.

    A gold document's source_file is looked up in seeds_dir, then in samples_dir.

    Returns the entity rows and the gold para_ids the pipeline did not produce
    (those would make the gold silently unscoreable).
    """
    from pipeline.lib.document import process_document
    from pipeline.lib.text.ingest import read_sidecar, sidecar_for

    rows: list[dict] = []
    missing: list[str] = []
    for document in gold["documents"]:
        path = Path(seeds_dir) / document["source_file"]
        if not path.is_file():
            path = Path(samples_dir) / document["source_file"]
        sidecar_path = sidecar_for(path)
        sidecar = read_sidecar(sidecar_path if sidecar_path.is_file() else None)
        processed = process_document(path.read_text(encoding="utf-8"), source_file=path.name,
                                     sidecar=sidecar)
        para_ids = {p["para_id"] for p in processed.paragraphs}
        missing += [pid for pid in document["paragraphs"] if pid not in para_ids]
        rows += processed.entities
    return rows, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score the entity tagger on the gold sample.")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES,
                        help="where source files not found in --seeds are looked up")
    parser.add_argument("--heldout", action="store_true",
                        help=f"score the held-out gold ({DEFAULT_HELDOUT_GOLD.name}) instead of --gold")
    parser.add_argument("--max-errors", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    args = parser.parse_args(argv)
    gold = load_gold(DEFAULT_HELDOUT_GOLD if args.heldout else args.gold)
    rows, missing = tag_gold_documents(gold, args.seeds, args.samples)
    result = evaluate(rows, gold)
    result["missing_para_ids"] = missing
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_report(result, max_errors=args.max_errors))
        if missing:
            print("\ngold paragraphs the pipeline did not produce: " + ", ".join(missing))
    if missing or (args.strict and meets_targets(result)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
