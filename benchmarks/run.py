"""The unparl benchmark: `make bench`, or `python -m benchmarks.run --n 100 1000`.

For each corpus size N it builds a synthetic corpus from the seeds (benchmarks/corpus.py) and
measures, in one run, on this machine (`--only` picks sections):

stages
  1. the chain's per-document stages (pipeline.lib.chain.STAGES, run by pipeline.lib.runner),
     stage by stage over all documents in one process, then the corpus assets' work
     (assembly, entity catalog, statistics, release): for each, documents/s, MB/s (of source
     text), share of the time, and peak RSS of the process tree;
  2. the incremental case outside Dagster: one new document added to the N-document corpus,
     processed alone, then the corpus assets' work and a new release, against the full rebuild;
  3. the raw throughput of the tokenizer backend alone on the same sentences, and the ratio
     end to end / raw tokenizer;
pool
  4. the same per-document stages over the runner's pool of worker processes (--workers);
dagster (in a process of its own, the pool started before both sides and shared)
  5. Dagster vs outside: the per-document stages for all N documents outside Dagster
     (runner.run_documents) and through it (pipeline.build.build on a fresh SQLite instance:
     the document_chain run's wall time), and their ratio;
  6. events: the document_chain run's materialisations, planned materialisations and check
     evaluations per document, and the Dagster-minus-outside time per event of the run;
  7. the one-document run overhead: one new document on the built instance (the runs a build
     makes for it: a document_chain run, then a corpus_release run), each run's wall time
     against its steps' time from the instance's event log (share_outside_steps);
and, with --partition-scale, the instance's cost of many dynamic partitions; once, not per size,
formats: reading the seeds typeset as PDF against the tokenizer on the same text
(benchmarks/formats.py; target: at most 20%).

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

def _settings_key(backend: str) -> str:
    """The stamps' settings, as `unparl build` writes them for this backend."""
    from pipeline.lib import stamps
    from pipeline.lib.text import tokens
    from pipeline.lib.text.ingest import DEFAULT_MAX_BYTES

    return stamps.settings_key(DEFAULT_MAX_BYTES, tokens.backend_name(backend))


def corpus_stage(data_dir: Path, doc_ids: list[str], *, today: datetime.date) -> dict[str, float]:
    """The corpus assets' work (corpus, entity_catalog, corpus_statistics, release) without
    Dagster and without its IO manager's saving and loading between them."""
    from benchmarks.release import corpus_release

    seconds = corpus_release(data_dir, doc_ids, today=today)
    return {k: seconds[k] for k in ("assemble", "catalog", "statistics", "release")}


def _stamp(data: Path, keys: list[str], backend: str) -> None:
    """What the Dagster step does after the stages: each document recorded as built."""
    from pipeline.lib import chain, stamps

    settings = _settings_key(backend)
    for key in keys:
        stamps.write_stamp(data, key, chain.NAMES, settings)


def _failed(outcomes: dict) -> list[str]:
    return sorted(f"{doc}/{stage}: {o.detail}" for doc, by_stage in outcomes.items()
                  for stage, o in by_stage.items() if o.status == "failed")


def stage_by_stage(seeds: Path, data: Path, keys: list[str], backend: str, rss: PeakRSS) -> dict:
    """Each stage of the chain (pipeline.lib.chain.STAGES) over all documents in this process,
    as a run's step does for a small batch; then the corpus assets' work."""
    from pipeline.lib import chain, runner

    run = {}
    for stage in chain.STAGES:
        record = {}
        with timed(record, rss):
            outcomes = runner.run_documents(keys, (stage.name,), data_dir=data, seeds_dir=seeds, backend=backend,
                                            workers=1)
        record["failed"] = _failed(outcomes)
        run[stage.name] = record
    _stamp(data, keys, backend)
    record = {}
    with timed(record, rss):
        parts = corpus_stage(data, keys, today=datetime.date(2020, 9, 4))
    record["parts"] = parts
    run["corpus"] = record
    return run


def tokenizer_alone(data: Path, keys: list[str], backend: str) -> dict:
    """The backend's tagger on the same sentences, nothing else (text loaded beforehand)."""
    from pipeline.lib.text import tokens
    from pipeline.lib.workdir import read_work

    pieces, whole = [], []
    for key in keys:
        text = read_work(data, "documents", key, ["clean_text"]).column("clean_text")[0].as_py()
        whole.append(text)
        for s in read_work(data, "sentences", key, ["char_start", "char_end"]).to_pylist():
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
    """The per-document stages on the runner's pool of `workers` processes. Its start (fork
    server, imports, a dictionary per worker) is timed apart, as the single-process run's
    dictionary load is left out of its time: `seconds` compares throughput with throughput,
    `seconds_with_pool_start` is what a cold batch waits."""
    from pipeline.lib import chain, runner

    runner.shutdown()
    record = {"workers": workers}
    record["pool_start_seconds"] = runner.start(workers, backend)
    with timed(record, rss):
        outcomes = runner.run_documents(keys, data_dir=data, seeds_dir=seeds, backend=backend, workers=workers)
    record["failed"] = _failed(outcomes)
    record["seconds_with_pool_start"] = record["seconds"] + record["pool_start_seconds"]
    record["stage_seconds_in_workers"] = {name: sum(d[name].seconds for d in outcomes.values())
                                          for name in chain.NAMES}
    runner.shutdown()
    return record


def incremental(seeds: Path, data: Path, keys: list[str], n: int, backend: str, rss: PeakRSS) -> dict:
    """One new report into the built corpus, outside Dagster: its stages, then the corpus
    assets' work and a release."""
    from pipeline.lib import runner
    from pipeline.lib.text.ingest import doc_id_for
    from pipeline.lib.workdir import remove_work

    new = build_corpus(seeds, 1, start=n)[0]
    key = doc_id_for(new)
    record = {"doc_id": key}
    with timed(record, rss):
        start = time.perf_counter()
        outcomes = runner.run_documents([key], data_dir=data, seeds_dir=seeds, backend=backend, workers=1)
        _stamp(data, [key], backend)
        record["document_seconds"] = time.perf_counter() - start
        record["corpus_parts"] = corpus_stage(data, keys + [key], today=datetime.date(2020, 9, 5))
    record["failed"] = _failed(outcomes)
    record["stages"] = {name: outcome.seconds for name, outcome in outcomes[key].items()}
    record["corpus_seconds"] = sum(record["corpus_parts"].values())
    new.unlink()
    new.with_name(new.stem + ".meta.json").unlink()
    remove_work(data, key)
    return record


# --- through Dagster ------------------------------------------------------------------------

# The events of a run that cost a database write per partition and asset (or per check).
COUNTED_EVENTS = ("ASSET_MATERIALIZATION", "ASSET_MATERIALIZATION_PLANNED", "ASSET_CHECK_EVALUATION")


def run_timing(instance, run_id: str) -> dict:
    """A run as its instance recorded it: wall time from the run's creation (its planned events
    are written then) to its last event, time from its start event, the time its steps spent
    working (each step's STEP_SUCCESS or STEP_FAILURE time minus its STEP_START time, from the
    event log), the share of the wall time outside the steps, and its events by type."""
    from collections import Counter

    from dagster import DagsterEventType

    record = instance.get_run_record_by_id(run_id)
    entries = instance.all_logs(run_id)
    types = Counter((e.dagster_event.event_type_value if e.dagster_event else "LOG_MESSAGE") for e in entries)
    started, ended, step_started, step_seconds = None, None, {}, 0.0
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == DagsterEventType.RUN_START:
            started = entry.timestamp
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            ended = entry.timestamp
        elif kind == DagsterEventType.STEP_START:
            step_started[event.step_key] = entry.timestamp
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and event.step_key in step_started:
            step_seconds += entry.timestamp - step_started.pop(event.step_key)
    created = record.create_timestamp.timestamp()
    ended = ended if ended is not None else max(e.timestamp for e in entries)
    wall = ended - created
    return {
        "run_id": run_id, "job": record.dagster_run.job_name, "status": record.dagster_run.status.value,
        "wall_seconds": round(wall, 3),
        "created_to_start_seconds": round((started or created) - created, 3),
        "start_to_end_seconds": round(ended - (started or created), 3),
        "step_seconds": round(step_seconds, 3),
        "share_outside_steps": round(1 - step_seconds / wall, 4) if wall > 0 else None,
        "events": len(entries),
        "counted_events": sum(types[t] for t in COUNTED_EVENTS),
        "events_by_type": dict(sorted(types.items())),
    }


def _runs_of(instance, run_ids: list[str], job: str) -> list[dict]:
    return [t for t in (run_timing(instance, r) for r in run_ids) if t["job"] == job]


def _summed(runs: list[dict]) -> dict:
    """The document_chain runs of a build as one (a fresh build has one; kept general)."""
    if len(runs) == 1:
        return runs[0]
    out = {key: round(sum(r[key] for r in runs), 3) for key in
           ("wall_seconds", "step_seconds", "events", "counted_events", "created_to_start_seconds",
            "start_to_end_seconds")}
    out["share_outside_steps"] = round(1 - out["step_seconds"] / out["wall_seconds"], 4) if out["wall_seconds"] else None
    out["runs"] = len(runs)
    types: dict = {}
    for r in runs:
        for k, v in r["events_by_type"].items():
            types[k] = types.get(k, 0) + v
    out["events_by_type"] = types
    return out


def _warm_up(seeds: Path, data: Path, keys: list[str], backend: str, workers: int) -> float:
    """Load what the first run of a process would load (the dictionary, the gazetteers), here
    and, through a small batch on the pool, in its workers, so that neither side measured
    after this pays it; returns the seconds it took."""
    from pipeline.lib import runner
    from pipeline.lib.text import tokens
    from pipeline.lib.entities.tagger import load_gazetteer

    start = time.perf_counter()
    list(tokens.tagger(backend)("预热。"))
    load_gazetteer()
    batch = keys[:max(runner.MIN_BATCH, 2 * workers)]
    if workers > 1 and len(batch) >= runner.MIN_BATCH:
        runner.run_documents(batch, data_dir=data, seeds_dir=seeds, backend=backend, workers=workers)
    shutil.rmtree(data, ignore_errors=True)
    return time.perf_counter() - start


def through_dagster(seeds: Path, root: Path, n: int, backend: str, workers: int, rss: PeakRSS) -> dict:
    """The per-document stages outside Dagster (runner.run_documents) and through it
    (pipeline.build.build on a fresh SQLite instance) on the same corpus with the same workers;
    then one new document on that built instance, as the sensor's build would run it.

    The worker pool is started once, before both, and shared (a run executes in this process,
    and the runner keeps one pool per worker count and backend): both sides compare warm
    compute, so what differs is what Dagster adds."""
    import dagster as dg

    from pipeline.build import build
    from pipeline.defs.resources import UnparlSettings
    from pipeline.lib import planning, runner
    from pipeline.lib.text.ingest import doc_id_for, scan_sources

    keys = [s.doc_id for s in scan_sources(seeds)]
    runner.shutdown()
    record: dict = {"workers": workers, "pool_start_seconds": runner.start(workers, backend)}
    record["warm_up_seconds"] = _warm_up(seeds, root / "warm_up_data", keys, backend, workers)

    outside: dict = {}
    with timed(outside, rss):
        outcomes = runner.run_documents(keys, data_dir=root / "outside_data", seeds_dir=seeds, backend=backend,
                                        workers=workers)
    outside["failed"] = _failed(outcomes)
    record["outside"] = outside

    data = root / "dagster_data"
    home = root / "dagster_home"
    home.mkdir()
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data), tokenizer=backend, workers=workers)
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        full: dict = {}
        with timed(full, rss):
            report = build(seeds, data, instance=instance, resources={"settings": settings})
        full["processed"] = len(report.processed)
        full["release"] = report.release.get("version")
        full["document_chain"] = _summed(_runs_of(instance, report.runs, planning.DOCUMENT_JOB))
        full["corpus_release"] = _summed(_runs_of(instance, report.runs, planning.CORPUS_JOB))
        record["all_documents"] = full

        new = build_corpus(seeds, 1, start=n + 1)[0]
        one: dict = {"doc_id": doc_id_for(new)}
        with timed(one, rss):
            report = build(seeds, data, instance=instance, resources={"settings": settings})
        one["processed"] = report.processed
        one["release"] = report.release.get("version")
        one["document_chain"] = _summed(_runs_of(instance, report.runs, planning.DOCUMENT_JOB))
        one["corpus_release"] = _summed(_runs_of(instance, report.runs, planning.CORPUS_JOB))
        record["one_new_document"] = one
    runner.shutdown()
    return record


def _through_dagster_alone(seeds: Path, root: Path, n: int, backend: str, workers: int) -> dict:
    from pipeline.lib import runner

    rss = PeakRSS()
    try:
        return through_dagster(seeds, root, n, backend, workers, rss)
    except BaseException as exc:
        # Dagster's errors do not always survive pickling back to the parent (which would then
        # wait for ever): send their text instead.
        import traceback

        raise RuntimeError("".join(traceback.format_exception(exc))) from None
    finally:
        runner.shutdown()
        rss.stop()


def add_partitions(instance, size: int) -> tuple[list[str], float]:
    """`size` documents partitions added in batches of 10,000: their keys and the seconds it took."""
    keys = [f"doc_{i:07d}" for i in range(size)]
    start = time.perf_counter()
    for i in range(0, size, 10_000):
        instance.add_dynamic_partitions("documents", keys[i:i + 10_000])
    return keys, time.perf_counter() - start


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
            keys, added = add_partitions(instance, size)
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

SECTIONS = ("stages", "pool", "dagster", "formats")


def bench_size(n: int, *, backend: str, workers: int, sections: tuple[str, ...], root: Path, rss: PeakRSS) -> dict:
    from pipeline.lib.text import tokens
    from pipeline.lib.text.ingest import scan_sources

    seeds = root / f"n{n}" / "seeds"
    paths = build_corpus(seeds, n)
    source_mb = sum(p.stat().st_size for p in paths) / MB
    keys = [s.doc_id for s in scan_sources(seeds)]
    tokens.set_backend(backend)
    list(tokens.tagger(backend)("预热。"))  # the dictionary is loaded once, outside the timings
    from pipeline.lib.entities.tagger import load_gazetteer

    load_gazetteer()
    result: dict = {"n": n, "backend": tokens.backend_name(backend), "source_mb": round(source_mb, 3),
                    "sections": list(sections), "load_average_before": os.getloadavg()}
    if "stages" in sections:
        data = root / f"n{n}" / "data"
        result["stages"] = stage_by_stage(seeds, data, keys, backend, rss)
        # The new report goes into the corpus just built, as it would after a build.
        result["incremental"] = incremental(seeds, data, keys, n, backend, rss)
        result["tokenizer_alone"] = tokenizer_alone(data, keys, backend)
    if "pool" in sections and workers > 1:
        result["parallel"] = parallel_run(seeds, root / f"n{n}" / "data_parallel", keys, backend, workers, rss)
    if "dagster" in sections:
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
    from pipeline.lib import chain

    n, mb = r["n"], r["source_mb"]
    s: dict = {}
    if "stages" in r:
        per_doc = sum(r["stages"][name]["seconds"] for name in chain.NAMES)
        corpus = r["stages"]["corpus"]["seconds"]
        total = per_doc + corpus
        rows = []
        for name in (*chain.NAMES, "corpus"):
            sec = r["stages"][name]["seconds"]
            rows.append({"stage": name, "seconds": round(sec, 3), "docs_per_s": round(n / sec, 1) if sec else None,
                         "mb_per_s": round(mb / sec, 2) if sec else None, "share": round(sec / total, 3),
                         "peak_rss_mib": r["stages"][name]["peak_rss_mib"]})
        raw = r["tokenizer_alone"]
        s.update({
            "table": rows,
            "per_document_seconds": round(per_doc, 3),
            "end_to_end_seconds": round(total, 3),
            "end_to_end_docs_per_s": round(n / total, 2),
            "end_to_end_mb_per_s": round(mb / total, 3),
            "tokenizer_alone_mb_per_s": round(mb / raw["seconds"], 3),
            "ratio_end_to_end_vs_tokenizer": round(raw["seconds"] / total, 3),
            "ratio_per_document_vs_tokenizer": round(raw["seconds"] / per_doc, 3),
            "peak_rss_mib": max(x["peak_rss_mib"] for x in rows),
        })
        inc = r["incremental"]
        s["incremental_seconds"] = round(inc["document_seconds"] + inc["corpus_seconds"], 3)
        s["incremental_document_share_of_rebuild"] = round(inc["document_seconds"] / per_doc, 5)
        s["incremental_vs_full_rebuild"] = round((inc["document_seconds"] + inc["corpus_seconds"]) / total, 4)
        s["incremental_peak_rss_mib"] = inc["peak_rss_mib"]
    if "parallel" in r:
        p = r["parallel"]
        s["parallel_workers"] = p["workers"]
        s["parallel_seconds"] = round(p["seconds"], 3)
        s["parallel_pool_start_seconds"] = round(p["pool_start_seconds"], 3)
        s["parallel_peak_rss_mib"] = p["peak_rss_mib"]
        s["parallel_peak_process_rss_mib"] = p["peak_process_rss_mib"]
        if "stages" in r:
            s["parallel_speedup"] = round(s["per_document_seconds"] / p["seconds"], 3)
            s["parallel_speedup_with_pool_start"] = round(s["per_document_seconds"] / p["seconds_with_pool_start"], 3)
            s["parallel_end_to_end_mb_per_s"] = round(mb / (p["seconds"] + r["stages"]["corpus"]["seconds"]), 3)
    if "dagster" in r:
        d = r["dagster"]
        full, one = d["all_documents"], d["one_new_document"]
        chain_run = full["document_chain"]
        outside = d["outside"]["seconds"]
        s["dagster_workers"] = d["workers"]
        s["dagster_build_seconds"] = round(full["seconds"], 3)
        # (b) the per-document stages through Dagster against the same stages outside it
        s["dagster_document_chain_seconds"] = chain_run["wall_seconds"]
        s["outside_dagster_seconds"] = round(outside, 3)
        s["dagster_vs_outside"] = round(chain_run["wall_seconds"] / outside, 3) if outside else None
        # (c) what the run recorded, per document and per event
        extra = chain_run["wall_seconds"] - outside
        s["dagster_run_events"] = chain_run["events"]
        s["events_per_document"] = round(chain_run["counted_events"] / n, 3)
        s["ms_per_event"] = round(1000 * extra / chain_run["events"], 3) if chain_run["events"] else None
        s["ms_per_counted_event"] = (round(1000 * extra / chain_run["counted_events"], 3)
                                     if chain_run["counted_events"] else None)
        s["dagster_corpus_release_seconds"] = full["corpus_release"]["wall_seconds"]
        # (a) one new document on the built instance: its document_chain run, then the corpus run
        one_chain = one["document_chain"]
        s["one_document_build_seconds"] = round(one["seconds"], 3)
        s["one_document_run_seconds"] = one_chain["wall_seconds"]
        s["one_document_step_seconds"] = one_chain["step_seconds"]
        s["share_outside_steps"] = one_chain["share_outside_steps"]
        s["one_document_created_to_start_seconds"] = one_chain["created_to_start_seconds"]
        s["one_document_corpus_run_seconds"] = one["corpus_release"]["wall_seconds"]
        s["one_document_corpus_share_outside_steps"] = one["corpus_release"]["share_outside_steps"]
        s["dagster_peak_rss_mib"] = max(full["peak_rss_mib"], one["peak_rss_mib"])
        s["dagster_peak_process_rss_mib"] = max(full["peak_process_rss_mib"], one["peak_process_rss_mib"])
    r["summary"] = s


# The targets the figures are held to (issue 12).
TARGET_SHARE_OUTSIDE_STEPS = 0.40
TARGET_DAGSTER_VS_OUTSIDE = 1.4


def _verdict(value, target) -> str:
    return "" if value is None else (" (target ≤ {:.2f}: {})".format(target, "met" if value <= target else "MISSED"))


def print_size(r: dict) -> None:
    s = r["summary"]
    print(f"\nN = {r['n']} documents, {r['source_mb']:.2f} MB of source text, backend {r['backend']}")
    if "table" in s:
        print(f"{'stage':<11}{'seconds':>9}{'docs/s':>9}{'MB/s':>8}{'share':>7}{'peak RSS MiB':>14}")
        for row in s["table"]:
            print(f"{row['stage']:<11}{row['seconds']:>9.2f}{row['docs_per_s'] or 0:>9.1f}{row['mb_per_s'] or 0:>8.2f}"
                  f"{row['share']:>7.1%}{row['peak_rss_mib']:>14.0f}")
        print(f"{'end to end':<11}{s['end_to_end_seconds']:>9.2f}{s['end_to_end_docs_per_s']:>9.1f}"
              f"{s['end_to_end_mb_per_s']:>8.2f}{1:>7.0%}{s['peak_rss_mib']:>14.0f}")
        print(f"tokenizer alone: {s['tokenizer_alone_mb_per_s']:.2f} MB/s; end to end / tokenizer = "
              f"{s['ratio_end_to_end_vs_tokenizer']:.2f} (per-document stages only: "
              f"{s['ratio_per_document_vs_tokenizer']:.2f})")
        inc = r["incremental"]
        print(f"one new document, outside Dagster: its stages {inc['document_seconds']:.2f} s "
              f"({s['incremental_document_share_of_rebuild']:.2%} of the rebuild's per-document stages), "
              f"corpus tables + release {inc['corpus_seconds']:.2f} s (peak RSS {inc['peak_rss_mib']:.0f} MiB); "
              f"new release in {s['incremental_seconds']:.2f} s vs full rebuild {s['end_to_end_seconds']:.2f} s")
    if "parallel_seconds" in s:
        speedup = (f", speed-up {s['parallel_speedup']:.2f}x ({s['parallel_speedup_with_pool_start']:.2f}x with the "
                   f"pool's start)" if "parallel_speedup" in s else "")
        print(f"{s['parallel_workers']} processes: per-document stages {s['parallel_seconds']:.2f} s{speedup}; "
              f"pool start {s['parallel_pool_start_seconds']:.2f} s apart; peak RSS {s['parallel_peak_rss_mib']:.0f} MiB "
              f"(largest process {s['parallel_peak_process_rss_mib']:.0f} MiB)")
    if "dagster_vs_outside" in s:
        print(f"Dagster (SQLite instance, {s['dagster_workers']} workers, pool started before both sides):")
        print(f"  Dagster vs outside: document_chain run {s['dagster_document_chain_seconds']:.2f} s, "
              f"runner.run_documents {s['outside_dagster_seconds']:.2f} s: ratio {s['dagster_vs_outside']:.2f}"
              f"{_verdict(s['dagster_vs_outside'], TARGET_DAGSTER_VS_OUTSIDE)}; whole build "
              f"{s['dagster_build_seconds']:.2f} s (corpus_release run {s['dagster_corpus_release_seconds']:.2f} s)")
        print(f"  events: {s['events_per_document']:.2f} per document (materialisations, planned, check "
              f"evaluations), {s['dagster_run_events']} in the run; "
              f"{s['ms_per_event']:.2f} ms per event of the run "
              f"({s['ms_per_counted_event']:.2f} ms per counted event)")
        print(f"  one-document run overhead: build {s['one_document_build_seconds']:.2f} s; document_chain run "
              f"{s['one_document_run_seconds']:.2f} s, its step {s['one_document_step_seconds']:.2f} s, "
              f"share_outside_steps {s['share_outside_steps']:.2f}"
              f"{_verdict(s['share_outside_steps'], TARGET_SHARE_OUTSIDE_STEPS)} (the run counted from its "
              f"creation; {s['one_document_created_to_start_seconds']:.2f} s of it before its start event); "
              f"corpus_release run "
              f"{s['one_document_corpus_run_seconds']:.2f} s (share outside steps "
              f"{s['one_document_corpus_share_outside_steps']:.2f})")
        print(f"  peak RSS {s['dagster_peak_rss_mib']:.0f} MiB (largest process {s['dagster_peak_process_rss_mib']:.0f} MiB)")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000], help="corpus sizes (default 100 1000)")
    parser.add_argument("--backend", default=None, help="tokenizer backend (default: UNPARL_TOKENIZER or jieba)")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes for the pool and the Dagster runs (default 2)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=None,
                        help="measure only these sections: stages (stage by stage, the incremental case and the "
                             "tokenizer alone), pool (the worker pool), dagster (Dagster vs outside, events, the "
                             "one-document run), formats (PDF reading vs the tokenizer)")
    parser.add_argument("--no-dagster", action="store_true", help="skip the runs through Dagster")
    parser.add_argument("--dagster-max", type=int, default=1000,
                        help="run through Dagster only for corpus sizes up to this (default 1000)")
    parser.add_argument("--partition-scale", type=int, nargs="*", default=None,
                        help="also measure the instance with this many dynamic partitions (e.g. 1000 10000 100000)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results JSON")
    parser.add_argument("--name", default=None, help="file name of the results (default: date and sizes)")
    parser.add_argument("--result-file", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from pipeline.lib.text import tokens

    backend = tokens.current_backend(args.backend)
    chosen = tuple(args.only or SECTIONS)
    results = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                    "python": platform.python_version(), "platform": platform.platform()},
        "backend": tokens.backend_name(backend), "sections": list(chosen), "sizes": [],
    }
    if args.result_file:  # one size, in this process (started by the loop below)
        n = args.n[0]
        sections = tuple(s for s in chosen if s != "dagster" or (not args.no_dagster and n <= args.dagster_max))
        rss = PeakRSS()
        with tempfile.TemporaryDirectory(prefix="unparl-bench-") as tmp:
            r = bench_size(n, backend=backend, workers=args.workers, sections=sections, root=Path(tmp), rss=rss)
        rss.stop()
        args.result_file.write_text(json.dumps(r, default=str), "utf-8")
        return r
    if "formats" in chosen:  # PDF reading against the tokenizer (benchmarks/formats.py): size-free
        from benchmarks import formats

        results["formats"] = formats.measure(backend)
        formats.print_result(results["formats"])
    with tempfile.TemporaryDirectory(prefix="unparl-bench-") as tmp:
        root = Path(tmp)
        for n in args.n if set(chosen) - {"formats"} else []:
            # Each size in a fresh process, so one size's peak memory is not another's.
            result_file = root / f"size_{n}.json"
            command = [sys.executable, "-m", "benchmarks.run", "--n", str(n), "--backend", backend,
                       "--workers", str(args.workers), "--dagster-max", str(args.dagster_max),
                       "--only", *chosen, "--result-file", str(result_file)]
            command += ["--no-dagster"] if args.no_dagster else []
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
    only = "" if not args.only or set(args.only) == set(SECTIONS) else "_" + "-".join(args.only)
    name = args.name or f"{datetime.date.today().isoformat()}_{backend}_n{'-'.join(map(str, args.n))}{only}"
    path = args.out / f"{name}.json"
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", "utf-8")
    return path


if __name__ == "__main__":
    main()
