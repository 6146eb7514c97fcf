"""Files that cannot be processed are set aside with a reason; every other document goes on.

One corpus of good and bad files is built through Dagster (pipeline.build.build): the run
succeeds, the quarantine table and the asset metadata name each bad file and its reason,
duplicates are recorded, two files claiming one symbol keep distinct ids, and texts with no
UN structure still get paragraphs, sentences, tokens and entities. A quarantined document and
a document a stage raised on each show in the release's document_status table and fail an
asset check that names them (WARN and ERROR), while the other documents are released.
"""
from __future__ import annotations

import codecs
import dataclasses
import io
import json
import random
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from pipeline.defs.resources import UnparlSettings
from pipeline.lib import chain, invariants, runner, stamps
from pipeline.lib.corpus import assemble
from pipeline.lib.text.ingest import DEFAULT_MAX_BYTES, scan_sources
from pipeline.lib.workdir import StageResult, read_work
from conftest import LETTER, REPORT_FILE, REPORT_ID, RESOLUTION_ID, copy_seeds, sidecar_path
from pipeline.lib.release.cut import read_table

REPORT = REPORT_FILE.read_text("utf-8")
PRESS_RELEASE = (
    "新闻稿\n\n"
    "秘书长欢迎各国议会联盟关于性别平等的新报告\n\n"
    "纽约，2020年9月4日——联合国秘书长今天欢迎各国议会联盟发布的报告，"
    "并呼吁各国议会加快落实《2030年可持续发展议程》。\n\n"
    "秘书长指出，妇女在议会中的比例仍然只有25%左右。他鼓励联合国开发计划署继续支持格鲁吉亚和乌克兰的议会。\n\n"
    "详情请联系联合国新闻部。\n"
)
SIZE_LIMIT = 200_000  # bytes, for this corpus; the default is 20 MB


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("report.txt", REPORT)
    return buffer.getvalue()


def _not_text() -> bytes:
    rng = random.Random(7)
    return bytes(rng.randrange(0x80, 0x100) for _ in range(3000))  # no NULs, no structure


BAD_FILES: dict[str, tuple[bytes, str | None, str]] = {
    # name: (bytes, sidecar text or None, reason)
    "empty.txt": (b"", None, "empty"),
    "blank.txt": (" \r\n\t\n".encode() + "\u3000\u00a0\n".encode(), None, "empty"),
    "invisible.txt": (codecs.BOM_UTF8 + "\u200b\u200d\n\ufeff".encode(), None, "empty"),
    "photo.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), None, "binary"),
    # A PDF is read as one: this one ends after its first object, so it is cut off.
    "cut_off.pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", None, "corrupt"),
    "report.zip": (_zip_bytes(), None, "binary"),
    "noise.txt": (_not_text(), None, "undecodable"),
    "cut_gb18030.txt": (REPORT.encode("gb18030")[:-1], None, "truncated"),
    "cut_utf8.txt": (REPORT.encode("utf-8")[:-2], None, "truncated"),
    "huge.txt": (("\n\n".join([REPORT] * 5)).encode(), None, "too_large"),
    "bad_json.txt": ("1. 欢迎。".encode(), "{symbol: A/74/759", "bad_sidecar"),
    "wrong_type.txt": ("1. 鼓励。".encode(), '{"session": "74"}', "bad_sidecar"),
    "not_object.txt": ("1. 促请。".encode(), '["A/74/759"]', "bad_sidecar"),
    "bad_date.txt": ("1. 请。".encode(), '{"date": "4 September 2020"}', "bad_sidecar"),
    "zz_copy_of_report.txt": (REPORT.encode(), None, "duplicate"),
}


@dataclass
class Corpus:
    seeds: Path
    data: Path
    release: Path
    report: object
    instance: dg.DagsterInstance

    def table(self, name: str) -> pa.Table:
        return read_table(self.release, name)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    from pipeline.build import build

    root = tmp_path_factory.mktemp("quarantine")
    seeds, data = root / "seeds", root / "data"
    seeds.mkdir()
    (seeds / "000_report.txt").write_text(REPORT, "utf-8")
    shutil.copy(sidecar_path(REPORT_FILE), seeds / "000_report.meta.json")
    # Another version of the same report, claiming the same symbol in its sidecar.
    (seeds / "001_report_again.txt").write_text(REPORT + "\n\n补充说明：本报告的更正版本。\n", "utf-8")
    shutil.copy(sidecar_path(REPORT_FILE), seeds / "001_report_again.meta.json")
    (seeds / "letter.txt").write_text(LETTER, "utf-8")
    (seeds / "press_release.txt").write_text(PRESS_RELEASE, "utf-8")
    for name, (data_bytes, sidecar, _) in BAD_FILES.items():
        (seeds / name).write_bytes(data_bytes)
        if sidecar is not None:
            (seeds / name.replace(".txt", ".meta.json")).write_text(sidecar, "utf-8")
    # Two workers: with this many documents the stages run on the process pool, as in production.
    settings = UnparlSettings(seeds_dir=str(seeds), data_dir=str(data), max_bytes=SIZE_LIMIT, workers=2)
    with dg.DagsterInstance.ephemeral() as instance:
        report = build(seeds, data, instance=instance, resources={"settings": settings})
        yield Corpus(seeds, data, data / "releases" / (data / "LATEST").read_text().strip(), report, instance)


@pytest.mark.slow
def test_the_run_succeeds_and_the_good_documents_are_processed(corpus):
    runs = corpus.instance.get_run_records()
    assert runs and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    docs = corpus.table("documents").column("doc_id").to_pylist()
    assert docs == ["000_report", "001_report_again", "letter", "press_release"]


@pytest.mark.slow
def test_quarantine_table_names_every_bad_file_and_its_reason(corpus):
    rows = corpus.table("quarantine").to_pylist()
    assert {r["source_file"]: r["reason"] for r in rows} == {n: reason for n, (_, _, reason) in BAD_FILES.items()}
    for row in rows:
        assert row["detail"].startswith(row["source_file"].replace(".txt", "")), row
        assert row["source_sha256"]


@pytest.mark.slow
@pytest.mark.parametrize("name, words", [
    ("huge.txt", f"over the limit of {SIZE_LIMIT:,} bytes"),
    ("cut_gb18030.txt", "gb18030 text cut off in the middle of a character"),
    ("cut_utf8.txt", "UTF-8 text cut off in the middle of a character"),
    ("photo.png", "a PNG image"),
    ("report.zip", "a zip archive"),
    ("cut_off.pdf", "the PDF is cut off (no %%EOF at its end): copy or download it again"),
    ("wrong_type.txt", "field 'session' must be int, not str"),
    ("bad_json.txt", "not valid UTF-8 JSON"),
    ("zz_copy_of_report.txt", "same bytes as 000_report.txt, which is processed as document 000_report"),
])
def test_each_detail_says_what_was_found(corpus, name, words):
    detail = {r["source_file"]: r["detail"] for r in corpus.table("quarantine").to_pylist()}[name]
    assert words in detail


def check_evaluation(instance: dg.DagsterInstance, asset: str, name: str):
    """The latest evaluation of an asset check, as the UI shows it on the asset."""
    record = instance.get_latest_asset_check_evaluation_record(dg.AssetCheckKey(dg.AssetKey(asset), name))
    assert record is not None and record.event is not None, f"{asset}: check {name} never ran"
    return record.event.dagster_event.event_specific_data


@pytest.mark.slow
def test_asset_metadata_and_checks_name_the_files_and_reasons(corpus):
    ids = {s.path.name: s.doc_id for s in scan_sources(corpus.seeds)}

    def named(name: str, reason: str) -> str:
        # A bad sidecar's detail names the sidecar; any other's, the file.
        return name.replace(".txt", ".meta.json") if reason == "bad_sidecar" else name

    event = corpus.instance.get_latest_materialization_event(dg.AssetKey("documents"))
    meta = event.asset_materialization.metadata
    # One run built every document: its figures are the batch's, and say so.
    assert "dagster/row_count" not in meta
    assert meta["batch/status"].value == {"ok": 4, "quarantined": len(BAD_FILES)}
    header = [c.strip() for c in meta["batch/preview"].value.splitlines()[0].strip("| ").split("|")]
    assert header[0] == "doc_id" and len(header) == len(set(header)), header  # each row names its document
    set_aside = meta["batch/set_aside"].value
    readable = check_evaluation(corpus.instance, "documents", "documents_readable")
    assert not readable.passed and readable.severity == dg.AssetCheckSeverity.WARN
    assert readable.metadata["quarantined"].value == len(BAD_FILES)
    for name, (_, _, reason) in BAD_FILES.items():
        assert f"- {ids[name]}: quarantined ({reason}): {named(name, reason)}" in set_aside
        assert f"- {ids[name]}: {reason}: {named(name, reason)}" in readable.metadata["documents"].value
    notes = corpus.report.release["release_notes"]
    for name, (_, _, reason) in BAD_FILES.items():
        assert f"quarantined {name} ({reason})" in notes


@pytest.mark.slow
def test_duplicate_bytes_are_one_document(corpus):
    docs = corpus.table("documents").to_pylist()
    assert sum(d["source_sha256"] == docs[0]["source_sha256"] for d in docs) == 1
    manifest = json.loads((corpus.release / "manifest.json").read_text("utf-8"))
    statuses = {i["source_file"]: i["status"] for i in manifest["inputs"]}
    assert statuses["zz_copy_of_report.txt"] == "quarantined"


@pytest.mark.slow
def test_two_files_claiming_one_symbol_keep_distinct_ids_and_warn(corpus):
    paragraphs = corpus.table("paragraphs")
    assert invariants.unique(paragraphs, "para_id")[0]
    for name in ("sentences",):
        assert invariants.unique(corpus.table(name), "sent_id")[0]
    by_doc: dict[str, set[str]] = {}
    for row in paragraphs.select(["doc_id", "para_id"]).to_pylist():
        by_doc.setdefault(row["doc_id"], set()).add(row["para_id"].rsplit(":", 1)[0])
    # The first in doc_id order keeps the UN's citation; the other says which file it is.
    assert by_doc["000_report"] == {"A/74/759"}
    assert by_doc["001_report_again"] == {"A/74/759@001_report_again"}
    assert "A/74/759:p19" in paragraphs.column("para_id").to_pylist()
    assert "A/74/759@001_report_again:p19" in paragraphs.column("para_id").to_pylist()
    docs = {d["doc_id"]: d for d in corpus.table("documents").to_pylist()}
    assert docs["001_report_again"]["symbol"] == docs["000_report"]["symbol"] == "A/74/759"
    [warning] = [w for w in docs["001_report_again"]["warnings"] if "also the symbol of" in w]
    assert "000_report" in warning and "A/74/759@001_report_again" in warning
    assert not any("also the symbol of" in w for w in docs["000_report"]["warnings"])
    assert warning in corpus.report.release["release_notes"]
    # Every reference to a paragraph or sentence in the release resolves inside its own document.
    ids = {(r["doc_id"], r["para_id"]) for r in paragraphs.select(["doc_id", "para_id"]).to_pylist()}
    for name in ("sentences", "entities"):
        for row in corpus.table(name).select(["doc_id", "para_id"]).to_pylist():
            assert (row["doc_id"], row["para_id"]) in ids
    for row in paragraphs.select(["doc_id", "footnote_refs", "cited_by"]).to_pylist():
        for ref in (row["footnote_refs"] or []) + (row["cited_by"] or []):
            assert (row["doc_id"], ref) in ids


@pytest.mark.slow
@pytest.mark.parametrize("doc_id", ["letter", "press_release"])
def test_texts_without_un_structure_still_get_every_table(corpus, doc_id):
    docs = {d["doc_id"]: d for d in corpus.table("documents").to_pylist()}
    doc = docs[doc_id]
    assert doc["n_paragraphs"] >= 3 and doc["n_sentences"] >= 3 and doc["n_tokens"] > 20 and doc["n_entities"] >= 1
    assert any("no recognisable UN structure" in w for w in doc["warnings"])
    texts = {doc_id: doc["clean_text"]}
    for name in ("paragraphs", "sentences", "tokens", "entities"):
        table = corpus.table(name).filter(pa.compute.equal(corpus.table(name).column("doc_id"), doc_id))
        assert table.num_rows > 0, name
        assert invariants.offsets_hold(table, texts)[0], name
    entities = corpus.table("entities").filter(pa.compute.equal(corpus.table("entities").column("doc_id"), doc_id))
    if doc_id == "press_release":
        assert {"org:undp", "gpe:GEO"} <= set(entities.column("entity_id").to_pylist())


# --- ingest on its own: the limits and the sidecar checks ------------------------------------

def ingest(seeds: Path, data: Path, doc_id: str, **kwargs) -> StageResult:
    """The raw row the documents stage writes for one file: read, decoded, or set aside."""
    return chain.documents_stage(chain.StageInput(data, doc_id, seeds_dir=seeds, **kwargs))["raw"]


def _ingest_one(tmp_path: Path, name: str, data: bytes, sidecar: str | bytes | None = None, **kwargs) -> dict:
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / name).write_bytes(data)
    if sidecar is not None:
        target = seeds / (name.rsplit(".", 1)[0] + ".meta.json")
        target.write_bytes(sidecar if isinstance(sidecar, bytes) else sidecar.encode())
    [source] = [s for s in scan_sources(seeds) if s.path.name == name]
    return ingest(seeds, tmp_path / "data", source.doc_id, **kwargs).table.to_pylist()[0]


def test_the_default_size_limit_is_20_mb_and_is_checked_before_reading(tmp_path):
    assert DEFAULT_MAX_BYTES == 20 * 1024 * 1024
    assert UnparlSettings(seeds_dir=".", data_dir=".").max_bytes == DEFAULT_MAX_BYTES
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    with open(seeds / "big.txt", "wb") as f:
        f.truncate(DEFAULT_MAX_BYTES + 1)  # sparse: costs no disk
    row = ingest(seeds, tmp_path / "data", "big").table.to_pylist()[0]
    assert (row["status"], row["reason"]) == ("quarantined", "too_large")
    assert "20,971,520 bytes" in row["detail"]
    (seeds / "big.txt").write_bytes(b"x" * 10)
    (seeds / "small.txt").write_text(REPORT[:500], "utf-8")
    assert ingest(seeds, tmp_path / "data", "small").table.to_pylist()[0]["status"] == "ok"


@pytest.mark.slow
def test_the_size_limit_comes_from_the_environment(tmp_path, monkeypatch):
    from pipeline.defs.documents.assets import document_stages
    from pipeline.defs.resources import settings_from_env

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "report.txt").write_text(REPORT, "utf-8")
    monkeypatch.setenv("UNPARL_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("UNPARL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UNPARL_MAX_BYTES", "1000")
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("documents", ["report"])
        result = dg.materialize([document_stages], instance=instance, partition_key="report",
                                resources={"settings": settings_from_env()}, selection=["documents"])
    assert result.success
    row = read_work(tmp_path / "data", "raw", "report").to_pylist()[0]
    assert row["reason"] == "too_large" and "1,000 bytes" in row["detail"]


@pytest.mark.parametrize("sidecar, words", [
    pytest.param("{", "not valid UTF-8 JSON", id="broken-json"),
    pytest.param(b"\xff\xfe{}", "not valid UTF-8 JSON", id="not-utf8"),
    pytest.param("[" * 100_000 + "]" * 100_000, "not valid UTF-8 JSON", id="nested-too-deep"),
    pytest.param("null", "must hold a JSON object", id="null"),
    pytest.param('"A/74/759"', "must hold a JSON object", id="a-string"),
    pytest.param('{"session": true}', "'session' must be int, not bool", id="bool-for-int"),
    pytest.param('{"session": 74.0}', "'session' must be int, not float", id="float-for-int"),
    pytest.param('{"symbol": ["A/74/759"]}', "'symbol' must be str, not list", id="list-for-str"),
    pytest.param('{"draft_symbols": "A/74/L.85"}', "'draft_symbols' must be list", id="str-for-list"),
    pytest.param('{"draft_symbols": ["A/74/L.85", 1]}', "list of strings", id="list-of-mixed"),
    pytest.param('{"notes": 3}', "'notes' must be str/dict", id="int-for-notes"),
    pytest.param('{"date": "2020-13-01"}', "ISO 8601", id="impossible-month"),
    pytest.param('{"symbol": "A/74/759", "sybmol": "x"}', "unknown field 'sybmol'", id="typo"),
    pytest.param('{"session": NaN}', "'session' must be int, not float", id="nan"),
])
def test_a_bad_sidecar_quarantines_its_document_with_the_reason(tmp_path, sidecar, words):
    row = _ingest_one(tmp_path, "doc.txt", REPORT.encode(), sidecar)
    assert (row["status"], row["reason"]) == ("quarantined", "bad_sidecar")
    assert row["detail"].startswith("doc.meta.json: ") and words in row["detail"], row["detail"]


def test_an_oversized_sidecar_is_not_read(tmp_path):
    row = _ingest_one(tmp_path, "doc.txt", REPORT.encode(), '{"notes": "' + "x" * 2_000_000 + '"}')
    assert row["reason"] == "bad_sidecar" and "over the sidecar limit" in row["detail"]


def test_two_empty_files_are_each_empty_not_duplicates(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_bytes(b"")
    (seeds / "b.txt").write_bytes(b"")
    reasons = [ingest(seeds, tmp_path / "data", s.doc_id).table.column("reason")[0].as_py()
               for s in scan_sources(seeds)]
    assert reasons == ["empty", "empty"]


def _process(seeds: Path, data: Path, doc_id: str) -> None:
    """Every stage of one document, stamped as done: the document may enter a release."""
    outcomes = runner.run_documents([doc_id], data_dir=data, seeds_dir=seeds)[doc_id]
    assert all(o.status == "ok" for o in outcomes.values()), outcomes
    stamps.write_stamp(data, doc_id, chain.NAMES, stamps.settings_key(DEFAULT_MAX_BYTES, "jieba"))


def _corpus_tables(data: Path, doc_ids: list[str]) -> dict:
    corpus = assemble(data, doc_ids)
    assert not corpus.warnings
    return corpus.tables()


def test_who_keeps_a_shared_symbol_does_not_depend_on_arrival_order(tmp_path):
    head = REPORT[:2500]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name, extra in (("b_report", "乙。"), ("a_report", "甲。")):
        (seeds / f"{name}.txt").write_text(head + "\n\n" + extra + "\n", "utf-8")
        shutil.copy(sidecar_path(REPORT_FILE), seeds / f"{name}.meta.json")

    # b arrives first and is processed alone; a, earlier in doc_id order, comes later.
    late = tmp_path / "late"
    _process(seeds, late, "b_report")
    alone = _corpus_tables(late, ["b_report"])
    assert alone["paragraphs"].read().column("para_id")[0].as_py().startswith("A/74/759:")
    _process(seeds, late, "a_report")
    # Both processed together, in order.
    fresh = tmp_path / "fresh"
    for doc_id in ("a_report", "b_report"):
        _process(seeds, fresh, doc_id)

    late_tables = _corpus_tables(late, ["a_report", "b_report"])
    fresh_tables = _corpus_tables(fresh, ["a_report", "b_report"])
    # Tables other than documents are read from their documents' files as a release is
    # written, with the ids the corpus rule gives them.
    read = {name: {t: (v if isinstance(v, pa.Table) else v.read()) for t, v in tables.items()}
            for name, tables in (("late", late_tables), ("fresh", fresh_tables))}
    for name in ("documents", "paragraphs", "sentences", "tokens", "entities"):
        assert read["late"][name].to_pylist() == read["fresh"][name].to_pylist(), name
    sent_ids = {r["sent_id"].rsplit(":", 1)[0] for r in read["fresh"]["tokens"].select(["sent_id"]).to_pylist()}
    assert sent_ids == {"A/74/759", "A/74/759@b_report"}
    paragraphs = read["fresh"]["paragraphs"]
    assert invariants.unique(paragraphs, "para_id")[0]
    prefixes = {(r["doc_id"], r["para_id"].rsplit(":", 1)[0]) for r in paragraphs.to_pylist()}
    assert prefixes == {("a_report", "A/74/759"), ("b_report", "A/74/759@b_report")}
    warnings = read["fresh"]["documents"].column("warnings").to_pylist()
    assert [any("also the symbol of document a_report" in w for w in ws) for ws in warnings] == [False, True]


# --- one bad document among the seeds, through a build --------------------------------------

def _release_table(data: Path, name: str) -> list[dict]:
    release = data / "releases" / (data / "LATEST").read_text().strip()
    return read_table(release, name).to_pylist()


@pytest.mark.slow
def test_a_quarantined_document_shows_in_document_status_and_fails_a_warn_check(tmp_path):
    from pipeline.build import build

    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    (seeds / "broken.txt").write_bytes(random.Random(12).randbytes(200))
    with dg.instance_for_test() as instance:
        report = build(seeds, data, instance=instance)
        runs = instance.get_run_records()
        quarantined = check_evaluation(instance, "document_status", "no_quarantined_documents")
        failed = check_evaluation(instance, "document_status", "no_failed_documents")
    assert runs and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    # (a) The release's document_status says where it stands, and why.
    status = {r["doc_id"]: r for r in _release_table(data, "document_status")}
    [aside] = _release_table(data, "quarantine")
    assert aside["source_file"] == "broken.txt" and aside["reason"] in {"binary", "undecodable"}
    broken = status["broken"]
    assert (broken["status"], broken["reason"], broken["detail"]) == ("quarantined", aside["reason"], aside["detail"])
    assert broken["source_file"] == "broken.txt" and broken["detail"].startswith("broken.txt: ")

    # (b) The check on document_status fails with WARN severity and names it.
    assert not quarantined.passed and quarantined.severity == dg.AssetCheckSeverity.WARN
    assert quarantined.metadata["documents"].value == 1
    assert f"broken (broken.txt): {aside['reason']}: broken.txt: " in quarantined.metadata["listed"].value
    assert failed.passed  # set aside for its input, not failed

    # (c) The others are released.
    assert report.release["created"] is True
    assert [d["doc_id"] for d in _release_table(data, "documents")] == [REPORT_ID, RESOLUTION_ID]
    assert [status[d]["status"] for d in (REPORT_ID, RESOLUTION_ID)] == ["ok", "ok"]
    assert {t["doc_id"] for t in _release_table(data, "tokens")} == {REPORT_ID, RESOLUTION_ID}


@pytest.mark.slow
def test_a_document_a_stage_raised_on_fails_an_error_check_and_the_others_are_released(tmp_path, monkeypatch):
    from pipeline.build import build

    # The build runs in this process: the runner finds the stage in the registry at run time.
    tokens = chain.stage("tokens")

    def tokens_or_raise(given: chain.StageInput):
        if given.doc_id == RESOLUTION_ID:
            raise RuntimeError("the tokenizer broke")
        return tokens.run(given)

    monkeypatch.setitem(chain.BY_NAME, "tokens", dataclasses.replace(tokens, run=tokens_or_raise))
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        report = build(seeds, data, instance=instance)
        runs = instance.get_run_records()
        completed = check_evaluation(instance, "tokens", "completed")
        failed = check_evaluation(instance, "document_status", "no_failed_documents")
    # One document's error never fails the run.
    assert runs and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    status = {r["doc_id"]: r for r in _release_table(data, "document_status")}
    row = status[RESOLUTION_ID]
    assert (row["status"], row["reason"]) == ("failed", "internal_error")
    assert "the tokens stage failed: RuntimeError: the tokenizer broke" in row["detail"]

    # The stage's own check fails with ERROR severity, naming the document and the error.
    assert not completed.passed and completed.severity == dg.AssetCheckSeverity.ERROR
    assert completed.metadata["failed"].value == 1
    listed = completed.metadata["documents"].value
    assert f"- {RESOLUTION_ID}: " in listed and "the tokens stage failed" in listed and REPORT_ID not in listed
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert f"{RESOLUTION_ID} (" in failed.metadata["listed"].value

    # The other document is released, whole.
    assert report.release["created"] is True
    assert [d["doc_id"] for d in _release_table(data, "documents")] == [REPORT_ID]
    assert status[REPORT_ID]["status"] == "ok" and status[REPORT_ID]["n_tokens"] > 1000
    assert {t["doc_id"] for t in _release_table(data, "tokens")} == {REPORT_ID}
