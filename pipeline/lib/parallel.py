"""The per-document stages over a batch of documents, on a pool of worker processes.

Documents are independent, so a batch spreads over processes: each worker builds its
tokenizer once (the dictionary, ~0.2 s and ~150 MiB for jieba) in its initializer and keeps
it for every document it gets. Workers start from a fork server that has imported the text
pipeline already, so a pool is ready in about a second; it is kept for the process's life and
reused by every stage (one pool per (workers, backend)).

A small batch (fewer than MIN_BATCH documents) or workers <= 1 runs in this process: a pool
costs more than it saves there. Results come back in the order of the keys, as the stage
functions return them (their tables are written to the work folder by the worker).
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pipeline.lib import stages, tokens

WORKERS_ENV = "UNPARL_WORKERS"
MIN_BATCH = 8
PER_DOCUMENT = ("raw", "clean", "structure", "sentences", "tokens", "entities")

_pools: dict[tuple[int, str], ProcessPoolExecutor] = {}


def default_workers() -> int:
    """UNPARL_WORKERS, else the number of cores this process may use."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        return max(1, int(value))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int | None) -> int:
    """0 or None: the default (UNPARL_WORKERS or the cores)."""
    return default_workers() if not workers else max(1, int(workers))


def _init_worker(backend: str) -> None:
    import pyarrow as pa

    # One thread per worker: the pool already fills the cores.
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    tokens.set_backend(backend)
    list(tokens.tagger()("预热。"))  # load the dictionary now, once for this worker


def _run_stage(stage: str, data_dir: Path, key: str, options: dict):
    """One stage of one document. An unexpected error sets the document aside (quarantine
    reason internal_error, with the error) and the stage then gives its empty tables, so one
    document never fails the batch."""
    try:
        return _stage_once(stage, data_dir, key, options)
    except Exception as exc:  # noqa: BLE001 - anything one document raises is that document's
        set_aside = stages.set_aside(data_dir, key, stage, exc)
        return set_aside if stage == "raw" else _stage_once(stage, data_dir, key, options)


def _stage_once(stage: str, data_dir: Path, key: str, options: dict):
    if stage == "raw":
        return stages.ingest(Path(options["seeds_dir"]), data_dir, key, max_bytes=options["max_bytes"],
                             located=options.get("located"))
    if stage == "clean":
        return stages.clean_stage(data_dir, key)
    if stage == "structure":
        return stages.structure_stage(data_dir, key)
    if stage == "sentences":
        return stages.sentences_stage(data_dir, key)
    if stage == "tokens":
        return stages.tokens_stage(data_dir, key, options.get("backend"))
    if stage == "entities":
        return stages.entities_stage(data_dir, key)
    raise ValueError(f"unknown per-document stage {stage!r}")


# Stages whose tables are too large to send back whole (thousands of rows a document): their
# checks run in the worker and only the first rows come back.
SLIM = ("sentences", "tokens", "entities")


def _task(args: tuple) -> object:
    stage, data_dir, key, options = args
    result = _run_stage(stage, data_dir, key, options)
    return result.slim() if stage in SLIM else result


def _document_task(args: tuple) -> dict[str, float]:
    """Every stage of one document in one go; returns seconds per stage."""
    import time

    chosen, data_dir, key, options = args
    seconds = {}
    for stage in chosen:
        start = time.perf_counter()
        _run_stage(stage, data_dir, key, options)
        seconds[stage] = time.perf_counter() - start
    return seconds


def pool(workers: int, backend: str) -> ProcessPoolExecutor:
    """The process's pool for this many workers and this backend, started on first use."""
    key = (workers, backend)
    if key not in _pools:
        context = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has these imported, not from a Dagster process
        # with its threads; each then loads the dictionary once.
        context.set_forkserver_preload(["pipeline.lib.stages", "pipeline.lib.tokens", "jieba.posseg"])
        _pools[key] = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                          initializer=_init_worker, initargs=(backend,))
    return _pools[key]


def _ready(_: int) -> int:
    import time

    time.sleep(0.1)  # long enough that a worker which is ready gets one of these tasks
    return os.getpid()


def start(workers: int, backend: str | None = None) -> float:
    """Start the pool now and wait until each of its workers has loaded its dictionary, so
    that the first batch does not wait for them; returns the seconds it took."""
    import time

    began = time.perf_counter()
    workers, backend = resolve_workers(workers), tokens.current_backend(backend)
    executor = pool(workers, backend)
    ready: set[int] = set()
    for _ in range(100):  # until every worker has answered (each starts in about a second)
        ready.update(executor.map(_ready, range(workers)))
        if len(ready) >= workers:
            break
    return time.perf_counter() - began


def shutdown() -> None:
    for executor in _pools.values():
        executor.shutdown(wait=True, cancel_futures=True)
    _pools.clear()


atexit.register(shutdown)


def _options(seeds_dir, max_bytes, backend) -> dict:
    return {"seeds_dir": str(seeds_dir) if seeds_dir else None, "max_bytes": max_bytes,
            "backend": tokens.current_backend(backend)}


def map_stage(stage: str, data_dir: Path, keys: Sequence[str], *, workers: int | None = 1,
              backend: str | None = None, seeds_dir: Path | None = None,
              max_bytes: int = stages.DEFAULT_MAX_BYTES) -> list:
    """One stage over the documents `keys`: what the stage function returns, in key order."""
    options = _options(seeds_dir, max_bytes, backend)
    workers = resolve_workers(workers)
    if stage == "raw" and seeds_dir is not None:
        # One scan of the folder for the batch, each task carrying only its own file.
        located = stages.locate_sources(Path(seeds_dir))
        tasks = [(stage, Path(data_dir), key, {**options, "located": located.get(key)}) for key in keys]
    else:
        tasks = [(stage, Path(data_dir), key, options) for key in keys]
    if workers <= 1 or len(keys) < MIN_BATCH:
        return [_task(t) for t in tasks]
    return list(pool(workers, options["backend"]).map(_task, tasks, chunksize=_chunk(len(keys), workers)))


def run_documents(data_dir: Path, keys: Sequence[str], *, workers: int | None = 1,
                  backend: str | None = None, seeds_dir: Path | None = None,
                  max_bytes: int = stages.DEFAULT_MAX_BYTES, chosen: Sequence[str] = PER_DOCUMENT,
                  on_done: Callable[[str, dict], None] | None = None) -> dict[str, dict[str, float]]:
    """All the chosen stages for each document, one document per task; seconds per stage."""
    options = _options(seeds_dir, max_bytes, backend)
    workers = resolve_workers(workers)
    located = stages.locate_sources(Path(seeds_dir)) if seeds_dir is not None and "raw" in chosen else {}
    tasks = [(tuple(chosen), Path(data_dir), key, {**options, "located": located.get(key)}) for key in keys]
    if workers <= 1 or len(keys) < MIN_BATCH:
        results = map(_document_task, tasks)
    else:
        results = pool(workers, options["backend"]).map(_document_task, tasks,
                                                         chunksize=_chunk(len(keys), workers))
    timings = {}
    for key, seconds in zip(keys, results):
        timings[key] = seconds
        if on_done:
            on_done(key, seconds)
    return timings


def _chunk(n: int, workers: int) -> int:
    # Small chunks keep both workers busy to the end (documents differ in size).
    return max(1, min(16, n // (workers * 8)))
