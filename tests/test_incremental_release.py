"""The incremental release: documents are cut into parts that keep their documents from one
release to the next, a part whose documents are all unchanged is hard-linked from the previous
release (after its files pass their sha256 check), and the corpus assembly re-reads only the
documents whose files changed.

The corpus is the two seeds and the two samples, every stage run outside Dagster (as
test_streaming.py does), then released the way the corpus assets do it (benchmarks/release.py's
corpus_release): assemble, catalog and statistics from the partials, cut_release with the
corpus's fingerprints. A small `part_rows` gives several parts from four documents.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import A_RES_61_211_FILE, CHARTER_FILE, REPORT_FILE, RESOLUTION_FILE, sidecar_path
from pipeline import schemas
from pipeline.lib import chain, corpus, runner, stamps
from pipeline.lib.entities.catalog import catalog_from_partials
from pipeline.lib.release import cut as release
from pipeline.lib.release import verify
from pipeline.lib.release.cut import JSONL_TABLES, PER_DOCUMENT, cut_release, read_table
from pipeline.lib.release.stats import Statistics, combine
from pipeline.lib.storage import to_arrow
from pipeline.lib.text.ingest import doc_id_for

DAY = datetime.date(2026, 12, 1)
SETTINGS = stamps.settings_key(10_000_000, "test")
SOURCES = (REPORT_FILE, RESOLUTION_FILE, A_RES_61_211_FILE, CHARTER_FILE)
REPORT, RESOLUTION, SAMPLE, CHARTER = (doc_id_for(p) for p in SOURCES)
# One operative paragraph of the resolution said at more length: its tokens change, no id does.
EDIT_RESOLUTION = (RESOLUTION_FILE, "更系统地反映议会的作用", "更系统、更全面地反映议会的作用")


def _copy_source(path: Path, seeds: Path) -> None:
    shutil.copy(path, seeds / path.name)
    if sidecar_path(path).exists():
        shutil.copy(sidecar_path(path), seeds / sidecar_path(path).name)


def _run(seeds: Path, data: Path, keys: list[str]) -> None:
    outcomes = runner.run_documents(keys, data_dir=data, seeds_dir=seeds)
    assert {o.status for by_stage in outcomes.values() for o in by_stage.values()} == {"ok"}
    for key in keys:
        stamps.write_stamp(data, key, chain.NAMES, SETTINGS)


@pytest.fixture(autouse=True)
def writer(monkeypatch):
    """The writer's version (its code files' hash) held still: the files are the same through a
    test, and a test of a new writer sets another."""
    monkeypatch.setattr(release, "writer_version", lambda: "writer 1")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every stage of the four documents run and stamped, once; never assembled or released
    here (each test works on a copy)."""
    root = tmp_path_factory.mktemp("incremental")
    seeds, data = root / "seeds", root / "data"
    seeds.mkdir()
    for path in SOURCES:
        _copy_source(path, seeds)
    keys = sorted(chain.locate_sources(seeds))
    assert keys == sorted([REPORT, RESOLUTION, SAMPLE, CHARTER])
    _run(seeds, data, keys)
    return seeds, data


@dataclass
class Workspace:
    seeds: Path
    data: Path

    def release(self, keys: list[str], *, part_rows: int, today: datetime.date = DAY):
        """What the corpus assets do after the documents' stages, in one process."""
        assembled = corpus.assemble(self.data, sorted(keys))
        catalog = to_arrow(catalog_from_partials(assembled.partials["entity_mentions"]), schemas.ENTITY_CATALOG)
        statistics = combine(assembled.partials, assembled.documents, assembled.quarantine, catalog)
        return cut_release(self.data, {**assembled.tables(), "entity_catalog": catalog}, statistics.tables,
                           statistics.summary, inputs=assembled.inputs, notes=assembled.warnings,
                           code_version={"package": "test"}, today=today, fingerprints=assembled.fingerprints,
                           part_rows=part_rows, index=assembled.documents)

    def edit(self, source: Path, old: str, new: str) -> None:
        """Change a document's text and run its stages again."""
        path = self.seeds / source.name
        text = path.read_text("utf-8")
        assert text.count(old) == 1, old
        path.write_text(text.replace(old, new), "utf-8")
        _run(self.seeds, self.data, [doc_id_for(path)])


@pytest.fixture
def work(built, tmp_path) -> Workspace:
    seeds, data = built
    shutil.copytree(seeds, tmp_path / "seeds")
    shutil.copytree(data, tmp_path / "data")
    return Workspace(tmp_path / "seeds", tmp_path / "data")


@pytest.fixture(scope="module")
def rows(built) -> dict[str, int]:
    """Each document's rows in the per-document tables (what fills a part), from its work files."""
    _, data = built
    from pipeline.lib.workdir import file_rows, work_path

    return {doc_id: 1 + sum(file_rows(work_path(data, t, doc_id)) for t in PER_DOCUMENT if t != "documents")
            for doc_id in (REPORT, RESOLUTION, SAMPLE, CHARTER)}


# --- reading a release ------------------------------------------------------------------------

def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def layout(folder: Path) -> dict[str, list[str]]:
    """part name -> its documents, as the manifest lists them."""
    return {p["part"]: p["documents"] for p in manifest(folder)["parts"]}


def part_of(folder: Path, doc_id: str) -> str:
    return next(name for name, docs in layout(folder).items() if doc_id in docs)


def files_of_part(part: str) -> list[str]:
    return ([f"{t}/{part}.parquet" for t in PER_DOCUMENT] + [f"jsonl/{t}/{part}.jsonl" for t in PER_DOCUMENT
                                                              if t in JSONL_TABLES]
            + [f"conllu/{part}.conllu"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def holds_its_manifest(folder: Path) -> None:
    """Every file of the release is there with the sha256 and size its manifest gives, and the
    content hash is the manifest's files' hash."""
    entries = manifest(folder)["files"]
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == set(entries) | {"manifest.json"}
    for name, entry in entries.items():
        assert sha256(folder / name) == entry["sha256"], name
        assert (folder / name).stat().st_size == entry["bytes"], name
    assert release.manifest_content_hash(manifest(folder)) == manifest(folder)["content_hash"]
    # Each table, read across its parts, has the rows the manifest gives it.
    for table, count in manifest(folder)["tables"].items():
        assert release.table_rows(folder, table) == count, table
    assert read_table(folder, "documents").num_rows == sum(len(p["documents"]) for p in manifest(folder)["parts"])


def passes_its_checks(result) -> None:
    assert result.checks and not verify.problems(result.checks)
    assert not verify.problems(verify.outcomes(result.path))  # every file checked, none trusted


def rows_of(folder: Path, table: str, doc_id: str) -> list[dict]:
    part = part_of(folder, doc_id)
    rows = pq.read_table(folder / table / f"{part}.parquet")
    return rows.filter(pc.equal(rows.column("doc_id"), doc_id)).to_pylist()


def same_file(a: Path, b: Path) -> bool:
    return os.stat(a).st_ino == os.stat(b).st_ino


# --- the assignment rule, alone ----------------------------------------------------------------

def _parts(*entries: tuple[str, list[str]]) -> list[dict]:
    return [{"part": name, "documents": docs, "fingerprint": None} for name, docs in entries]


@pytest.mark.parametrize("rows, previous, part_rows, expected", [
    pytest.param({}, [], 10, [("part-00000", [])], id="no documents: one empty part"),
    pytest.param({"b": 4, "a": 4, "c": 4}, [], 8, [("part-00000", ["a", "b"]), ("part-00001", ["c"])],
                 id="first release: doc_id order, parts filled up to part_rows"),
    pytest.param({"a": 20}, [], 8, [("part-00000", ["a"])], id="a document larger than a part is not split"),
    pytest.param({"a": 4, "b": 4, "c": 4, "d": 1}, _parts(("part-00000", ["a", "b"]), ("part-00001", ["c"])), 8,
                 [("part-00000", ["a", "b"]), ("part-00001", ["c", "d"])], id="a new document fills the newest part"),
    pytest.param({"a": 4, "b": 4, "c": 8, "d": 1}, _parts(("part-00000", ["a", "b"]), ("part-00001", ["c"])), 8,
                 [("part-00000", ["a", "b"]), ("part-00001", ["c"]), ("part-00002", ["d"])],
                 id="the newest part full: a new part"),
    pytest.param({"0": 1, "a": 4, "b": 4}, _parts(("part-00000", ["a"]), ("part-00001", ["b"])), 8,
                 [("part-00000", ["a"]), ("part-00001", ["0", "b"])],
                 id="a new document sorting first still goes to the newest part"),
    pytest.param({"a": 4, "c": 4}, _parts(("part-00000", ["a"]), ("part-00001", ["b"]), ("part-00002", ["c"])), 8,
                 [("part-00000", ["a"]), ("part-00002", ["c"])], id="an emptied part goes"),
    pytest.param({"a": 4, "d": 1}, _parts(("part-00000", ["a"]), ("part-00001", ["b"])), 4,
                 [("part-00000", ["a"]), ("part-00002", ["d"])], id="part numbers are never reused"),
    pytest.param({"a": 100, "b": 100}, _parts(("part-00000", ["a", "b"])), 8, [("part-00000", ["a", "b"])],
                 id="documents grown past part_rows stay together"),
])
def test_assign_parts(rows, previous, part_rows, expected):
    assert release.assign_parts(rows, previous, part_rows) == [(name, docs) for name, docs in expected]


# --- (a) a document stays in its part; unchanged parts are linked ----------------------------

def test_a_new_document_leaves_the_others_in_their_parts_and_their_parts_linked(work, rows):
    # The report fills part-00000 on its own; the resolution starts part-00001, which has room.
    part_rows = rows[REPORT]
    assert rows[RESOLUTION] < part_rows  # the rule below needs the room
    first = work.release([REPORT, RESOLUTION], part_rows=part_rows)
    assert layout(first.path) == {"part-00000": [REPORT], "part-00001": [RESOLUTION]}
    assert (first.parts_written, first.parts_linked) == (2, 0)

    second = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=part_rows)
    assert second.created and manifest(second.path)["previous_version"] == first.version
    # The new document fills the newest part; the others stay where they were.
    assert layout(second.path) == {"part-00000": [REPORT], "part-00001": [RESOLUTION, SAMPLE]}
    assert (second.parts_written, second.parts_linked) == (1, 1)
    for name in files_of_part("part-00000"):
        assert (second.path / name).read_bytes() == (first.path / name).read_bytes(), name
        assert same_file(second.path / name, first.path / name), name
        assert manifest(second.path)["files"][name] == manifest(first.path)["files"][name], name
    for name in files_of_part("part-00001"):
        assert not same_file(second.path / name, first.path / name), name
    assert (second.path / "tokens/part-00001.parquet").read_bytes() != (first.path / "tokens/part-00001.parquet").read_bytes()
    # The resolution's rows did not change by sharing its part with another document.
    for table in PER_DOCUMENT:
        assert rows_of(second.path, table, RESOLUTION) == rows_of(first.path, table, RESOLUTION), table
    assert [d["doc_id"] for d in second.changes["documents"]["added"]] == [SAMPLE]
    holds_its_manifest(second.path)
    passes_its_checks(second)

    # The incremental release holds what a release of the same documents written whole holds.
    whole = Workspace(work.seeds, work.data.parent / "whole")
    shutil.copytree(work.data / "work", whole.data / "work")
    shutil.rmtree(whole.data / "work" / "corpus")
    fresh = whole.release([REPORT, RESOLUTION, SAMPLE], part_rows=part_rows)
    assert (fresh.parts_written, fresh.parts_linked) == (2, 0)
    assert layout(fresh.path) == layout(second.path)
    assert fresh.content_hash == second.content_hash


def test_a_document_added_to_full_parts_gets_a_new_part(work, rows):
    first = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)  # one document a part
    assert layout(first.path) == {"part-00000": [REPORT], "part-00001": [RESOLUTION], "part-00002": [SAMPLE]}
    second = work.release([REPORT, RESOLUTION, SAMPLE, CHARTER], part_rows=1)
    assert layout(second.path) == {**layout(first.path), "part-00003": [CHARTER]}
    assert (second.parts_written, second.parts_linked) == (1, 3)
    for part in ("part-00000", "part-00001", "part-00002"):
        for name in files_of_part(part):
            assert same_file(second.path / name, first.path / name), name
    holds_its_manifest(second.path)
    passes_its_checks(second)


def test_an_edited_document_rewrites_only_its_part(work):
    first = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    work.edit(*EDIT_RESOLUTION)
    second = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    assert second.created and layout(second.path) == layout(first.path)
    assert (second.parts_written, second.parts_linked) == (1, 2)
    assert [d["doc_id"] for d in second.changes["documents"]["changed"]] == [RESOLUTION]
    edited = part_of(second.path, RESOLUTION)
    for part in layout(second.path):
        for name in files_of_part(part):
            assert same_file(second.path / name, first.path / name) == (part != edited), name
    assert any(EDIT_RESOLUTION[2] in row["text"] for row in rows_of(second.path, "paragraphs", RESOLUTION))
    assert not any(EDIT_RESOLUTION[2] in row["text"] for row in rows_of(first.path, "paragraphs", RESOLUTION))
    holds_its_manifest(second.path)
    passes_its_checks(second)


# --- (b) a tampered part is rewritten, never linked --------------------------------------------

def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))  # the same size: only the sha256 tells


def _flip_a_byte_keeping_its_time(path: Path) -> None:
    """What a copy that keeps times (cp -p, rsync -a, a restore from backup) of other bytes does."""
    st = path.stat()
    _flip_a_byte(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("victim, tamper", [
    pytest.param("tokens/part-00000.parquet", _flip_a_byte, id="a byte of Parquet changed"),
    pytest.param("jsonl/sentences/part-00000.jsonl", _flip_a_byte, id="a byte of JSON Lines changed"),
    pytest.param("tokens/part-00000.parquet", _flip_a_byte_keeping_its_time, id="a byte changed, time kept"),
    pytest.param("conllu/part-00000.conllu", lambda path: path.write_bytes(path.read_bytes()[:-10]),
                 id="CoNLL-U cut short"),
    pytest.param("documents/part-00000.parquet", lambda path: path.unlink(), id="Parquet deleted"),
])
def test_a_tampered_part_of_the_previous_release_is_rewritten(work, tamper, victim):
    first = work.release([REPORT, RESOLUTION], part_rows=1)
    good = manifest(first.path)["files"][victim]["sha256"]
    tamper(first.path / victim)
    second = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    assert second.created and (second.parts_written, second.parts_linked) == (2, 1)
    assert layout(second.path)["part-00000"] == [REPORT]
    # The whole part is written again, from the work files: its bytes are the good ones.
    for name in files_of_part("part-00000"):
        assert not (first.path / name).exists() or not same_file(second.path / name, first.path / name), name
    assert sha256(second.path / victim) == good
    for name in files_of_part("part-00001"):
        assert same_file(second.path / name, first.path / name), name
    holds_its_manifest(second.path)
    passes_its_checks(second)


def test_a_new_writer_rewrites_every_part(work, monkeypatch):
    first = work.release([REPORT, RESOLUTION], part_rows=1)
    monkeypatch.setattr(release, "writer_version", lambda: "writer 2")
    second = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    assert (second.parts_written, second.parts_linked) == (3, 0)
    for name in files_of_part("part-00000"):
        assert not same_file(second.path / name, first.path / name), name
        assert sha256(second.path / name) == sha256(first.path / name), name
    assert manifest(second.path)["parts"][0]["fingerprint"] != manifest(first.path)["parts"][0]["fingerprint"]
    holds_its_manifest(second.path)


def test_a_part_is_hashed_again_only_when_its_files_were_touched(work, monkeypatch):
    """The files a cut checked (or wrote) are not read again by the next cut while their inode,
    size and times are as that cut left them, even after a cut that found nothing new."""
    from pipeline.lib import storage

    hashed: list[str] = []
    real = storage.sha256_file

    def counting(path, *args, **kwargs):
        name = Path(path).relative_to(work.data / "releases").as_posix()
        if release.is_content_file(name.split("/", 1)[1]):
            hashed.append(name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(storage, "sha256_file", counting)
    first = work.release([REPORT, RESOLUTION], part_rows=1)
    assert not work.release([REPORT, RESOLUTION], part_rows=1).created
    assert hashed == []
    second = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    assert second.parts_linked == 2 and hashed == []
    os.utime(second.path / "tokens/part-00000.parquet")  # touched: its part is hashed again, then linked
    third = work.release([REPORT, RESOLUTION, SAMPLE, CHARTER], part_rows=1)
    assert third.parts_linked == 3 and hashed == [f"{second.version}/tokens/part-00000.parquet"]
    assert first.created


# --- (c) where links cannot be made, parts are copied -------------------------------------------

def test_parts_are_copied_when_links_cannot_be_made(work, monkeypatch):
    first = work.release([REPORT, RESOLUTION], part_rows=1)

    def no_links(source, target, *args, **kwargs):
        raise OSError(18, "Invalid cross-device link", str(source))

    monkeypatch.setattr(os, "link", no_links)  # the corpus's own links fall back to the work files too
    second = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    assert second.created and (second.parts_written, second.parts_linked) == (1, 2)
    for part in ("part-00000", "part-00001"):
        for name in files_of_part(part):
            new, old = second.path / name, first.path / name
            assert not same_file(new, old) and new.read_bytes() == old.read_bytes(), name
            # A copy is published like every other file: everyone may read it.
            assert new.stat().st_mode & 0o777 == 0o644, name
    holds_its_manifest(second.path)
    holds_its_manifest(first.path)
    passes_its_checks(second)
    assert read_table(second.path, "documents").column("doc_id").to_pylist() == [REPORT, RESOLUTION, SAMPLE]


# --- (d) a reader of the older release is unaffected ---------------------------------------------

def test_the_older_release_is_unchanged_by_the_newer_one(work):
    first = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    archive, archive_sha = release.archive_release(work.data, first.version)
    before = {p.relative_to(first.path).as_posix(): (sha256(p), p.stat().st_mode)
              for p in first.path.rglob("*") if p.is_file()}
    work.edit(A_RES_61_211_FILE, "提供足够的资源", "提供充足的资源")
    second = work.release([REPORT, SAMPLE, CHARTER], part_rows=1)  # one edited, one removed, one added
    assert second.created and second.parts_linked == 1
    after = {p.relative_to(first.path).as_posix(): (sha256(p), p.stat().st_mode)
             for p in first.path.rglob("*") if p.is_file()}
    assert after == before
    holds_its_manifest(first.path)
    assert read_table(first.path, "documents").column("doc_id").to_pylist() == [REPORT, RESOLUTION, SAMPLE]
    assert sha256(archive) == archive_sha
    assert (archive.parent / f"{archive.name}.sha256").read_text().split()[0] == archive_sha


# --- (e) an interrupted cut leaves nothing visible ----------------------------------------------

@pytest.mark.parametrize("step", ["_write_part", "_link"])
def test_an_interrupted_cut_leaves_no_partial_release(work, monkeypatch, step):
    first = work.release([REPORT, RESOLUTION], part_rows=1)
    releases = work.data / "releases"
    visible = sorted(p.name for p in releases.iterdir())
    real = getattr(release, step)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:  # the first one done, the second one killed
            raise KeyboardInterrupt(f"killed in {step}")
        return real(*args, **kwargs)

    monkeypatch.setattr(release, step, interrupted)
    with pytest.raises(KeyboardInterrupt):
        work.release([REPORT, RESOLUTION, SAMPLE, CHARTER], part_rows=1)
    monkeypatch.undo()
    assert len(calls) == 2
    assert sorted(p.name for p in releases.iterdir()) == visible  # nothing left, hidden or not
    assert (work.data / "LATEST").read_text().strip() == first.version
    assert release.latest_release(work.data) == first.path
    holds_its_manifest(first.path)
    # The next cut carries on from the last published release.
    again = work.release([REPORT, RESOLUTION, SAMPLE, CHARTER], part_rows=1)
    assert again.created and manifest(again.path)["previous_version"] == first.version
    holds_its_manifest(again.path)
    passes_its_checks(again)


# --- (f) nothing new, nothing cut ---------------------------------------------------------------

def test_a_rebuild_with_nothing_new_cuts_nothing(work):
    first = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    again = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1, today=DAY + datetime.timedelta(days=1))
    assert not again.created and again.version == first.version and again.path == first.path
    assert again.content_hash == first.content_hash
    assert release.list_releases(work.data) == [first.version]
    assert [p.name for p in (work.data / "releases").iterdir() if not p.name.startswith(".")] == [first.version]
    assert (work.data / "LATEST").read_text().strip() == first.version


# --- (g) the ledger and the partial aggregates ---------------------------------------------------

def _count_reads(monkeypatch) -> list[str]:
    read: list[str] = []
    real = corpus._read_entry

    def counting(data_dir, doc_id, *args, **kwargs):
        read.append(doc_id)
        return real(data_dir, doc_id, *args, **kwargs)

    monkeypatch.setattr(corpus, "_read_entry", counting)
    return read


def _statistics_from_whole_tables(assembled, catalog: pa.Table) -> Statistics:
    tables = {name: t if isinstance(t, pa.Table) else t.read() for name, t in assembled.tables().items()}
    return Statistics.of({**tables, "entity_catalog": catalog})


def _same_statistics(a: Statistics, b: Statistics) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        assert a.tables[name].to_pylist() == b.tables[name].to_pylist(), name
    assert a.summary == b.summary


def test_the_ledger_reads_only_documents_whose_files_changed(work, monkeypatch):
    keys = [REPORT, RESOLUTION, SAMPLE, CHARTER]
    read = _count_reads(monkeypatch)
    first = corpus.assemble(work.data, keys)
    assert sorted(read) == sorted(keys)

    read.clear()
    again = corpus.assemble(work.data, keys)
    assert read == []  # nothing changed: nothing read again
    assert again.fingerprints == first.fingerprints
    assert again.documents.to_pylist() == first.documents.to_pylist()
    assert again.status.to_pylist() == first.status.to_pylist()

    work.edit(*EDIT_RESOLUTION)
    read.clear()
    edited = corpus.assemble(work.data, keys)
    assert read == [RESOLUTION]
    assert {d for d in keys if edited.fingerprints[d] != first.fingerprints[d]} == {RESOLUTION}
    n_tokens = dict(zip(*(edited.documents.column(c).to_pylist() for c in ("doc_id", "n_tokens"))))
    before = dict(zip(*(first.documents.column(c).to_pylist() for c in ("doc_id", "n_tokens"))))
    assert {d for d in keys if n_tokens[d] != before[d]} == {RESOLUTION}

    # The partials, stored for three documents and computed for one, give the statistics of the
    # whole tables.
    catalog = to_arrow(catalog_from_partials(edited.partials["entity_mentions"]), schemas.ENTITY_CATALOG)
    combined = combine(edited.partials, edited.documents, edited.quarantine, catalog)
    _same_statistics(combined, _statistics_from_whole_tables(edited, catalog))
    assert sorted(pc.unique(edited.partials["documents"].column("doc_id")).to_pylist()) == sorted(keys)


def test_a_lost_ledger_costs_one_full_read_never_a_different_corpus(work, monkeypatch):
    keys = [REPORT, RESOLUTION, SAMPLE]
    first = corpus.assemble(work.data, keys)
    ledger = work.data / "work" / "corpus" / "ledger.json"
    assert ledger.is_file()
    ledger.write_text("{not json", "utf-8")
    read = _count_reads(monkeypatch)
    again = corpus.assemble(work.data, keys)
    assert sorted(read) == sorted(keys)
    assert again.fingerprints == first.fingerprints
    assert again.documents.to_pylist() == first.documents.to_pylist()


# --- (h) a removed document ----------------------------------------------------------------------

def test_a_removed_document_rewrites_only_its_part(work, rows):
    part_rows = rows[REPORT]
    first = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=part_rows)
    assert layout(first.path) == {"part-00000": [REPORT], "part-00001": [RESOLUTION, SAMPLE]}
    second = work.release([REPORT, SAMPLE], part_rows=part_rows)
    assert second.created and (second.parts_written, second.parts_linked) == (1, 1)
    assert layout(second.path) == {"part-00000": [REPORT], "part-00001": [SAMPLE]}
    for name in files_of_part("part-00000"):
        assert same_file(second.path / name, first.path / name), name
    for name in files_of_part("part-00001"):
        assert not same_file(second.path / name, first.path / name), name
    for table in PER_DOCUMENT:
        assert RESOLUTION not in read_table(second.path, table, ["doc_id"]).column("doc_id").to_pylist(), table
        assert rows_of(second.path, table, SAMPLE) == rows_of(first.path, table, SAMPLE), table
    assert [d["doc_id"] for d in second.changes["documents"]["removed"]] == [RESOLUTION]
    holds_its_manifest(second.path)
    passes_its_checks(second)


def test_a_part_emptied_by_removals_goes_and_its_number_is_not_reused(work):
    first = work.release([REPORT, RESOLUTION, SAMPLE], part_rows=1)
    second = work.release([REPORT, SAMPLE], part_rows=1)
    assert layout(second.path) == {"part-00000": [REPORT], "part-00002": [SAMPLE]}
    assert (second.parts_written, second.parts_linked) == (0, 2)
    assert not list(second.path.rglob("part-00001.*"))
    third = work.release([REPORT, SAMPLE, CHARTER], part_rows=1)
    assert layout(third.path) == {"part-00000": [REPORT], "part-00002": [SAMPLE], "part-00003": [CHARTER]}
    for release_ in (second, third):
        holds_its_manifest(release_.path)
        passes_its_checks(release_)
    assert first.created
