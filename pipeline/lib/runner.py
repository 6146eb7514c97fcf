"""Running the chain's stages over documents: in this process for a few documents, on a pool
of worker processes for a batch.

Documents are independent, so a batch spreads over processes: each worker builds its
tokenizer once (the dictionary, ~0.2 s and ~150 MiB for jieba) in its initializer and keeps
it for every document it gets. Workers start from a fork server that has imported the text
pipeline already, so a pool is ready in about a second; it is kept for the process's life and
reused by every run of the process (one pool per (workers, backend)). Each worker watches the
process that owns its pool and exits within a second when that process dies, even by `kill -9`
or the OOM killer (the fork server and the resource tracker then exit by themselves).

`run_chain` yields each stage's outcomes as soon as every document has finished it, while the
workers go on with the next stages: the caller (the Dagster asset) records one stage's
materialisations while the next stage is computed.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipeline.lib import chain
from pipeline.lib.text import tokens
from pipeline.lib.chain import StageInput
from pipeline.lib.text.ingest import DEFAULT_MAX_BYTES, read_natively
from pipeline.lib.workdir import StageResult, write_work

WORKERS_ENV = "UNPARL_WORKERS"
MIN_BATCH = 8  # fewer documents than this run in this process: a pool costs more than it saves
PREVIEW_ROWS = 5


@dataclass
class Outcome:
    """One stage of one document: its tables' row counts and first rows, its checks, and whether
    the document was read (ok), set aside for its input (quarantined) or hit an error (failed)."""

    doc_id: str
    stage: str
    results: dict[str, StageResult] = field(default_factory=dict)  # by table, first rows only
    seconds: float = 0.0
    status: str = "ok"
    reason: str | None = None
    detail: str | None = None

    @property
    def rows(self) -> dict[str, int]:
        return {name: r.num_rows for name, r in self.results.items()}

    @property
    def checks(self) -> dict[str, tuple[bool, dict]]:
        return {name: outcome for r in self.results.values() for name, outcome in r.checks.items()}

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.results.values() for w in r.warnings]


def run_stage(name: str, given: StageInput) -> Outcome:
    """One stage of one document. An unexpected error sets the document aside (quarantine reason
    internal_error, naming the stage and the error) and the stage's tables are written empty, so
    one document never fails the batch."""
    stage = chain.stage(name)
    began = time.perf_counter()
    try:
        results = stage.run(given)
        outcome = Outcome(given.doc_id, name, {t: r.slim(PREVIEW_ROWS) for t, r in results.items()})
        raw = results.get("raw")
        if raw is not None and raw.quarantined:
            row = raw.table.select(["reason", "detail"]).to_pylist()[0]
            outcome.status, outcome.reason, outcome.detail = "quarantined", row["reason"], row["detail"]
    except Exception as exc:  # noqa: BLE001 - anything one document raises is that document's
        outcome = _failed(name, given, exc)
    outcome.seconds = time.perf_counter() - began
    return outcome


class WorkerDied(RuntimeError):
    """The process running a document's stage died under it."""


def _failed(name: str, given: StageInput, exc: BaseException) -> Outcome:
    """The document set aside for this error in this stage (internal_error), its tables empty."""
    detail = chain.set_aside(given.data_dir, given.doc_id, name, exc, given.located[0] if given.located else None)
    for table in chain.stage(name).tables:
        if table != "raw":
            write_work(given.data_dir, table, given.doc_id, _schema(table).empty_table())
    return Outcome(given.doc_id, name, status="failed", reason="internal_error", detail=detail)


def _schema(table: str) -> pa.Schema:
    from pipeline import schemas

    return {"clean": chain.CLEAN, **schemas.TABLES}[table]


# --- the pool ---------------------------------------------------------------------------------

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


OWNER_POLL_SECONDS = 0.5  # how often a worker looks for its owner where it cannot wait on it


def _owner_gone_waiter(owner: int):
    """A function that returns once the process `owner` has exited.

    Linux: a pidfd, which becomes readable when the process exits, whoever its parent is (a
    worker's parent is the fork server, not the owner, so neither os.getppid nor a parent-death
    signal tells of the owner's death; os.kill(pid, 0) still succeeds on an unreaped zombie).
    Elsewhere: os.kill(pid, 0) every OWNER_POLL_SECONDS (there, an owner left unreaped by its
    own parent keeps its workers until it is reaped)."""
    try:
        fd = os.pidfd_open(owner)
    except ProcessLookupError:
        return lambda: None  # gone already
    except (AttributeError, OSError):  # not Linux >= 5.3: look every so often
        def poll_pid() -> None:
            while True:
                try:
                    os.kill(owner, 0)
                except ProcessLookupError:
                    return
                except PermissionError:  # alive, someone else's: cannot happen for our owner
                    pass
                time.sleep(OWNER_POLL_SECONDS)
        return poll_pid

    def wait_pidfd() -> None:
        import select

        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll()  # blocks until the owner exits
    return wait_pidfd


def _exit_with_owner(owner: int) -> None:
    """Exit this worker as soon as the process that owns the pool has died: nothing else would
    end it (it waits on a queue whose other end it holds itself), and it would keep its
    dictionary's memory, the fork server and the resource tracker alive for good."""
    wait = _owner_gone_waiter(owner)

    def watch() -> None:
        wait()
        os._exit(1)

    threading.Thread(target=watch, name="unparl-owner-watch", daemon=True).start()


def _init_worker(backend: str, owner: int | None = None) -> None:
    import pyarrow as pa

    if owner is not None:
        _exit_with_owner(owner)
    # One thread per worker: the pool already fills the cores.
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    tokens.set_backend(backend)
    list(tokens.tagger()("预热。"))  # load the dictionary now, once for this worker


def _new_pool(workers: int, backend: str) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    # Workers fork from a server that has these imported, not from a Dagster process
    # with its threads; each then loads the dictionary once.
    context.set_forkserver_preload(["pipeline.lib.chain", "pipeline.lib.text.tokens", "jieba.posseg"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_init_worker, initargs=(backend, os.getpid()))


def pool(workers: int, backend: str) -> ProcessPoolExecutor:
    """The process's pool for this many workers and this backend, started on first use."""
    key = (workers, backend)
    if key not in _pools:
        _pools[key] = _new_pool(workers, backend)
    return _pools[key]


def _replace_pool(workers: int, backend: str) -> ProcessPoolExecutor:
    """A new pool in place of one a dead worker broke."""
    broken = _pools.pop((workers, backend), None)
    if broken is not None:
        broken.shutdown(wait=False, cancel_futures=True)
    return pool(workers, backend)


def _alone(run: Callable[[str, StageInput], Outcome], name: str, given: StageInput, backend: str) -> Outcome:
    """One document's stage in a worker of its own, after a worker died while it ran with others:
    its outcome, or, when this worker dies too, the document set aside (the death was its own)."""
    with _new_pool(1, backend) as solo:
        try:
            return solo.submit(run, name, given).result()
        except BrokenProcessPool:
            return _failed(name, given, WorkerDied(
                "the process reading it died (a crash in a reader's native code, or killed for lack of memory)"))


def _ready(_: int) -> int:
    time.sleep(0.1)  # long enough that a worker which is ready gets one of these tasks
    return os.getpid()


def start(workers: int | None, backend: str | None = None) -> float:
    """Start the pool now and wait until each of its workers has loaded its dictionary, so
    that the first batch does not wait for them; returns the seconds it took."""
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


# --- the chain over many documents ------------------------------------------------------------

def run_chain(keys: Sequence[str], stages: Sequence[str] = chain.NAMES, *, data_dir: Path,
              seeds_dir: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES, backend: str | None = None,
              workers: int | None = 1, run: Callable[[str, StageInput], Outcome] = run_stage,
              ) -> Iterator[tuple[str, list[Outcome]]]:
    """Run the chosen stages (in chain order) for each document; yield (stage, outcomes in key
    order) as soon as every document has finished that stage. `run` runs one stage of one
    document (run_stage; a module-level function, since workers import it)."""
    chosen = [s.name for s in chain.STAGES if s.name in set(stages)]
    backend = tokens.current_backend(backend)
    located = chain.locate_sources(Path(seeds_dir)) if seeds_dir is not None and "documents" in chosen else {}
    inputs = {key: StageInput(Path(data_dir), key, Path(seeds_dir) if seeds_dir else None, max_bytes, backend,
                              located.get(key)) for key in keys}
    workers = resolve_workers(workers)
    if _in_this_process(workers, keys, located):
        # Each input names its backend: the process's own choice (set_backend) is left alone.
        for name in chosen:
            yield name, [run(name, inputs[key]) for key in keys]
        return
    yield from _on_pool(workers, backend, keys, chosen, inputs, run)


def _in_this_process(workers: int, keys: Sequence[str], located: dict) -> bool:
    """Whether these documents' stages run in this process rather than on the pool: always in a
    daemonic process (it may not start workers); for one worker or a few documents (a pool costs
    more than it saves), unless a file is read by native code, which would take this process with
    it if the file crashed it."""
    if multiprocessing.current_process().daemon:
        return True
    if workers > 1 and len(keys) >= MIN_BATCH:
        return False
    return not any(key in located and not located[key][0].error and read_natively(located[key][0].path)
                   for key in keys)


def _on_pool(workers: int, backend: str, keys: Sequence[str], chosen: list[str], inputs: dict[str, StageInput],
             run: Callable[[str, StageInput], Outcome]) -> Iterator[tuple[str, list[Outcome]]]:
    """Each document's next stage is queued when its previous one finishes (a feeder thread
    does it, so the pool stays busy while the caller records what is done). A worker that dies
    (a crash in native code, the out-of-memory killer) breaks the pool: the stages it was running
    are run again one by one in workers of their own, where the one whose worker dies again is
    set aside, and the others go on in a new pool."""
    done: dict[str, dict[str, Outcome]] = {name: {} for name in chosen}
    finished = {name: threading.Event() for name in chosen}
    failure: list[BaseException] = []

    def feed() -> None:
        executor = pool(workers, backend)
        running: dict[Future, tuple[str, int]] = {}

        def record(key: str, i: int, outcome: Outcome) -> None:
            done[chosen[i]][key] = outcome
            if len(done[chosen[i]]) == len(keys):
                finished[chosen[i]].set()
            if i + 1 < len(chosen):
                running[executor.submit(run, chosen[i + 1], inputs[key])] = (key, i + 1)

        try:
            for key in keys:
                running[executor.submit(run, chosen[0], inputs[key])] = (key, 0)
            while running:
                ready, _ = wait(running, return_when=FIRST_COMPLETED)
                ended = [(running.pop(future), future) for future in ready]
                if any(isinstance(future.exception(), BrokenProcessPool) for _, future in ended):
                    wait(running)  # the broken pool ends every task it held
                    ended += [(running.pop(future), future) for future in list(running)]
                    executor = _replace_pool(workers, backend)
                lost = [task for task, future in ended if isinstance(future.exception(), BrokenProcessPool)]
                for (key, i), future in ended:
                    if (key, i) not in lost:
                        record(key, i, future.result())
                for key, i in lost:
                    record(key, i, _alone(run, chosen[i], inputs[key], backend))
        except BaseException as exc:  # anything else: the run fails, loudly
            failure.append(exc)
            for future in running:
                future.cancel()
            for event in finished.values():
                event.set()

    feeder = threading.Thread(target=feed, name="unparl-feeder", daemon=True)
    feeder.start()
    for name in chosen:
        finished[name].wait()
        if failure:
            raise failure[0]
        yield name, [done[name][key] for key in keys]
    feeder.join()


def run_documents(keys: Sequence[str], stages: Sequence[str] = chain.NAMES, **options) -> dict[str, dict[str, Outcome]]:
    """run_chain to its end: outcomes by document, then by stage."""
    by_doc: dict[str, dict[str, Outcome]] = {key: {} for key in keys}
    for name, outcomes in run_chain(keys, stages, **options):
        for outcome in outcomes:
            by_doc[outcome.doc_id][name] = outcome
    return by_doc
