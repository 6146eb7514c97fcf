"""`unparl build`: materialise every asset for every document, through Dagster, and summarise."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _summary(data_dir: Path, report) -> str:
    import pyarrow.parquet as pq

    rel = report.release
    lines = [
        f"seen: {report.summary}",
        f"documents added: {len(report.added)}, removed: {len(report.removed)}, "
        f"processed: {len(report.processed)} ({', '.join(report.processed) or 'none: nothing changed'})",
        f"release: {rel.get('version')} ({rel.get('reason')})",
    ]
    path = Path(str(rel.get("path") or ""))
    if path.is_dir():
        lines.append(f"release folder: {path}")
        counts = {name: pq.ParquetFile(path / f"{name}.parquet").metadata.num_rows
                  for name in ("documents", "paragraphs", "sentences", "tokens", "entities", "quarantine")
                  if (path / f"{name}.parquet").exists()}
        lines.append("  " + ", ".join(f"{n}: {c:,}" for n, c in counts.items()))
        docs = pq.read_table(path / "documents.parquet",
                             columns=["doc_id", "symbol", "doc_type", "n_paragraphs", "n_sentences", "n_tokens"])
        for row in docs.to_pylist():
            lines.append(f"  {row['symbol'] or row['doc_id']:<16} {str(row['doc_type'] or ''):<11}"
                         f" paragraphs {row['n_paragraphs']:>4}  sentences {row['n_sentences']:>4}"
                         f"  tokens {row['n_tokens']:>6}")
        from pipeline.lib.release.provenance import release_notes

        notes = release_notes(pq.read_table(path / "documents.parquet", columns=["doc_id", "symbol", "warnings"]),
                              pq.read_table(path / "quarantine.parquet"))
        for note in notes[:10]:
            lines.append(f"  note: {note}")
        if len(notes) > 10:
            lines.append(f"  … {len(notes) - 10} more notes in the release's README.md")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unparl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build every asset for every document and cut a release")
    build.add_argument("--seeds", type=Path, default=Path(os.environ.get("UNPARL_SEEDS_DIR", "seeds")),
                       help="folder of source documents (env UNPARL_SEEDS_DIR; default ./seeds)")
    build.add_argument("--data", type=Path, default=Path(os.environ.get("UNPARL_DATA_DIR", "data")),
                       help="data folder for work files and releases (env UNPARL_DATA_DIR; default ./data)")
    sub.add_parser("eval", help="precision, recall and F1 of the entity tagger on the gold sample")
    args = parser.parse_args(argv)

    if args.command == "eval":
        from pipeline.lib.entities.evaluation import main as eval_main

        return eval_main([])
    from pipeline.build import build as run_build, ensure_instance_home

    home = ensure_instance_home(Path.cwd() / ".dagster_home")
    os.environ["UNPARL_SEEDS_DIR"] = str(args.seeds.resolve())
    os.environ["UNPARL_DATA_DIR"] = str(args.data.resolve())
    print(f"Dagster instance: {home}")
    report = run_build(args.seeds, args.data)
    print(_summary(args.data.resolve(), report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
