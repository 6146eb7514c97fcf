"""What Dagster costs on a Postgres instance next to the embedded SQLite one: `make bench` runs it
when PostgreSQL is installed, or `python -m benchmarks.postgres --n 100`.

On one synthetic corpus of N documents (benchmarks/corpus.py) it measures:

1. the per-document stages outside Dagster (pipeline.lib.runner), once, on a warm worker pool;
2. for each instance (SQLite: the repo's `.dagster.yaml`; Postgres: a throwaway cluster with its
   default, durable settings, configured by `docs/production/dagster.postgres.yaml`), `unparl
   build`'s work in this process (pipeline.build.build) on a fresh data folder: the
   document_chain run's wall time, its events, and Dagster's overhead (the run's wall time minus
   the same stages outside it) per document and per event; then one new document (the
   document_chain and corpus_release runs the sensor's build makes), their wall time and the
   share of it outside their steps;
3. for each instance, adding 100,000 dynamic partitions (in batches of 10,000) and listing them
   (what the sensor and `unparl build` do on every look).

Prints a table and writes benchmarks/results/<date>_postgres_n<N>.json.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import build_corpus
from benchmarks.run import PeakRSS, _runs_of, _summed, _warm_up, add_partitions, timed
from pipeline.build import environment

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
POSTGRES_YAML = REPO / "docs" / "production" / "dagster.postgres.yaml"
SQLITE_YAML = REPO / ".dagster.yaml"


@contextlib.contextmanager
def instance_on(kind: str, home: Path, server):
    """A DagsterInstance on `kind` ("sqlite" or "postgres", then on a new database of `server`)."""
    import dagster as dg

    home.mkdir(parents=True)
    env = {}
    if kind == "postgres":
        shutil.copy(POSTGRES_YAML, home / "dagster.yaml")
        env = server.env(server.create_database("bench"))
    else:
        shutil.copy(SQLITE_YAML, home / "dagster.yaml")
    with environment(env):
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            yield instance
        finally:
            instance.dispose()


def builds(kind: str, server, seeds: Path, root: Path, n: int, backend: str, workers: int, outside: float,
           rss: PeakRSS) -> dict:
    """All N documents, then one new one, through `unparl build`'s work on this instance."""
    from pipeline.build import build
    from pipeline.defs.resources import UnparlSettings
    from pipeline.lib import planning

    data = root / f"{kind}_data"
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data), tokenizer=backend, workers=workers)
    record: dict = {}
    with instance_on(kind, root / f"{kind}_home", server) as instance:
        full: dict = {}
        with timed(full, rss):
            report = build(seeds, data, instance=instance, resources={"settings": settings})
        chain = _summed(_runs_of(instance, report.runs, planning.DOCUMENT_JOB))
        extra = chain["wall_seconds"] - outside
        full.update(processed=len(report.processed), document_chain=chain,
                    corpus_release=_summed(_runs_of(instance, report.runs, planning.CORPUS_JOB)),
                    ratio=round(chain["wall_seconds"] / outside, 3),
                    overhead_seconds=round(extra, 3), overhead_ms_per_document=round(1000 * extra / n, 2),
                    overhead_ms_per_event=round(1000 * extra / chain["events"], 2),
                    events_per_document=round(chain["events"] / n, 2))
        record["all_documents"] = full

        new = build_corpus(seeds, 1, start=n + 1)[0]
        one: dict = {}
        with timed(one, rss):
            report = build(seeds, data, instance=instance, resources={"settings": settings})
        runs = {job: _summed(_runs_of(instance, report.runs, job)) for job in (planning.DOCUMENT_JOB, planning.CORPUS_JOB)}
        one.update(processed=report.processed, runs=runs)
        record["one_new_document"] = one
        new.unlink()
        new.with_name(new.name.removesuffix(".txt") + ".meta.json").unlink(missing_ok=True)
    return record


def partitions(kind: str, server, root: Path, size: int) -> dict:
    with instance_on(kind, root / f"{kind}_partitions_home", server) as instance:
        _, added = add_partitions(instance, size)
        start = time.perf_counter()
        listed = instance.get_dynamic_partitions("documents")
        listing = time.perf_counter() - start
    assert len(listed) == size
    return {"partitions": size, "add_seconds": round(added, 3), "list_seconds": round(listing, 3)}


def measure(n: int, backend: str, workers: int, partition_count: int) -> dict:
    from pipeline.lib import runner
    from pipeline.lib.text.ingest import scan_sources
    from tests.production.services import start_postgres

    rss = PeakRSS()
    server = start_postgres(fsync=True)
    try:
        with tempfile.TemporaryDirectory(prefix="unparl-bench-pg-") as tmp:
            root = Path(tmp)
            seeds = root / "seeds"
            build_corpus(seeds, n)
            keys = [s.doc_id for s in scan_sources(seeds)]
            runner.shutdown()
            result: dict = {"n": n, "workers": workers, "pool_start_seconds": runner.start(workers, backend)}
            result["warm_up_seconds"] = _warm_up(seeds, root / "warm_up_data", keys, backend, workers)
            outside: dict = {}
            with timed(outside, rss):
                runner.run_documents(keys, data_dir=root / "outside_data", seeds_dir=seeds, backend=backend,
                                     workers=workers)
            result["outside"] = outside
            for kind in ("sqlite", "postgres"):
                result[kind] = builds(kind, server, seeds, root, n, backend, workers, outside["seconds"], rss)
            result["partitions"] = {kind: partitions(kind, server, root, partition_count)
                                    for kind in ("sqlite", "postgres")}
    finally:
        runner.shutdown()
        server.stop()
        rss.stop()
    return result


def print_result(r: dict) -> None:
    print(f"\nDagster on SQLite and on Postgres, N = {r['n']} documents, {r['workers']} workers "
          f"(the stages outside Dagster: {r['outside']['seconds']:.1f} s)")
    print(f"{'':44}{'SQLite':>12}{'Postgres':>12}")

    def row(label: str, get, fmt: str) -> None:
        print(f"  {label:42}" + "".join(f"{format(get(r[k]), fmt):>12}" for k in ("sqlite", "postgres")))

    row("document_chain run, all documents (s)", lambda x: x["all_documents"]["document_chain"]["wall_seconds"], ".1f")
    row("  × the stages outside Dagster", lambda x: x["all_documents"]["ratio"], ".2f")
    row("  events per document", lambda x: x["all_documents"]["events_per_document"], ".2f")
    row("  overhead per document (ms)", lambda x: x["all_documents"]["overhead_ms_per_document"], ".1f")
    row("  overhead per event (ms)", lambda x: x["all_documents"]["overhead_ms_per_event"], ".1f")
    row("corpus_release run, all documents (s)", lambda x: x["all_documents"]["corpus_release"]["wall_seconds"], ".1f")
    row("one new document: build (s)", lambda x: x["one_new_document"]["seconds"], ".1f")
    row("  document_chain run (s)", lambda x: x["one_new_document"]["runs"]["document_chain"]["wall_seconds"], ".1f")
    row("    share outside its step", lambda x: x["one_new_document"]["runs"]["document_chain"]["share_outside_steps"], ".0%")
    row("  corpus_release run (s)", lambda x: x["one_new_document"]["runs"]["corpus_release"]["wall_seconds"], ".1f")
    parts = r["partitions"]
    count = parts["sqlite"]["partitions"]
    print(f"  {f'add {count:,} dynamic partitions (s)':42}"
          + "".join(f"{parts[k]['add_seconds']:>12.2f}" for k in ("sqlite", "postgres")))
    print(f"  {f'list {count:,} dynamic partitions (s)':42}"
          + "".join(f"{parts[k]['list_seconds']:>12.2f}" for k in ("sqlite", "postgres")))


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.postgres", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="corpus size (default 100)")
    parser.add_argument("--backend", default=None, help="tokenizer backend (default: UNPARL_TOKENIZER or jieba)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the stages (default 2)")
    parser.add_argument("--partitions", type=int, default=100_000,
                        help="dynamic partitions to add and list (default 100000)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results JSON")
    args = parser.parse_args(argv)

    from tests.production.services import postgres_bindir

    if postgres_bindir() is None or shutil.which("openssl") is None:
        print("benchmarks.postgres: PostgreSQL (Debian's `postgresql`) or openssl is not installed; skipped")
        return None
    from pipeline.lib.text import tokens

    backend = tokens.current_backend(args.backend)
    result = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average_before": os.getloadavg()},
        "backend": tokens.backend_name(backend),
        **measure(args.n, backend, args.workers, args.partitions),
    }
    result["machine"]["load_average_after"] = os.getloadavg()
    print_result(result)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.date.today().isoformat()}_postgres_n{args.n}.json"
    path.write_text(json.dumps(result, indent=1, default=str) + "\n", "utf-8")
    print(f"\nresults: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    sys.stdout.flush()
    return result


if __name__ == "__main__":
    main()
