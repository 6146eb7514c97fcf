"""The release's cost as the corpus grows: the full release of N documents, a rebuild with
nothing new, and one new report into the built corpus (its corpus tables and release only:
the report's own stages are timed apart). The corpus is built from the seeds
(benchmarks/corpus.py) with the fast tokenizer, which shapes nothing measured here.

    python -m benchmarks.release --n 1000 10000

A size above --built (1,000) is made of the built documents copied under new ids, symbols and
source hashes (clone_corpus): the stages' output is the same, and the corpus-wide costs measured
here see as many documents, parts and rows as a corpus built from scratch.

Targets (issue 13): one new report into 1,000 documents ≤ 3 s, into 10,000 ≤ 5 s (the cost must
not grow with the corpus), the full release of 1,000 documents ≤ 6 s.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import build_corpus

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"incremental": {1000: 3.0, 10000: 5.0}, "full": {1000: 6.0}}
BACKEND = "rjieba"
TODAY = datetime.date(2026, 12, 1)


def corpus_release(data: Path, keys: list[str], *, today: datetime.date) -> dict[str, float]:
    """What the corpus assets do after the documents' stages (corpus, entity_catalog,
    document_status, corpus_statistics, release), in one process, timed piece by piece."""
    from pipeline import schemas
    from pipeline.lib.corpus import assemble
    from pipeline.lib.entities.catalog import catalog_from_partials
    from pipeline.lib.release.cut import cut_release
    from pipeline.lib.release.provenance import code_version, release_notes
    from pipeline.lib.release.stats import combine
    from pipeline.lib.storage import to_arrow

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    corpus = assemble(data, keys)
    seconds["assemble"] = time.perf_counter() - start

    start = time.perf_counter()
    catalog = to_arrow(catalog_from_partials(corpus.partials["entity_mentions"]), schemas.ENTITY_CATALOG)
    seconds["catalog"] = time.perf_counter() - start

    start = time.perf_counter()
    statistics = combine(corpus.partials, corpus.documents, corpus.quarantine, catalog)
    seconds["statistics"] = time.perf_counter() - start

    start = time.perf_counter()
    notes = release_notes(corpus.documents, corpus.quarantine) + corpus.warnings
    result = cut_release(data, {**corpus.tables(), "entity_catalog": catalog}, statistics.tables,
                         statistics.summary, inputs=corpus.inputs, notes=notes, code_version=code_version(),
                         today=today, fingerprints=corpus.fingerprints, index=corpus.documents)
    seconds["release"] = time.perf_counter() - start
    seconds["total"] = sum(seconds.values())
    seconds["parts_written"] = result.parts_written
    seconds["parts_linked"] = result.parts_linked
    seconds["created"] = result.created
    return seconds


def _build(seeds: Path, data: Path, paths: list[Path]) -> float:
    from pipeline.lib import chain, runner, stamps
    from pipeline.lib.text.ingest import DEFAULT_MAX_BYTES, doc_id_for

    keys = [doc_id_for(p) for p in paths]
    start = time.perf_counter()
    runner.run_documents(keys, data_dir=data, seeds_dir=seeds, backend=BACKEND, workers=2)
    for key in keys:
        stamps.write_stamp(data, key, chain.NAMES, stamps.settings_key(DEFAULT_MAX_BYTES, BACKEND))
    return time.perf_counter() - start


def clone_corpus(data: Path, keys: list[str], copies: int) -> list[str]:
    """The built documents copied `copies` times more under new ids, symbols and source hashes
    (work files and stamps rewritten as the stages would have written them for such a copy): a
    corpus `copies + 1` times the size for the corpus-wide costs, without running the stages
    again. Returns every document id."""
    import hashlib
    import json

    import pyarrow as pa

    from pipeline.lib.corpus import _rewrite_ids
    from pipeline.lib.stamps import read_stamp
    from pipeline.lib.storage import atomic_write_text
    from pipeline.lib.workdir import TABLES, read_work, stamp_path, write_work

    def replaced(table: pa.Table, column: str, values: list) -> pa.Table:
        i = table.schema.get_field_index(column)
        return table.set_column(i, table.schema.field(column), pa.array(values, table.schema.field(column).type))

    every = list(keys)
    for doc_id in keys:
        tables = {name: read_work(data, name, doc_id) for name in TABLES}
        symbol = tables["documents"].column("symbol")[0].as_py()
        first = tables["paragraphs"].column("para_id")
        prefix = first[0].as_py().rsplit(":", 1)[0] if len(first) else None
        stamp = read_stamp(data, doc_id)
        for copy in range(1, copies + 1):
            new = f"{doc_id}-c{copy:02d}"
            sha = hashlib.sha256(f"{tables['raw'].column('source_sha256')[0].as_py()}:{copy}".encode()).hexdigest()
            for name, table in tables.items():
                table = replaced(table, "doc_id", [new] * table.num_rows)
                if name == "raw":
                    table = replaced(table, "source_sha256", [sha])
                    table = replaced(table, "source_file", [f"{new}.txt"])
                if name == "documents":
                    table = replaced(table, "source_sha256", [sha])
                    table = replaced(table, "symbol", [f"{symbol}-c{copy:02d}" if symbol else None])
                if prefix and name in ("paragraphs", "sentences", "tokens", "entities"):
                    table = _rewrite_ids(table, name, prefix, f"{prefix}-c{copy:02d}" if symbol else new)
                write_work(data, name, new, table)
            atomic_write_text(stamp_path(data, new), json.dumps({**stamp, "source_sha256": sha}))
            every.append(new)
    return sorted(every)


def bench(n: int, root: Path, *, built_n: int) -> dict:
    from pipeline.lib.text.ingest import list_documents

    seeds, data = root / "seeds", root / "data"
    built = _build(seeds, data, build_corpus(seeds, built_n))
    keys = [e.doc_id for e in list_documents(seeds)]
    if n > built_n:
        keys = clone_corpus(data, keys, n // built_n - 1)
    result: dict = {"n": len(keys), "built": built_n, "documents_built_seconds": round(built, 1)}
    result["full"] = corpus_release(data, keys, today=TODAY)
    result["nothing_new"] = corpus_release(data, keys, today=TODAY)
    new = build_corpus(seeds, 1, start=built_n)
    result["new_report_stages_seconds"] = _build(seeds, data, new)
    keys = sorted(set(keys) | {e.doc_id for e in list_documents(seeds)})
    result["incremental"] = corpus_release(data, keys, today=TODAY)
    release_bytes = sum(p.stat().st_size for p in (data / "releases").rglob("*") if p.is_file())
    result["releases_mib_on_disk"] = round(_disk_usage(data / "releases") / 2**20, 1)
    result["releases_mib_apparent"] = round(release_bytes / 2**20, 1)
    return result


def _disk_usage(folder: Path) -> int:
    """Bytes on disk, each hard-linked file counted once."""
    seen, total = set(), 0
    for path in folder.rglob("*"):
        st = path.lstat()
        if path.is_file() and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def _line(name: str, r: dict, target: float | None) -> str:
    parts = ", ".join(f"{k} {r[k]:.2f}" for k in ("assemble", "catalog", "statistics", "release"))
    verdict = "" if target is None else f"  target ≤ {target:.0f} s: {'met' if r['total'] <= target else 'MISSED'}" \
                                        f" (ratio {r['total'] / target:.2f})"
    return (f"  {name:<12} {r['total']:6.2f} s  ({parts}; parts written {r['parts_written']}, "
            f"linked {r['parts_linked']}){verdict}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000], help="corpus sizes (default 1000)")
    parser.add_argument("--built", type=int, default=1000,
                        help="documents built through the stages (default 1000); a larger size copies them "
                             "under new ids, symbols and hashes (clone_corpus), so its corpus-wide costs are "
                             "measured without running the stages again")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "platform": platform.platform(), "load_average_before": os.getloadavg()},
               "sizes": []}
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="unparl-release-bench-") as tmp:
            r = bench(n, Path(tmp), built_n=min(n, args.built))
        results["sizes"].append(r)
        print(f"\n{r['n']} documents ({r['built']} built in {r['documents_built_seconds']} s, the rest copies; releases on disk "
              f"{r['releases_mib_on_disk']} MiB, {r['releases_mib_apparent']} MiB counting links twice):")
        print(_line("full", r["full"], TARGETS["full"].get(n)))
        print(_line("nothing new", r["nothing_new"], None))
        print(_line("new report", r["incremental"], TARGETS["incremental"].get(n)))
        print(f"  the new report's own stages: {r['new_report_stages_seconds']:.2f} s")
    sizes = results["sizes"]
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        growth = last["incremental"]["total"] / first["incremental"]["total"]
        print(f"\none new report: {first['incremental']['total']:.2f} s at {first['n']:,} documents, "
              f"{last['incremental']['total']:.2f} s at {last['n']:,} ({growth:.2f}x for "
              f"{last['n'] / first['n']:.0f}x the corpus)")
    results["machine"]["load_average_after"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.date.today().isoformat()}_release_n{'-'.join(map(str, args.n))}.json"
    path.write_text(json.dumps(results, indent=1, default=str) + "\n", "utf-8")
    print(f"\nresults: {path}")
    return results


if __name__ == "__main__":
    main()
