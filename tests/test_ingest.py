"""Ingest: decoding bytes of any common encoding, rejecting what is not text, sidecars, safe ids."""
from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from pipeline.lib import chain
from pipeline.lib.text.ingest import Rejected, decode_bytes, doc_id_for, read_sidecar, scan_sources
from pipeline.lib.workdir import WorkPathError, work_path
from conftest import REPORT_FILE, RESOLUTION_FILE, SEEDS

REPORT_TEXT = REPORT_FILE.read_text("utf-8")
HEAD = REPORT_TEXT[:1500]  # front matter and the first paragraphs: Chinese, digits, Latin
SHORT = "第七十四届会议\n\n议程项目 125\n\n联合国与各国议会和各国议会联盟之间的互动\n"


@pytest.mark.parametrize("text", [HEAD, SHORT], ids=["report-head", "short"])
@pytest.mark.parametrize("encode", [
    pytest.param(lambda t: t.encode("utf-8"), id="utf-8"),
    pytest.param(lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), id="utf-8-bom"),
    pytest.param(lambda t: t.encode("gb18030"), id="gb18030"),
    pytest.param(lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), id="utf-16-le-bom"),
    pytest.param(lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), id="utf-16-be-bom"),
])
def test_every_supported_encoding_gives_the_same_text(text, encode):
    decoded = decode_bytes(encode(text))
    assert decoded.text == text
    assert "\ufeff" not in decoded.text


def test_whole_seed_in_gb18030_decodes_to_the_utf8_text():
    decoded = decode_bytes(REPORT_TEXT.encode("gb18030"), name="report.txt")
    assert decoded.encoding == "gb18030"
    assert decoded.text == REPORT_TEXT


def test_encoding_is_recorded():
    assert decode_bytes(HEAD.encode()).encoding == "utf-8"
    assert decode_bytes(codecs.BOM_UTF8 + HEAD.encode()).encoding == "utf-8"
    assert decode_bytes(codecs.BOM_UTF16_LE + HEAD.encode("utf-16-le")).encoding == "utf-16"


@pytest.mark.parametrize("data, reason", [
    pytest.param(b"", "empty", id="empty"),
    pytest.param(b" \n\t \r\n  ", "empty", id="whitespace-only"),
    pytest.param(codecs.BOM_UTF8 + " \n\u3000".encode(), "empty", id="bom-and-whitespace"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(64), "binary", id="png"),
    # A PDF is read as a PDF whatever its name: one cut off after its header is corrupt.
    pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "corrupt", id="pdf-cut-off"),
    pytest.param(b"PK\x03\x04\x14\x00\x06\x00" + bytes(40), "binary", id="zip-docx"),
    pytest.param(("联合国" * 10).encode() + b"\x00\x00\x01\x02" * 40, "binary", id="nul-laden"),
    pytest.param(HEAD.encode("utf-16-le"), "binary", id="utf-16-without-bom"),
    pytest.param(HEAD.encode()[:-1], "truncated", id="truncated-utf-8"),
])
def test_bytes_that_are_not_text_are_rejected_with_a_reason(data, reason):
    with pytest.raises(Rejected) as info:
        decode_bytes(data, name="bad.txt")
    assert info.value.reason == reason
    assert info.value.detail.startswith("bad.txt: ")


def test_a_pdf_cut_off_after_its_header_is_corrupt_and_the_detail_says_so():
    with pytest.raises(Rejected) as info:
        decode_bytes(b"%PDF-1.4\n", name="scan.txt")
    assert info.value.reason == "corrupt"
    assert info.value.detail == "scan.txt: the PDF is cut off (no %%EOF at its end): copy or download it again"


def test_over_max_bytes_is_rejected_before_decoding():
    with pytest.raises(Rejected) as info:
        decode_bytes(HEAD.encode(), max_bytes=100)
    assert info.value.reason == "too_large"
    assert decode_bytes(HEAD.encode(), max_bytes=len(HEAD.encode())).text == HEAD


# --- sidecars ------------------------------------------------------------------------------

def test_seed_sidecars_declare_the_symbols():
    assert read_sidecar(REPORT_FILE.with_name("000_9d28c16df01d42a8.meta.json"))["symbol"] == "A/74/759"
    assert read_sidecar(RESOLUTION_FILE.with_name("001_5d5ca6e1adb1dee0.meta.json"))["symbol"] == "A/RES/74/304"
    assert read_sidecar(None) == {}


@pytest.mark.parametrize("content", [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"\xff\xfe{}", id="not-utf-8"),
    pytest.param(b'["A/74/759"]', id="array-not-object"),
    pytest.param(json.dumps({"session": "74"}).encode(), id="session-as-string"),
    pytest.param(json.dumps({"session": True}).encode(), id="session-as-bool"),
    pytest.param(json.dumps({"symbol": 759}).encode(), id="symbol-as-number"),
    pytest.param(json.dumps({"draft_symbols": "A/74/L.85"}).encode(), id="drafts-as-string"),
    pytest.param(json.dumps({"draft_symbols": ["A/74/L.85", 85]}).encode(), id="drafts-with-number"),
    pytest.param(json.dumps({"symbol": "A/74/759", "symbool": "x"}).encode(), id="unknown-field"),
])
def test_bad_sidecar_is_rejected(tmp_path, content):
    path = tmp_path / "doc.meta.json"
    path.write_bytes(content)
    with pytest.raises(Rejected) as info:
        read_sidecar(path)
    assert info.value.reason == "bad_sidecar"
    assert "doc.meta.json" in info.value.detail


def test_unknown_sidecar_field_is_named_in_the_reason(tmp_path):
    path = tmp_path / "doc.meta.json"
    path.write_text(json.dumps({"symbool": "A/74/759"}))
    with pytest.raises(Rejected, match="symbool"):
        read_sidecar(path)


def test_good_sidecar_with_nulls_and_bom_is_read(tmp_path):
    path = tmp_path / "doc.meta.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(
        {"symbol": "S/RES/2532 (2020)", "session": None, "draft_symbols": ["S/2020/1"]}).encode())
    assert read_sidecar(path) == {"symbol": "S/RES/2532 (2020)", "session": None, "draft_symbols": ["S/2020/1"]}


# --- ids and paths -------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "../../etc/passwd", "..", ".", ".txt", "...", "a/../../b.txt", "报告.txt", "A RES 61 211.txt",
    "A/RES/74/304.txt", "x\x00y.txt", "..\\..\\windows.txt", "-rf.txt",
])
def test_doc_id_is_one_safe_path_component(name, tmp_path):
    doc_id = doc_id_for(Path(name))
    assert doc_id and doc_id not in (".", "..")
    assert "/" not in doc_id and "\\" not in doc_id and "\x00" not in doc_id
    assert not doc_id.startswith((".", "-"))
    # and it names a file inside the work folder
    assert work_path(tmp_path, "raw", doc_id).parent == (tmp_path / "work" / "raw").resolve()


def test_doc_id_is_stable_and_drops_the_extension():
    assert doc_id_for(REPORT_FILE) == "000_9d28c16df01d42a8"
    assert doc_id_for(Path("UN_Charter.zh.txt")) == "UN_Charter.zh"
    assert doc_id_for(Path("报告.txt")) == doc_id_for(Path("报告.txt"))
    assert doc_id_for(Path("报告.txt")) != doc_id_for(Path("说明.txt"))


@pytest.mark.parametrize("doc_id", ["..", ".", "../x", "a/b", "/etc/passwd", "a\\b", "", "a\x00b"])
def test_work_path_refuses_ids_that_leave_the_folder(tmp_path, doc_id):
    with pytest.raises(WorkPathError):
        work_path(tmp_path, "raw", doc_id)


def test_work_path_refuses_unknown_table(tmp_path):
    with pytest.raises(WorkPathError):
        work_path(tmp_path, "../raw", "doc")


def test_scan_finds_the_seeds_with_their_sidecars():
    sources = scan_sources(SEEDS)
    assert [s.doc_id for s in sources] == ["000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0"]
    assert all(s.sidecar is not None and s.sidecar.name.endswith(".meta.json") for s in sources)
    assert all(len(s.sha256) == 64 for s in sources)


def test_scan_skips_hidden_files_and_keeps_colliding_ids_distinct(tmp_path):
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / "报告.txt").write_text("一", "utf-8")
    (tmp_path / "a b.txt").write_text("一", "utf-8")
    (tmp_path / "a_b.txt").write_text("二", "utf-8")
    ids = [s.doc_id for s in scan_sources(tmp_path)]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert all(not i.startswith(".") for i in ids)


def test_ingest_quarantines_instead_of_failing(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "scan.txt").write_bytes(b"%PDF-1.4\n")
    (seeds / "good.txt").write_text(SHORT, "utf-8")
    (seeds / "good.meta.json").write_text('{"session": "74"}')
    (seeds / "copy.txt").write_text("1. 欢迎。", "utf-8")
    (seeds / "copy2.txt").write_text("1. 欢迎。", "utf-8")
    reasons = {}
    for source in scan_sources(seeds):
        result = chain.documents_stage(chain.StageInput(tmp_path / "data", source.doc_id, seeds_dir=seeds))["raw"]
        row = result.table.to_pylist()[0]
        reasons[source.path.name] = row["reason"]
        assert result.quarantined == (row["status"] == "quarantined")
    assert reasons == {"copy.txt": None, "copy2.txt": "duplicate", "empty.txt": "empty",
                       "good.txt": "bad_sidecar", "scan.txt": "corrupt"}
