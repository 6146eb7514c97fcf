"""One document at the size limit: wall time and peak RSS of each per-document stage.

`python -m benchmarks.large_document` (or `make bench-large`) builds a UTF-8 document just under
UNPARL_MAX_BYTES (20 MiB by default) from the seed texts, repeated with their paragraph numbers
renumbered so that every paragraph number is distinct, then runs the chain's stages on it with
pipeline.lib.runner.run_documents (workers=1), one stage at a time (documents, then tokens, then
entities), each in a fresh process: a stage's peak RSS (getrusage(RUSAGE_SELF).ru_maxrss) is its
own, not the previous stage's. It prints a table (stage, seconds, peak MiB) and the target: every
stage's peak RSS at most 1024 MiB (issue 14).

Options: --mib N (the document's size; default just under the limit), --until STAGE (the last
stage run; default entities), --json (one JSON object instead of the table), --keep DIR (build in
DIR and keep it). Exits 1 when a stage's peak is over the target.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
TARGET_MIB = 1024
STAGES = ("documents", "tokens", "entities")
DOC_NAME = "large_document.txt"
# A numbered paragraph: "12. ..." at the start of a line (full stop, then a space).
_NUMBERED = re.compile(r"^(\d+)\. ", re.MULTILINE)


def default_bytes() -> int:
    """Just under the size limit: the limit less 64 KiB (one seed text fits in the margin)."""
    from pipeline.lib.text.ingest import DEFAULT_MAX_BYTES

    return DEFAULT_MAX_BYTES - 64 * 1024


def make_document(path: Path, size: int, seeds: Path = SEEDS) -> int:
    """Write a UTF-8 document of at most `size` bytes: the seed texts one after another, again
    and again, each paragraph number replaced by the next of one count running through the
    whole document. Returns its size in bytes."""
    texts = [p.read_text("utf-8").strip("\n") for p in sorted(seeds.glob("*.txt"))]
    if not texts:
        raise SystemExit(f"no seed texts in {seeds}")
    count = 0

    def renumber(match: re.Match) -> str:
        nonlocal count
        count += 1
        return f"{count}. "

    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        while True:
            for text in texts:
                before = count
                chunk = (_NUMBERED.sub(renumber, text) + "\n\n").encode("utf-8")
                if written + len(chunk) > size:
                    count = before
                    return written
                out.write(chunk)
                written += len(chunk)


def peak_mib() -> float:
    """This process's peak RSS so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_one(stage: str, data: Path, seeds: Path, doc_id: str) -> dict:
    """One stage on the document, in this process (meant to be a fresh one)."""
    from pipeline.lib import runner

    began = time.perf_counter()
    outcome = runner.run_documents([doc_id], [stage], data_dir=data, seeds_dir=seeds, workers=1)[doc_id][stage]
    return {"stage": stage, "seconds": round(time.perf_counter() - began, 2), "peak_mib": round(peak_mib(), 1),
            "status": outcome.status, "reason": outcome.reason, "detail": outcome.detail, "rows": outcome.rows,
            "checks_failed": sorted(name for name, (ok, _) in outcome.checks.items() if not ok)}


def measure(stage: str, data: Path, seeds: Path, doc_id: str) -> dict:
    """One stage in a fresh subprocess; its measurement."""
    command = [sys.executable, "-m", "benchmarks.large_document", "--one", stage, "--data", str(data),
               "--seeds", str(seeds), "--doc-id", doc_id]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {stage} stage's process failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(size: int, until: str = STAGES[-1], folder: Path | None = None) -> dict:
    """Build the document in `folder` (a temporary one when None) and measure each stage up to
    `until` (each reads the work files of the ones before it)."""
    from pipeline.lib.text.ingest import doc_id_for

    with tempfile.TemporaryDirectory(prefix="unparl-large-") as tmp:
        base = Path(folder) if folder else Path(tmp)
        seeds, data = base / "seeds", base / "data"
        doc = seeds / DOC_NAME
        written = make_document(doc, size)
        doc_id = doc_id_for(doc)
        results = [measure(stage, data, seeds, doc_id) for stage in STAGES[:STAGES.index(until) + 1]]
    return {"document_bytes": written, "document_mib": round(written / 2**20, 2), "doc_id": doc_id,
            "target_peak_mib": TARGET_MIB, "stages": results}


def table(report: dict) -> str:
    lines = [f"document: {report['document_bytes']:,} bytes ({report['document_mib']} MiB), one process per stage",
             f"{'stage':<10} {'seconds':>8} {'peak MiB':>9}  status  rows",
             "-" * 60]
    for r in report["stages"]:
        rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
        failed = f"  checks failed: {', '.join(r['checks_failed'])}" if r["checks_failed"] else ""
        lines.append(f"{r['stage']:<10} {r['seconds']:>8.1f} {r['peak_mib']:>9.0f}  {r['status']:<6}  {rows}{failed}")
    worst = max(r["peak_mib"] for r in report["stages"])
    verdict = "met" if worst <= report["target_peak_mib"] else "NOT met"
    lines.append(f"target: peak RSS <= {report['target_peak_mib']} MiB per stage: {verdict} (highest {worst:.0f} MiB)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=float, help="the document's size in MiB (default: just under the limit)")
    parser.add_argument("--until", choices=STAGES, default=STAGES[-1], help="the last stage run (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    # internal: one stage in this process
    parser.add_argument("--one", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--doc-id", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.data, args.seeds, args.doc_id), ensure_ascii=False))
        return 0
    size = int(args.mib * 2**20) if args.mib else default_bytes()
    report = run(size, args.until, args.keep)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else table(report))
    return 0 if all(r["peak_mib"] <= TARGET_MIB for r in report["stages"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
