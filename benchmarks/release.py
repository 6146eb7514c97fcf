"""The release's cost as the corpus grows: the full release of N documents, a rebuild with
nothing new, and one new report into the built corpus (its corpus tables and release only:
the report's own stages are timed apart). The corpus is built from the seeds
(benchmarks/corpus.py) with the fast tokenizer, which shapes nothing measured here.

    python -m benchmarks.release --n 1000 10000

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


def bench(n: int, root: Path) -> dict:
    from pipeline.lib.text.ingest import list_documents

    seeds, data = root / "seeds", root / "data"
    built = _build(seeds, data, build_corpus(seeds, n))
    keys = [e.doc_id for e in list_documents(seeds)]
    result: dict = {"n": n, "documents_built_seconds": round(built, 1)}
    result["full"] = corpus_release(data, keys, today=TODAY)
    result["nothing_new"] = corpus_release(data, keys, today=TODAY)
    new = build_corpus(seeds, 1, start=n)
    result["new_report_stages_seconds"] = _build(seeds, data, new)
    keys = [e.doc_id for e in list_documents(seeds)]
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
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "platform": platform.platform(), "load_average_before": os.getloadavg()},
               "sizes": []}
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="unparl-release-bench-") as tmp:
            r = bench(n, Path(tmp))
        results["sizes"].append(r)
        print(f"\n{n} documents (built in {r['documents_built_seconds']} s; releases on disk "
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
