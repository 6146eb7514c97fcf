"""Measuring the entity tagger against the hand-annotated gold sample.

Gold mentions are keyed by paragraph and matched by (text, type) within the
paragraph, so the gold does not depend on exact offsets. Only paragraphs the
gold lists are scored: a paragraph listed with no mentions still counts false
positives.

Scores: precision, recall and F1 per type and overall (micro-averaged);
linking accuracy (among matched mentions, the share whose entity_id equals the
gold one); alias consistency (among gold entities written in two or more ways,
the share whose matched mentions all got one predicted id).

Three gold files: the seeds' (tests/gold/entities_gold.json, what the tagger was
developed on), the samples' (entities_gold_heldout.json) and the corpus of real
UN texts of several kinds (tests/corpus/entities_gold.json), whose documents carry
their kind and their part of tests/corpus/split.json (tuning or held-out). The
corpus is scored per kind and part (`corpus_report`).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from pipeline.schemas import ENTITY_CLASSES, entity_class

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_GOLD = REPO_ROOT / "tests" / "gold" / "entities_gold.json"
DEFAULT_SEEDS = REPO_ROOT / "seeds"
# Held-out gold: real UN texts the tagger was not developed on (../shared/samples, no sidecars).
DEFAULT_HELDOUT_GOLD = REPO_ROOT / "tests" / "gold" / "entities_gold_heldout.json"
DEFAULT_SAMPLES = REPO_ROOT.parent / "shared" / "samples"
DEFAULT_CORPUS_GOLD = REPO_ROOT / "tests" / "corpus" / "entities_gold.json"
DEFAULT_CORPUS_TEXTS = REPO_ROOT / "tests" / "corpus" / "texts"
# The last recorded scores (`make eval` writes the gold sample's and the corpus's held-out part's,
# `--heldout --record` the held-out sample's): package data, so a release's data card can say them
# without running the tagger.
QUALITY_RECORD = Path(__file__).resolve().parents[2] / "quality" / "entities.json"
TARGET_TYPES = ("ORG", "GPE", "DOC", "LAW", "SDG", "DATE", "PERCENT")
TARGET_F1 = 0.90  # per type
TARGET_MICRO_F1 = 0.95  # all types together (issue 15)
TARGET_LINKING = 0.97


def paragraph_key(document: dict, para_id: str) -> str:
    """How a gold paragraph is keyed: its para_id, or for a corpus document (which has a kind)
    'source_file|para_id', since two excerpts of one report share a symbol (A/58/1:p1)."""
    return f"{document['source_file']}|{para_id}" if "kind" in document else para_id


def gold_paragraphs(gold: dict) -> dict[str, list[dict]]:
    """paragraph key -> gold mentions, from the gold file's layout or a flat mapping."""
    if "documents" in gold:
        merged: dict[str, list[dict]] = {}
        for document in gold["documents"]:
            merged.update({paragraph_key(document, pid): m for pid, m in document["paragraphs"].items()})
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
    counts = {t: {"tp": 0, "fp": 0, "fn": 0} for t in ENTITY_CLASSES}
    matched: list[tuple[dict, dict, str]] = []  # (gold mention, predicted row, para_id)
    errors: list[dict] = []
    for para_id, mentions in paragraphs.items():
        pool: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for row in predicted.get(para_id, []):
            pool[(row["text"], entity_class(row))].append(row)
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
    if result["overall"]["f1"] < TARGET_MICRO_F1:
        short.append(f"micro-F1 {result['overall']['f1']:.3f} < {TARGET_MICRO_F1}")
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
    for type_ in ENTITY_CLASSES:
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


def record_quality(result: dict, *, key: str, gold_path: Path, command: str, path: Path = QUALITY_RECORD) -> dict:
    """Write the scores of one gold set (`key`: gold, heldout or corpus_heldout; the figures a data
    card shows, with the date and the command) into the quality record, keeping the other sets'."""
    import datetime

    record = recorded_quality(path)
    gold_name = Path(gold_path).resolve()
    record[key] = {
        "measured": datetime.date.today().isoformat(),
        "command": command,
        "gold_file": gold_name.relative_to(REPO_ROOT).as_posix() if gold_name.is_relative_to(REPO_ROOT) else gold_name.name,
        "n_paragraphs": result["n_paragraphs"],
        "n_gold": result["n_gold"],
        "per_type": result["per_type"],
        "overall": result["overall"],
        "linking_accuracy": result["linking"]["accuracy"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return record


def recorded_quality(path: Path = QUALITY_RECORD) -> dict:
    """The recorded scores ({"gold": …, "heldout": …}), or {} when none were recorded."""
    return json.loads(path.read_text(encoding="utf-8")) if Path(path).is_file() else {}


def load_gold(path: Path = DEFAULT_GOLD) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _local(para_id: str) -> str:
    """A para_id without its document part: 'S/RES/347(1974):op1' -> 'op1'."""
    return para_id.rsplit(":", 1)[-1]


def tag_gold_documents(gold: dict, seeds_dir: Path = DEFAULT_SEEDS,
                       samples_dir: Path = DEFAULT_SAMPLES,
                       corpus_dir: Path = DEFAULT_CORPUS_TEXTS) -> tuple[list[dict], list[str]]:
    """Run the text pipeline and the tagger on every document the gold covers.

    A gold document's source_file is looked up in seeds_dir, then in samples_dir, then in
    corpus_dir (where it names its kind's folder: sc_resolution/s_res_368_1975.txt). A
    pipeline paragraph whose id differs from the gold's only before the last ':' (the
    symbol, which the metadata reader may learn to find) is scored under the gold's id.

    Returns the entity rows and the gold para_ids the pipeline did not produce
    (those would make the gold silently unscoreable).
    """
    from pipeline.lib.document import process_document
    from pipeline.lib.text.ingest import read_sidecar, sidecar_for

    rows: list[dict] = []
    missing: list[str] = []
    for document in gold["documents"]:
        for folder in (seeds_dir, samples_dir, corpus_dir):
            path = Path(folder) / document["source_file"]
            if path.is_file():
                break
        else:
            raise FileNotFoundError(f"gold document {document['source_file']}: not in {seeds_dir}, "
                                    f"{samples_dir} or {corpus_dir}")
        sidecar_path = sidecar_for(path)
        sidecar = read_sidecar(sidecar_path if sidecar_path.is_file() else None)
        processed = process_document(path.read_text(encoding="utf-8"), source_file=path.name,
                                     sidecar=sidecar)
        para_ids = {p["para_id"] for p in processed.paragraphs}
        by_local = {_local(pid): pid for pid in document["paragraphs"] if pid not in para_ids}
        renamed = {p: by_local[_local(p)] for p in para_ids if _local(p) in by_local}
        para_ids = {renamed.get(p, p) for p in para_ids}
        missing += [pid for pid in document["paragraphs"] if pid not in para_ids]
        rows += [{**row, "para_id": paragraph_key(document, renamed.get(row["para_id"], row["para_id"]))}
                 for row in processed.entities]
    return rows, missing


def gold_subset(gold: dict, **where: str) -> dict:
    """The gold restricted to the documents whose fields equal ``where`` (kind=..., part=...)."""
    return {**gold, "documents": [d for d in gold["documents"]
                                  if all(d.get(k) == v for k, v in where.items())]}


def corpus_results(gold: dict, rows: list[dict]) -> dict[tuple[str, str], dict]:
    """evaluate() per (kind, part) of the corpus gold, with ('all', part) for each part."""
    results = {}
    parts = sorted({d.get("part", "") for d in gold["documents"]}, key=("tuning", "heldout").index)
    for part in parts:
        for kind in sorted({d["kind"] for d in gold["documents"] if d.get("part") == part}):
            results[(kind, part)] = evaluate(rows, gold_subset(gold, kind=kind, part=part))
        results[("all", part)] = evaluate(rows, gold_subset(gold, part=part))
    return results


def corpus_report(results: dict[tuple[str, str], dict], gold: dict) -> str:
    lines = [f"Entity tagger on the corpus of real UN texts (tests/corpus), per document kind "
             f"(targets: micro-F1 >= {TARGET_MICRO_F1}, linking >= {TARGET_LINKING})", "",
             f"{'part':<8} {'kind':<26} {'docs':>4} {'gold':>5} {'P':>6} {'R':>6} {'F1':>6} {'link':>6}"]
    for (kind, part), result in results.items():
        n_docs = len(gold_subset(gold, kind=kind, part=part)["documents"]) if kind != "all" \
            else len(gold_subset(gold, part=part)["documents"])
        s, link = result["overall"], result["linking"]["accuracy"]
        lines.append(f"{part:<8} {kind:<26} {n_docs:>4} {result['n_gold']:>5} {s['precision']:6.3f} "
                     f"{s['recall']:6.3f} {s['f1']:6.3f} {link:6.3f}")
    for part in ("tuning", "heldout"):
        if ("all", part) in results:
            short = [t for t in meets_targets(results[("all", part)]) if t.startswith(("micro", "linking"))]
            lines.append(f"{part}: " + ("targets met" if not short else "NOT met: " + "; ".join(short)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score the entity tagger on the gold sample.")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES,
                        help="where source files not found in --seeds are looked up")
    parser.add_argument("--heldout", action="store_true",
                        help=f"score the held-out gold ({DEFAULT_HELDOUT_GOLD.name}) instead of --gold")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS_GOLD,
                        help="gold of the corpus of real UN texts, scored per kind and part")
    parser.add_argument("--corpus-errors", action="store_true",
                        help="also list the corpus's errors (its tuning part; the held-out part's stay unread)")
    parser.add_argument("--max-errors", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    parser.add_argument("--record", action="store_true",
                        help=f"write the scores into {QUALITY_RECORD.relative_to(REPO_ROOT)} for the data card")
    args = parser.parse_args(argv)
    gold_path = DEFAULT_HELDOUT_GOLD if args.heldout else args.gold
    gold = load_gold(gold_path)
    rows, missing = tag_gold_documents(gold, args.seeds, args.samples)
    result = evaluate(rows, gold)
    result["missing_para_ids"] = missing
    if args.record and not missing:
        record_quality(result, key="heldout" if args.heldout else "gold", gold_path=gold_path,
                       command="python -m pipeline.lib.entities.evaluation --heldout --record" if args.heldout
                       else "make eval")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_report(result, max_errors=args.max_errors))
        if missing:
            print("\ngold paragraphs the pipeline did not produce: " + ", ".join(missing))
    corpus_failed = False
    if not args.heldout and args.corpus.is_file():
        corpus_gold = load_gold(args.corpus)
        corpus_rows, corpus_missing = tag_gold_documents(corpus_gold, args.seeds, args.samples)
        results = corpus_results(corpus_gold, corpus_rows)
        if args.record and not corpus_missing and ("all", "heldout") in results:
            record_quality(results[("all", "heldout")], key="corpus_heldout", gold_path=args.corpus, command="make eval")
        if args.json:
            print(json.dumps({f"{part}/{kind}": r for (kind, part), r in results.items()}, ensure_ascii=False, indent=2))
        else:
            print("\n" + corpus_report(results, corpus_gold))
            if args.corpus_errors and ("all", "tuning") in results:
                tuning = results[("all", "tuning")]
                print(f"\ntuning errors ({len(tuning['errors'])}):")
                for error in tuning["errors"][:args.max_errors]:
                    extra = f" -> {error['predicted_id']}" if error["kind"] == "wrong_id" else ""
                    print(f"  {error['kind']:<8} {error['para_id']:<30} {error['type']:<7} "
                          f"{error['text']}  [{error.get('entity_id')}]{extra}")
            if corpus_missing:
                print("\ncorpus gold paragraphs the pipeline did not produce: " + ", ".join(corpus_missing))
        corpus_failed = bool(corpus_missing) or (args.strict and any(
            meets_targets(results[("all", part)]) for part in ("tuning", "heldout") if ("all", part) in results))
    if missing or corpus_failed or (args.strict and meets_targets(result)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
