"""Hostile and careless inputs (issue 14): one odd entry of the seeds folder never stops the
scan, the planner or the chain, and never gets published as something it is not.

Long and non-UTF-8 file names are processed; a link out of the seeds folder, a broken link, a
FIFO and a link to a folder are set aside with a reason and never opened; a sidecar that cannot
be read is blamed on the sidecar; a file that changes while it is read is left for the next
build; names that differ only in case keep distinct ids; the planner and the scan agree on
every id. The unit tests call the lib functions on tmp folders; two slow ones run a Dagster
build to see what is published and what is stamped.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.lib import chain, corpus, planning, runner, stamps
from pipeline.lib.text import ingest
from pipeline.lib.text.ingest import DEFAULT_MAX_BYTES, doc_id_for, scan_sources
from pipeline.lib.workdir import read_work
from conftest import REPO, REPORT_ID, RESOLUTION_ID, SEEDS
from pipeline.lib.release.cut import read_table

TEXT = "一、大会决定继续审议这一项目。\n\n二、请秘书长向大会第七十五届会议提出报告。\n"
SETTINGS = stamps.settings_key(DEFAULT_MAX_BYTES, "jieba")
LONG_NAME = "报" * 82 + ".txt"  # 250 bytes: its sidecar's name (256 bytes) cannot exist
GBK_NAME = "报告".encode("gbk") + b".txt"  # not UTF-8
SAFE_ID = re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.-]*")


# --- what is opened ---------------------------------------------------------------------------
# An audit hook sees every open (builtins.open and os.open) of this process: a test asserts that
# a file was never opened, not merely that its text was not published.

_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.path.realpath(os.fsdecode(args[0])))


sys.addaudithook(_audit)


@contextmanager
def recording_opens():
    global _opened
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None


# --- helpers ----------------------------------------------------------------------------------

def folder(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    for name, text in (files or {}).items():
        (seeds / name).write_text(text, "utf-8")
    return seeds


def raw_rows(seeds: Path, data: Path) -> dict[str, dict]:
    """The documents stage over every document of the folder: each one's raw row, by file name."""
    rows = {}
    for doc_id, located in chain.locate_sources(seeds).items():
        result = chain.documents_stage(chain.StageInput(data, doc_id, seeds_dir=seeds, located=located))
        row = result["raw"].table.to_pylist()[0]
        rows[os.fsdecode(located[0].path.name)] = row
    return rows


def planned_and_scanned(seeds: Path, data: Path) -> tuple[set[str], set[str]]:
    """The ids the planner sees (it plans every file of a new folder) and the ids the scan gives."""
    plan = planning.plan(seeds, data, known=set(), settings=SETTINGS)
    return set(plan.added), {s.doc_id for s in scan_sources(seeds)}


def hostile_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A seeds folder holding one of each hostile entry, and a secret file outside it."""
    seeds = folder(tmp_path, {"good.txt": TEXT, LONG_NAME: TEXT + "长名。\n"})
    (seeds / os.fsdecode(GBK_NAME)).write_bytes((TEXT + "报告。\n").encode())
    secret = tmp_path / "secret.txt"
    secret.write_text("机密：不得公布的文字。" * 3, "utf-8")
    os.symlink(secret, seeds / "escape.txt")
    os.symlink("nowhere.txt", seeds / "broken.txt")
    os.mkfifo(seeds / "pipe.txt")
    os.symlink(tmp_path, seeds / "folder_link.txt")
    (seeds / "..txt").write_text(TEXT + "隐藏。\n", "utf-8")
    return seeds, secret


# --- 1. a file name of 250+ bytes ---------------------------------------------------------------

def test_a_250_byte_file_name_is_processed_without_a_sidecar(tmp_path):
    seeds = folder(tmp_path, {LONG_NAME: TEXT})
    assert len(LONG_NAME.encode()) == 250
    [source] = scan_sources(seeds)
    assert source.error is None and source.sidecar is None
    assert SAFE_ID.fullmatch(source.doc_id) and len(source.doc_id) < 100
    added, scanned = planned_and_scanned(seeds, tmp_path / "data")
    assert added == scanned == {source.doc_id}
    row = raw_rows(seeds, tmp_path / "data")[LONG_NAME]
    assert (row["status"], row["source_file"], row["sidecar_file"]) == ("ok", LONG_NAME, None)
    assert row["text"] == TEXT


# --- 2. a file name that is not UTF-8 -----------------------------------------------------------

def test_a_file_name_that_is_not_utf8_gets_a_safe_id_an_escaped_name_and_a_warning(tmp_path):
    seeds = folder(tmp_path)
    (seeds / os.fsdecode(GBK_NAME)).write_bytes(TEXT.encode())
    (seeds / os.fsdecode("報告".encode("big5") + b".txt")).write_bytes((TEXT + "二。\n").encode())
    data = tmp_path / "data"
    sources = {os.fsencode(s.path.name): s for s in scan_sources(seeds)}
    source = sources[GBK_NAME]
    # The id: one safe component, from the name's bytes (two names that decode alike still differ).
    assert SAFE_ID.fullmatch(source.doc_id)
    assert source.doc_id.endswith(hashlib.sha256(GBK_NAME).hexdigest()[:8])
    assert len({s.doc_id for s in sources.values()}) == 2
    added, scanned = planned_and_scanned(seeds, data)
    assert added == scanned

    # Every stage runs, the work tables are written, and the corpus holds it.
    outcomes = runner.run_documents(sorted(scanned), data_dir=data, seeds_dir=seeds)
    assert {o.status for doc in outcomes.values() for o in doc.values()} == {"ok"}
    for doc_id in scanned:
        stamps.write_stamp(data, doc_id, chain.NAMES, SETTINGS)
    tables = corpus.assemble(data, sorted(scanned)).tables()
    documents = {d["doc_id"]: d for d in tables["documents"].read().to_pylist()}
    recorded = documents[source.doc_id]["source_file"]
    assert recorded == r"\xb1\xa8\xb8\xe6.txt"  # lossless: the escapes are the name's bytes
    assert recorded.encode().decode("unicode_escape").encode("latin-1") == GBK_NAME
    assert any("not valid UTF-8" in w and recorded in w for w in documents[source.doc_id]["warnings"])
    # and the planner, with these documents built, has nothing to do
    again = planning.plan(seeds, data, known=scanned, settings=SETTINGS)
    assert again.to_process == [] and again.removed == []


def test_a_non_utf8_name_in_a_reason_is_escaped(tmp_path):
    seeds = folder(tmp_path)
    (seeds / os.fsdecode(GBK_NAME)).write_bytes(b"")
    [row] = raw_rows(seeds, tmp_path / "data").values()
    assert (row["reason"], row["source_file"]) == ("empty", r"\xb1\xa8\xb8\xe6.txt")
    assert row["detail"].startswith(r"\xb1\xa8\xb8\xe6.txt: ")


# --- 4. a file that changes while it is read ----------------------------------------------------

def test_a_file_that_changes_after_the_scan_is_set_aside_as_changing(tmp_path):
    seeds = folder(tmp_path, {"report.txt": TEXT})
    data = tmp_path / "data"
    located = chain.locate_sources(seeds)["report"]
    changed = (TEXT + "三、又一段。\n").encode()
    (seeds / "report.txt").write_bytes(changed)
    outcome = runner.run_stage("documents", chain.StageInput(data, "report", seeds_dir=seeds, located=located))
    assert (outcome.status, outcome.reason) == ("quarantined", "changing")  # what the asset leaves unstamped
    assert "report.txt" in outcome.detail
    row = chain.read_raw(data, "report", text=True)
    assert row["text"] == "" and row["source_sha256"] == hashlib.sha256(changed).hexdigest()

    # Read again once it has settled: published with the hash of the very bytes decoded.
    row = raw_rows(seeds, data)["report.txt"]
    assert row["status"] == "ok" and row["text"] == changed.decode()
    assert row["source_sha256"] == hashlib.sha256(changed).hexdigest()


def test_a_sidecar_that_changes_after_the_scan_is_set_aside_as_changing(tmp_path):
    seeds = folder(tmp_path, {"report.txt": TEXT, "report.meta.json": '{"session": 74}'})
    located = chain.locate_sources(seeds)["report"]
    (seeds / "report.meta.json").write_text('{"session": 75}', "utf-8")
    result = chain.documents_stage(chain.StageInput(tmp_path / "data", "report", seeds_dir=seeds, located=located))
    row = result["raw"].table.to_pylist()[0]
    assert row["reason"] == "changing" and row["detail"].startswith("report.meta.json: ")


# --- 6. links ----------------------------------------------------------------------------------

def test_a_link_out_of_the_seeds_folder_is_set_aside_and_never_opened(tmp_path):
    seeds = folder(tmp_path, {"good.txt": TEXT})
    secret = tmp_path / "secret.txt"
    secret.write_text("机密：不得公布的文字。" * 3, "utf-8")
    os.symlink(secret, seeds / "escape.txt")
    os.symlink(f"../{secret.name}", seeds / "relative.txt")
    data = tmp_path / "data"
    with recording_opens() as opened:
        added, scanned = planned_and_scanned(seeds, data)
        rows = raw_rows(seeds, data)
    assert str(secret.resolve()) not in opened
    assert added == scanned == {"good", "escape", "relative"}
    for name in ("escape.txt", "relative.txt"):
        row = rows[name]
        assert (row["status"], row["reason"], row["text"]) == ("quarantined", "outside_seeds", "")
        assert row["detail"].startswith(f"{name}: ") and "outside the seeds folder" in row["detail"]
    assert rows["good.txt"]["status"] == "ok"


def test_a_link_to_a_file_inside_the_seeds_folder_is_followed(tmp_path):
    seeds = folder(tmp_path)
    (seeds / "archive").mkdir()  # a folder is not a document; a file in it is read through a link
    (seeds / "archive" / "report.txt").write_text(TEXT, "utf-8")
    os.symlink("archive/report.txt", seeds / "report.txt")
    rows = raw_rows(seeds, tmp_path / "data")
    assert list(rows) == ["report.txt"]
    assert (rows["report.txt"]["status"], rows["report.txt"]["text"]) == ("ok", TEXT)


# --- 8. broken links, FIFOs, links to folders, hidden files ------------------------------------

def test_a_broken_link_is_unreadable_and_a_fifo_or_a_link_to_a_folder_not_a_file(tmp_path):
    seeds = folder(tmp_path, {"good.txt": TEXT})
    os.symlink("nowhere.txt", seeds / "broken.txt")
    os.mkfifo(seeds / "pipe.txt")  # opening it would block the build
    os.symlink(".", seeds / "here.txt")
    (seeds / "..txt").write_text(TEXT + "隐藏。\n", "utf-8")  # hidden: not a document (README)
    data = tmp_path / "data"
    with recording_opens() as opened:
        added, scanned = planned_and_scanned(seeds, data)
        rows = raw_rows(seeds, data)
    assert str(seeds / "pipe.txt") not in opened and str(seeds.resolve()) not in opened
    assert added == scanned == {"good", "broken", "pipe", "here"}
    reasons = {name: (row["reason"], row["detail"]) for name, row in rows.items()}
    assert reasons["broken.txt"] == ("unreadable", "broken.txt: a broken symbolic link (its target does not exist)")
    assert reasons["pipe.txt"][0] == "not_a_file" and "FIFO" in reasons["pipe.txt"][1]
    assert reasons["here.txt"][0] == "not_a_file" and "link to a folder" in reasons["here.txt"][1]
    assert reasons["good.txt"] == (None, None)


def test_the_readme_explains_every_reason_the_hostile_inputs_get(tmp_path):
    seeds, _ = hostile_folder(tmp_path)
    os.symlink("good.txt", seeds / "copy.txt")
    (seeds / "changing.txt").write_text(TEXT + "变。\n", "utf-8")
    (seeds / "sidecar_dir.txt").write_text(TEXT + "旁。\n", "utf-8")
    (seeds / "sidecar_dir.meta.json").mkdir()
    located = chain.locate_sources(seeds)
    (seeds / "changing.txt").write_text(TEXT + "变了。\n", "utf-8")
    data = tmp_path / "data"
    reasons = {chain.documents_stage(chain.StageInput(data, doc, seeds_dir=seeds, located=loc))["raw"]
               .table.column("reason")[0].as_py() for doc, loc in located.items()} - {None}
    assert reasons == {"outside_seeds", "unreadable", "not_a_file", "duplicate", "changing", "bad_sidecar"}
    readme = (REPO / "README.md").read_text("utf-8")
    table = readme[readme.index("## When something goes wrong"):readme.index("### Security")]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    assert reasons <= documented, reasons - documented
    assert re.search(r"broken (symbolic )?link", table.split("`unreadable`")[1].split("\n")[0])
    security = readme[readme.index("### Security"):readme.index("## Performance")]
    assert re.search(r"starts? with `\.`.{0,60}\bignored", security, re.S), "hidden files are said to be ignored"
    assert "outside_seeds" in security and "link" in security


# --- 9. a sidecar that cannot be read ---------------------------------------------------------

@pytest.mark.parametrize("kind", ["folder", "broken_link", "fifo"])
def test_a_sidecar_that_cannot_be_read_is_bad_sidecar_naming_the_sidecar(tmp_path, kind):
    seeds = folder(tmp_path, {"doc.txt": TEXT})
    sidecar = seeds / "doc.meta.json"
    {"folder": sidecar.mkdir, "broken_link": lambda: os.symlink("gone.json", sidecar),
     "fifo": lambda: os.mkfifo(sidecar)}[kind]()
    with recording_opens() as opened:
        added, scanned = planned_and_scanned(seeds, tmp_path / "data")
        row = raw_rows(seeds, tmp_path / "data")["doc.txt"]
    assert str(sidecar) not in opened
    assert added == scanned == {"doc"}
    assert (row["status"], row["reason"], row["sidecar_file"]) == ("quarantined", "bad_sidecar", "doc.meta.json")
    assert row["detail"].startswith("doc.meta.json: "), row["detail"]


def test_a_sidecar_without_read_permission_is_bad_sidecar_naming_the_sidecar(tmp_path):
    seeds = folder(tmp_path, {"doc.txt": TEXT, "doc.meta.json": '{"session": 74}'})
    (seeds / "doc.meta.json").chmod(0)
    command = [sys.executable, "-c", (
        "import json, sys; from pathlib import Path; from pipeline.lib import chain; "
        "seeds, data = Path(sys.argv[1]), Path(sys.argv[2]); "
        "r = chain.documents_stage(chain.StageInput(data, 'doc', seeds_dir=seeds))['raw'].table.to_pylist()[0]; "
        "print(json.dumps([r['reason'], r['detail']]))"), str(seeds), str(tmp_path / "data")]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    reason, detail = json.loads(done.stdout)
    assert reason == "bad_sidecar" and detail.startswith("doc.meta.json: cannot be read"), detail


# --- ids: case, and one rule for the scan and the planner -------------------------------------

def test_names_that_differ_only_in_case_get_ids_that_differ_ignoring_case(tmp_path):
    seeds = folder(tmp_path, {"A.txt": TEXT, "a.txt": TEXT + "二。\n", "Report.txt": TEXT + "三。\n",
                              "REPORT.txt": TEXT + "四。\n"})
    ids = [s.doc_id for s in scan_sources(seeds)]
    assert len({i.lower() for i in ids}) == 4, ids
    assert "A" in ids and "REPORT" in ids  # the first of each keeps its plain id
    added, scanned = planned_and_scanned(seeds, tmp_path / "data")
    assert added == scanned == set(ids)
    # the seeds keep their ids
    assert [s.doc_id for s in scan_sources(SEEDS)] == [REPORT_ID, RESOLUTION_ID]
    assert doc_id_for(SEEDS / f"{REPORT_ID}.txt") == REPORT_ID


def test_the_planner_and_the_scan_agree_on_every_id_of_a_hostile_folder(tmp_path):
    seeds, _ = hostile_folder(tmp_path)
    for name in ("x y.txt", "x_y.txt", "X_Y.txt", "x y"):
        (seeds / name).write_text(TEXT + name + "\n", "utf-8")
    observed = planning.observe(seeds)
    sources = scan_sources(seeds)
    assert {o.name: d for d, o in observed.items()} == {s.path.name: s.doc_id for s in sources}
    assert all(s.error_reason for s in sources if s.error)  # every error carries its reason code
    assert ingest.list_documents(seeds) and all(SAFE_ID.fullmatch(s.doc_id) for s in sources)


# --- through Dagster: what is published, what is stamped ---------------------------------------

@pytest.mark.slow
def test_a_build_of_a_hostile_folder_publishes_the_good_documents_only(tmp_path):
    import dagster as dg

    from pipeline.build import build
    from pipeline.defs.resources import UnparlSettings

    seeds, secret = hostile_folder(tmp_path)
    data = tmp_path / "data"
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    with dg.instance_for_test() as instance:
        report = build(seeds, data, instance=instance, resources={"settings": settings})
        assert report.release["created"] is True
        release = data / "releases" / report.release["version"]
        docs = read_table(release, "documents").to_pylist()
        assert sorted(d["source_file"] for d in docs) == sorted(["good.txt", LONG_NAME, r"\xb1\xa8\xb8\xe6.txt"])
        quarantine = {q["source_file"]: q["reason"] for q in read_table(release, "quarantine").to_pylist()}
        assert quarantine == {"escape.txt": "outside_seeds", "broken.txt": "unreadable", "pipe.txt": "not_a_file",
                              "folder_link.txt": "outside_seeds"}
        # nothing of the secret anywhere in the release, its archive included
        marker = "不得公布".encode()
        for path in release.rglob("*"):
            assert not path.is_file() or marker not in path.read_bytes(), path
        for archive in (data / "releases").glob("*.zip"):
            with zipfile.ZipFile(archive) as z:
                assert not [n for n in z.namelist() if marker in z.read(n)]
        assert {r.dagster_run.status for r in instance.get_run_records()} == {dg.DagsterRunStatus.SUCCESS}
        # and a second build finds the good documents done
        again = build(seeds, data, instance=instance, resources={"settings": settings})
        assert not set(again.processed) & {d["doc_id"] for d in docs}
    assert secret.read_text("utf-8").startswith("机密")


@pytest.mark.slow
def test_a_file_that_changes_while_a_build_reads_it_is_not_stamped_and_the_next_build_publishes_it(
        tmp_path, monkeypatch):
    import dagster as dg

    from pipeline.build import build
    from pipeline.defs.resources import UnparlSettings

    seeds = folder(tmp_path, {"steady.txt": TEXT, "moving.txt": TEXT + "初稿。\n"})
    data = tmp_path / "data"
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))
    final = (TEXT + "定稿。\n").encode()
    real = chain.locate_sources

    def scan_then_edit(folder_):  # the file is written to right after the run's scan
        located = real(folder_)
        (seeds / "moving.txt").write_bytes(final)
        return located

    with dg.instance_for_test() as instance:
        monkeypatch.setattr(chain, "locate_sources", scan_then_edit)
        first = build(seeds, data, instance=instance, resources={"settings": settings})
        monkeypatch.setattr(chain, "locate_sources", real)
        assert read_work(data, "raw", "moving").column("reason")[0].as_py() == "changing"
        assert stamps.read_stamp(data, "moving") is None and stamps.read_stamp(data, "steady") is not None
        release = data / "releases" / first.release["version"]
        assert [d["doc_id"] for d in read_table(release, "documents").to_pylist()] == ["steady"]
        status = {r["doc_id"]: r for r in read_table(release, "document_status").to_pylist()}
        # Set aside for this release (not a failure of the pipeline), named in its quarantine.
        assert (status["moving"]["status"], status["moving"]["reason"]) == ("quarantined", "changing")
        quarantine = read_table(release, "quarantine").to_pylist()
        assert [(q["reason"], q["source_file"]) for q in quarantine] == [("changing", "moving.txt")]

        second = build(seeds, data, instance=instance, resources={"settings": settings})
        assert second.processed == ["moving"]
        release = data / "releases" / second.release["version"]
        docs = {d["doc_id"]: d for d in read_table(release, "documents").to_pylist()}
        assert docs["moving"]["source_sha256"] == hashlib.sha256(final).hexdigest()
        assert docs["moving"]["clean_text"].endswith("定稿。")
