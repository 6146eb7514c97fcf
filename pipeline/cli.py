"""`unparl build`: materialise every asset for every document, through Dagster, and summarise."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _summary(data_dir: Path, report) -> str:
    rel = report.release
    lines = [
        f"seen: {report.summary}",
        f"documents added: {len(report.added)}, removed: {len(report.removed)}, "
        f"processed: {len(report.processed)} ({', '.join(report.processed) or 'none: nothing changed'})",
        f"release: {rel.get('version')} ({rel.get('reason')})",
    ]
    path = Path(str(rel.get("path") or ""))
    if path.is_dir():
        from pipeline.lib.release.cut import read_table, table_rows
        from pipeline.lib.release.provenance import release_notes

        lines.append(f"release folder: {path}")
        counts = {name: table_rows(path, name)
                  for name in ("documents", "paragraphs", "sentences", "tokens", "entities", "quarantine")}
        lines.append("  " + ", ".join(f"{n}: {c:,}" for n, c in counts.items()))
        docs = read_table(path, "documents",
                          ["doc_id", "symbol", "doc_type", "n_paragraphs", "n_sentences", "n_tokens", "warnings"])
        for row in docs.to_pylist():
            lines.append(f"  {row['symbol'] or row['doc_id']:<16} {str(row['doc_type'] or ''):<11}"
                         f" paragraphs {row['n_paragraphs']:>4}  sentences {row['n_sentences']:>4}"
                         f"  tokens {row['n_tokens']:>6}")
        notes = release_notes(docs, read_table(path, "quarantine"))
        for note in notes[:10]:
            lines.append(f"  note: {note}")
        if len(notes) > 10:
            lines.append(f"  … {len(notes) - 10} more notes in the release's README.md")
    return "\n".join(lines)


def _serve(data_dir: Path, port: int) -> int:
    from pipeline.lib.release.site import make_server

    try:
        server = make_server(data_dir, port)
    except OSError as exc:  # no such folder, or the port is taken
        print(f"unparl serve: {exc}", file=sys.stderr)
        return 2
    host, bound = server.server_address[:2]
    print(f"Serving {data_dir.resolve()} read-only at http://{host}:{bound}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unparl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build every asset for every document and cut a release")
    build.add_argument("--seeds", type=Path, default=Path(os.environ.get("UNPARL_SEEDS_DIR", "seeds")),
                       help="folder of source documents (env UNPARL_SEEDS_DIR; default ./seeds)")
    build.add_argument("--data", type=Path, default=Path(os.environ.get("UNPARL_DATA_DIR", "data")),
                       help="data folder for work files and releases (env UNPARL_DATA_DIR; default ./data)")
    sub.add_parser("eval", help="precision, recall and F1 of the entity tagger on the gold sample; "
                                "metadata accuracy per document kind on tests/corpus")
    serve = sub.add_parser("serve", help="serve the data folder's download page and releases, read-only, on 127.0.0.1")
    serve.add_argument("--data", type=Path, default=Path(os.environ.get("UNPARL_DATA_DIR", "data")),
                       help="data folder (env UNPARL_DATA_DIR; default ./data)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 takes a free one)")
    args = parser.parse_args(argv)

    if args.command == "eval":
        from pipeline.lib.entities.evaluation import main as eval_main
        from pipeline.lib.text.metadata_eval import main as metadata_eval_main

        return max(eval_main(["--record"]), metadata_eval_main())
    if args.command == "serve":
        return _serve(args.data, args.port)
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
