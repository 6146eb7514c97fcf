"""The unparl benchmark: `make bench`, or `python -m benchmarks.run --n 100 1000`.

For each corpus size N it builds a synthetic corpus from the seeds (benchmarks/corpus.py) and
measures, in one run, on this machine:

1. the real per-document stages (pipeline/lib/stages.py), stage by stage over all documents,
   in one process, then the corpus-wide tables (entity catalog, statistics, release): for each,
   documents/s, MB/s (of source text), share of the time, and peak RSS of the process tree;
2. the incremental case: one new document added to the N-document corpus, processed alone,
   then the corpus-wide tables and a new release, against the full rebuild;
3. the raw throughput of the tokenizer backend alone on the same sentences, and the ratio
   end to end / raw tokenizer;
4. the same per-document stages over a pool of worker processes (pipeline/lib/parallel.py);
5. the same through Dagster (pipeline.build.build on a fresh SQLite instance): a run over all
   partitions, then a run for one new partition, so the orchestration overhead shows next to
   the compute; and the instance's cost of many dynamic partitions (--partition-scale).

Each corpus size runs in a process of its own, so one size's memory is not counted in the
next. Results go to benchmarks/results/<name>.json and a short table to stdout.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from benchmarks.corpus import build_corpus

RESULTS = Path(__file__).resolve().parent / "results"
STAGES = ("raw", "clean", "structure", "sentences", "tokens", "entities")
MB = 1_000_000


# --- peak RSS of this process and its children ------------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _tree() -> tuple[int, int]:
    """(resident bytes of the process tree, of its largest process). Pages shared between
    processes (libraries, a fork's untouched memory) count in each, so the sum overstates."""
    if not os.path.exists("/proc/self/statm"):
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return own, own
    total, largest, todo = 0, 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        rss = _rss(pid)
        total, largest = total + rss, max(largest, rss)
        todo.extend(_children(pid))
    return total, largest


class PeakRSS:
    """Samples the process tree's RSS every 20 ms: `peak` (the tree's sum) and `peak_process`
    (its largest process) since the last reset()."""

    def __init__(self) -> None:
        self.peak, self.peak_process = _tree()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def _sample(self) -> None:
        total, largest = _tree()
        self.peak, self.peak_process = max(self.peak, total), max(self.peak_process, largest)

    def reset(self) -> None:
        self.peak, self.peak_process = _tree()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def timed(record: dict, rss: PeakRSS):
    gc.collect()
    rss.reset()
    start = time.perf_counter()
    yield
    record["seconds"] = time.perf_counter() - start
    rss._sample()
    record["peak_rss_mib"] = round(rss.peak / 2**20, 1)
    record["peak_process_rss_mib"] = round(rss.peak_process / 2**20, 1)


# --- the pieces measured -------------------------------------------------------------------

def corpus_stage(data_dir: Path, doc_ids: list[str], *, today: datetime.date) -> dict[str, float]:
    """The corpus-wide assets' work (entity_catalog, corpus_statistics, release) without Dagster."""
    import polars as pl

    from pipeline import schemas
    from pipeline.lib import stages
    from pipeline.lib.entities import CATALOG_COLUMNS, build_catalog
    from pipeline.lib.provenance import code_version, release_inputs, release_notes
    from pipeline.lib.release import cut_release
    from pipeline.lib.stats import statistics_and_summary
    from pipeline.lib.storage import to_arrow, write_parquet

    seconds = {}
    start = time.perf_counter()
    mentions = stages.entity_mentions(data_dir, doc_ids, CATALOG_COLUMNS)
    catalog = to_arrow(build_catalog(pl.from_arrow(mentions)), schemas.ENTITY_CATALOG)
    catalog = write_parquet(stages.corpus_path(data_dir, "entity_catalog"), catalog,
                            sort_by=schemas.SORT_KEYS["entity_catalog"])
    seconds["catalog"] = time.perf_counter() - start

    start = time.perf_counter()
    tables, warnings = stages.corpus_tables(data_dir, doc_ids)
    tables["entity_catalog"] = catalog
    stats, summary = statistics_and_summary(tables)
    seconds["statistics"] = time.perf_counter() - start

    start = time.perf_counter()
    notes = release_notes(tables["documents"], tables["quarantine"]) + warnings
    cut_release(data_dir, tables, stats, summary, inputs=release_inputs(data_dir, doc_ids), notes=notes,
                code_version=code_version(), today=today)
    seconds["release"] = time.perf_counter() - start
    return seconds


def stage_by_stage(seeds: Path, data: Path, keys: list[str], backend: str, rss: PeakRSS) -> dict:
    from pipeline.lib import parallel, stages

    run = {}
    for stage in STAGES:
        record = {}
        with timed(record, rss):
            # In this process, as an asset's step runs a batch (one scan of the folder for raw).
            parallel.map_stage(stage, data, keys, workers=1, backend=backend, seeds_dir=seeds)
        run[stage] = record
    for key in keys:
        stages.write_stamp(data, key)
    record = {}
    with timed(record, rss):
        parts = corpus_stage(data, keys, today=datetime.date(2020, 9, 4))
    record["parts"] = parts
    run["corpus"] = record
    return run


def tokenizer_alone(data: Path, keys: list[str], backend: str) -> dict:
    """The backend's tagger on the same sentences, nothing else (text loaded beforehand)."""
    from pipeline.lib import stages, tokens

    pieces, whole = [], []
    for key in keys:
        text = stages.read_work(data, "documents", key).column("clean_text")[0].as_py()
        whole.append(text)
        for s in stages.read_work(data, "sentences", key).select(["char_start", "char_end"]).to_pylist():
            pieces.append(text[s["char_start"]:s["char_end"]])
    tag = tokens.tagger(backend)
    list(tag("预热。"))
    runs = []
    for _ in range(3 if len(keys) <= 200 else 1):
        start = time.perf_counter()
        for piece in pieces:
            for _pair in tag(piece):
                pass
        runs.append(time.perf_counter() - start)
    start = time.perf_counter()
    for text in whole:
        for _pair in tag(text):
            pass
    whole_seconds = time.perf_counter() - start
    mb = sum(len(p.encode()) for p in pieces) / MB
    return {"seconds": statistics.median(runs), "runs": runs, "sentence_mb": mb,
            "clean_mb": sum(len(t.encode()) for t in whole) / MB, "whole_text_seconds": whole_seconds}


def parallel_run(seeds: Path, data: Path, keys: list[str], backend: str, workers: int, rss: PeakRSS) -> dict:
    """The per-document stages on a pool of `workers` processes. Its start (fork server, imports,
    a dictionary per worker) is timed apart, as the single-process run's dictionary load is left
    out of its time: `seconds` compares throughput with throughput, `seconds_with_pool_start`
    is what a cold batch waits."""
    from pipeline.lib import parallel

    parallel.shutdown()
    record = {"workers": workers}
    record["pool_start_seconds"] = parallel.start(workers, backend)
    with timed(record, rss):
        per_doc = parallel.run_documents(data, keys, workers=workers, backend=backend, seeds_dir=seeds)
    record["seconds_with_pool_start"] = record["seconds"] + record["pool_start_seconds"]
    record["stage_seconds_in_workers"] = {s: sum(d[s] for d in per_doc.values()) for s in STAGES}
    parallel.shutdown()
    return record


def incremental(seeds: Path, data: Path, keys: list[str], n: int, backend: str, rss: PeakRSS) -> dict:
    """One new report into the built corpus: its own stages, then the corpus tables and a release."""
    from pipeline.lib import stages
    from pipeline.lib.ingest import doc_id_for

    new = build_corpus(seeds, 1, start=n)[0]
    key = doc_id_for(new)
    record = {"doc_id": key}
    with timed(record, rss):
        start = time.perf_counter()
        stages.run_document(seeds, data, key, backend=backend)
        record["document_seconds"] = time.perf_counter() - start
        record["corpus_parts"] = corpus_stage(data, keys + [key], today=datetime.date(2020, 9, 5))
    record["corpus_seconds"] = sum(record["corpus_parts"].values())
    new.unlink()
    new.with_name(new.stem + ".meta.json").unlink()
    stages.remove_work(data, key)
    return record


def through_dagster(seeds: Path, root: Path, n: int, backend: str, workers: int, rss: PeakRSS) -> dict:
    """pipeline.build.build on a fresh SQLite instance: all partitions, then one new partition."""
    import dagster as dg

    from pipeline.build import build
    from pipeline.defs.resources import UnparlSettings
    from pipeline.lib import parallel
    from pipeline.lib.ingest import doc_id_for

    parallel.shutdown()
    data = root / "dagster_data"
    home = root / "dagster_home"
    home.mkdir()
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data), tokenizer=backend, workers=workers)
    record: dict = {"workers": workers}
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        full: dict = {}
        with timed(full, rss):
            report = build(seeds, data, instance=instance, resources={"settings": settings})
        full["runs"] = len(report.runs)
        full["release"] = report.release.get("version")
        full["per_partition_overhead_runs"] = _run_overheads(instance, report.runs)
        record["all_partitions"] = full
        new = build_corpus(seeds, 1, start=n + 1)[0]
        one: dict = {"doc_id": doc_id_for(new)}
        with timed(one, rss):
            report = build(seeds, data, instance=instance, resources={"settings": settings})
        one["processed"] = report.processed
        one["runs"] = len(report.runs)
        one["step_seconds"] = _run_overheads(instance, report.runs)
        record["one_new_partition"] = one
    parallel.shutdown()
    return record


def _through_dagster_alone(seeds: Path, root: Path, n: int, backend: str, workers: int) -> dict:
    rss = PeakRSS()
    try:
        return through_dagster(seeds, root, n, backend, workers, rss)
    finally:
        rss.stop()


def _run_overheads(instance, run_ids: list[str]) -> dict:
    """Wall time of each run against the time its steps spent computing (from the run's stats)."""
    out = {}
    for run_id in run_ids:
        stats = instance.get_run_stats(run_id)
        steps = sum((s.end_time or 0) - (s.start_time or 0) for s in instance.get_run_step_stats(run_id))
        out[run_id[:8]] = {"run_seconds": round((stats.end_time or 0) - (stats.launch_time or stats.start_time or 0), 3),
                           "steps_seconds": round(steps, 3)}
    return out


def partition_scale(root: Path, sizes: list[int]) -> dict:
    """What many dynamic partitions cost the SQLite instance: adding them, listing them (the
    sensor and `unparl build` do on every tick), and the asset's partition status (what the UI's
    asset page and the partitions bar load)."""
    import dagster as dg
    from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

    from pipeline.defs.partitions import documents_partitions

    out = {}
    for size in sizes:
        home = root / f"scale_{size}"
        home.mkdir()
        with dg.instance_for_test(temp_dir=str(home)) as instance:
            keys = [f"doc_{i:07d}" for i in range(size)]
            start = time.perf_counter()
            for i in range(0, size, 10_000):
                instance.add_dynamic_partitions("documents", keys[i:i + 10_000])
            added = time.perf_counter() - start
            # A materialisation for every partition, recorded as the runs would, in bulk.
            start = time.perf_counter()
            for key in keys[: min(size, 2000)]:
                instance.report_runless_asset_event(dg.AssetMaterialization("tokens", partition=key))
            per_event = (time.perf_counter() - start) / min(size, 2000)
            start = time.perf_counter()
            listed = instance.get_dynamic_partitions("documents")
            listing = time.perf_counter() - start
            start = time.perf_counter()
            get_and_update_asset_status_cache_value(instance, dg.AssetKey("tokens"), documents_partitions,
                                                    dynamic_partitions_loader=instance)
            status_first = time.perf_counter() - start
            start = time.perf_counter()
            get_and_update_asset_status_cache_value(instance, dg.AssetKey("tokens"), documents_partitions,
                                                    dynamic_partitions_loader=instance)
            status_cached = time.perf_counter() - start
            db = sum(p.stat().st_size for p in home.rglob("*.db"))
            out[str(size)] = {"add_seconds": round(added, 3), "list_seconds": round(listing, 4),
                              "listed": len(listed), "event_write_ms": round(per_event * 1000, 2),
                              "status_first_seconds": round(status_first, 3),
                              "status_cached_seconds": round(status_cached, 4), "sqlite_mib": round(db / 2**20, 1)}
    return out


# --- one corpus size ---------------------------------------------------------------------

def bench_size(n: int, *, backend: str, workers: int, dagster: bool, root: Path, rss: PeakRSS) -> dict:
    from pipeline.lib import tokens
    from pipeline.lib.ingest import scan_sources

    seeds = root / f"n{n}" / "seeds"
    paths = build_corpus(seeds, n)
    source_mb = sum(p.stat().st_size for p in paths) / MB
    keys = [s.doc_id for s in scan_sources(seeds)]
    tokens.set_backend(backend)
    list(tokens.tagger(backend)("预热。"))  # the dictionary is loaded once, outside the timings
    from pipeline.lib.entities import load_gazetteer

    load_gazetteer()
    result: dict = {"n": n, "backend": tokens.backend_name(backend), "source_mb": round(source_mb, 3),
                    "load_average_before": os.getloadavg()}
    data = root / f"n{n}" / "data"
    result["stages"] = stage_by_stage(seeds, data, keys, backend, rss)
    # The new report goes into the corpus just built, as it would after a build.
    result["incremental"] = incremental(seeds, data, keys, n, backend, rss)
    result["tokenizer_alone"] = tokenizer_alone(data, keys, backend)
    if workers > 1:
        result["parallel"] = parallel_run(seeds, root / f"n{n}" / "data_parallel", keys, backend, workers, rss)
    if dagster:
        # In a process of its own, as `unparl build` runs: what the measurements above left in
        # this process's memory is not the build's.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
            result["dagster"] = child.submit(_through_dagster_alone, seeds, root / f"n{n}", n, backend, workers).result()
    result["load_average_after"] = os.getloadavg()  # other work on the machine skews the timings
    summarise_size(result)
    shutil.rmtree(root / f"n{n}", ignore_errors=True)
    return result


def summarise_size(r: dict) -> None:
    n, mb = r["n"], r["source_mb"]
    per_doc = sum(r["stages"][s]["seconds"] for s in STAGES)
    corpus = r["stages"]["corpus"]["seconds"]
    total = per_doc + corpus
    rows = []
    for name in (*STAGES, "corpus"):
        s = r["stages"][name]["seconds"]
        rows.append({"stage": name, "seconds": round(s, 3), "docs_per_s": round(n / s, 1) if s else None,
                     "mb_per_s": round(mb / s, 2) if s else None, "share": round(s / total, 3),
                     "peak_rss_mib": r["stages"][name]["peak_rss_mib"]})
    raw = r["tokenizer_alone"]
    raw_mbps = mb / raw["seconds"]
    s = {
        "table": rows,
        "per_document_seconds": round(per_doc, 3),
        "end_to_end_seconds": round(total, 3),
        "end_to_end_docs_per_s": round(n / total, 2),
        "end_to_end_mb_per_s": round(mb / total, 3),
        "tokenizer_alone_mb_per_s": round(raw_mbps, 3),
        "ratio_end_to_end_vs_tokenizer": round(raw["seconds"] / total, 3),
        "ratio_per_document_vs_tokenizer": round(raw["seconds"] / per_doc, 3),
        "peak_rss_mib": max(x["peak_rss_mib"] for x in rows),
    }
    inc = r["incremental"]
    s["incremental_seconds"] = round(inc["document_seconds"] + inc["corpus_seconds"], 3)
    s["incremental_document_share_of_rebuild"] = round(inc["document_seconds"] / per_doc, 5)
    s["incremental_vs_full_rebuild"] = round((inc["document_seconds"] + inc["corpus_seconds"]) / total, 4)
    s["incremental_peak_rss_mib"] = inc["peak_rss_mib"]
    if "parallel" in r:
        p = r["parallel"]
        s["parallel_workers"] = p["workers"]
        s["parallel_seconds"] = round(p["seconds"], 3)
        s["parallel_speedup"] = round(per_doc / p["seconds"], 3)
        s["parallel_pool_start_seconds"] = round(p["pool_start_seconds"], 3)
        s["parallel_speedup_with_pool_start"] = round(per_doc / p["seconds_with_pool_start"], 3)
        s["parallel_end_to_end_mb_per_s"] = round(mb / (p["seconds"] + corpus), 3)
        s["parallel_peak_rss_mib"] = p["peak_rss_mib"]
        s["parallel_peak_process_rss_mib"] = p["peak_process_rss_mib"]
    if "dagster" in r:
        d = r["dagster"]
        s["dagster_all_partitions_seconds"] = round(d["all_partitions"]["seconds"], 3)
        s["dagster_one_new_partition_seconds"] = round(d["one_new_partition"]["seconds"], 3)
        s["dagster_peak_rss_mib"] = max(d["all_partitions"]["peak_rss_mib"], d["one_new_partition"]["peak_rss_mib"])
        s["dagster_peak_process_rss_mib"] = max(d["all_partitions"]["peak_process_rss_mib"],
                                                d["one_new_partition"]["peak_process_rss_mib"])
    r["summary"] = s


def print_size(r: dict) -> None:
    s = r["summary"]
    print(f"\nN = {r['n']} documents, {r['source_mb']:.2f} MB of source text, backend {r['backend']}")
    print(f"{'stage':<11}{'seconds':>9}{'docs/s':>9}{'MB/s':>8}{'share':>7}{'peak RSS MiB':>14}")
    for row in s["table"]:
        print(f"{row['stage']:<11}{row['seconds']:>9.2f}{row['docs_per_s'] or 0:>9.1f}{row['mb_per_s'] or 0:>8.2f}"
              f"{row['share']:>7.1%}{row['peak_rss_mib']:>14.0f}")
    print(f"{'end to end':<11}{s['end_to_end_seconds']:>9.2f}{s['end_to_end_docs_per_s']:>9.1f}"
          f"{s['end_to_end_mb_per_s']:>8.2f}{1:>7.0%}{s['peak_rss_mib']:>14.0f}")
    print(f"tokenizer alone: {s['tokenizer_alone_mb_per_s']:.2f} MB/s; end to end / tokenizer = "
          f"{s['ratio_end_to_end_vs_tokenizer']:.2f} (per-document stages only: {s['ratio_per_document_vs_tokenizer']:.2f})")
    if "parallel_speedup" in s:
        print(f"{s['parallel_workers']} processes: per-document stages {s['parallel_seconds']:.2f} s, "
              f"speed-up {s['parallel_speedup']:.2f}x (pool start {s['parallel_pool_start_seconds']:.2f} s apart; "
              f"{s['parallel_speedup_with_pool_start']:.2f}x with it), peak RSS {s['parallel_peak_rss_mib']:.0f} MiB "
              f"(largest process {s['parallel_peak_process_rss_mib']:.0f} MiB)")
    inc = r["incremental"]
    print(f"one new document: its stages {inc['document_seconds']:.2f} s "
          f"({s['incremental_document_share_of_rebuild']:.2%} of the rebuild's per-document stages), "
          f"corpus tables + release {inc['corpus_seconds']:.2f} s (peak RSS {inc['peak_rss_mib']:.0f} MiB); "
          f"new release in {s['incremental_seconds']:.2f} s "
          f"vs full rebuild {s['end_to_end_seconds']:.2f} s")
    if "dagster_all_partitions_seconds" in s:
        print(f"Dagster (SQLite instance, {r['dagster']['workers']} workers): all {r['n']} partitions "
              f"{s['dagster_all_partitions_seconds']:.2f} s; one new partition + release "
              f"{s['dagster_one_new_partition_seconds']:.2f} s; peak RSS {s['dagster_peak_rss_mib']:.0f} MiB "
              f"(largest process {s['dagster_peak_process_rss_mib']:.0f} MiB)")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000], help="corpus sizes (default 100 1000)")
    parser.add_argument("--backend", default=None, help="tokenizer backend (default: UNPARL_TOKENIZER or jieba)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel pass (default 2)")
    parser.add_argument("--no-dagster", action="store_true", help="skip the runs through Dagster")
    parser.add_argument("--dagster-max", type=int, default=1000,
                        help="run through Dagster only for corpus sizes up to this (default 1000)")
    parser.add_argument("--partition-scale", type=int, nargs="*", default=None,
                        help="also measure the instance with this many dynamic partitions (e.g. 1000 10000 100000)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results JSON")
    parser.add_argument("--name", default=None, help="file name of the results (default: date and sizes)")
    parser.add_argument("--result-file", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from pipeline.lib import tokens

    backend = tokens.current_backend(args.backend)
    results = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                    "python": platform.python_version(), "platform": platform.platform()},
        "backend": tokens.backend_name(backend), "sizes": [],
    }
    if args.result_file:  # one size, in this process (started by the loop below)
        rss = PeakRSS()
        with tempfile.TemporaryDirectory(prefix="unparl-bench-") as tmp:
            r = bench_size(args.n[0], backend=backend, workers=args.workers,
                           dagster=not args.no_dagster and args.n[0] <= args.dagster_max, root=Path(tmp), rss=rss)
        rss.stop()
        args.result_file.write_text(json.dumps(r, default=str), "utf-8")
        return r
    with tempfile.TemporaryDirectory(prefix="unparl-bench-") as tmp:
        root = Path(tmp)
        for n in args.n:
            # Each size in a fresh process, so one size's peak memory is not another's.
            result_file = root / f"size_{n}.json"
            command = [sys.executable, "-m", "benchmarks.run", "--n", str(n), "--backend", backend,
                       "--workers", str(args.workers), "--dagster-max", str(args.dagster_max),
                       "--result-file", str(result_file)] + (["--no-dagster"] if args.no_dagster else [])
            subprocess.run(command, check=True, cwd=Path(__file__).resolve().parents[1])
            r = json.loads(result_file.read_text("utf-8"))
            results["sizes"].append(r)
            print_size(r)
            sys.stdout.flush()
            _save(args, backend, results)  # each size as soon as it is done
        if args.partition_scale:
            results["partition_scale"] = partition_scale(root, args.partition_scale)
            print("\ndynamic partitions in a SQLite instance:")
            for size, v in results["partition_scale"].items():
                print(f"  {int(size):>7}: add {v['add_seconds']:.2f} s, list {v['list_seconds'] * 1000:.0f} ms, "
                      f"status (UI) {v['status_first_seconds']:.2f} s first / {v['status_cached_seconds'] * 1000:.0f} ms "
                      f"cached, event write {v['event_write_ms']:.1f} ms, db {v['sqlite_mib']} MiB")
    print(f"\nresults: {_save(args, backend, results)}")
    return results


def _save(args, backend: str, results: dict) -> Path:
    args.out.mkdir(parents=True, exist_ok=True)
    name = args.name or f"{datetime.date.today().isoformat()}_{backend}_n{'-'.join(map(str, args.n))}"
    path = args.out / f"{name}.json"
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", "utf-8")
    return path


if __name__ == "__main__":
    main()
