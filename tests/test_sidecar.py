"""Sidecars: what a publisher may declare in `<name>.meta.json`, and the reason a bad one gets.

A bad sidecar sets its document aside with reason `bad_sidecar` and a one-line detail that names
the file and every field at fault; a good one is read as the JSON gave it, so the seeds' metadata
(and so the release) do not change.
"""
from __future__ import annotations

import codecs
import hashlib
import json
from pathlib import Path

import pytest

from pipeline.lib.text.ingest import MAX_SIDECAR_BYTES, Rejected, Sidecar, read_sidecar
from pipeline.lib.storage import sha256_file

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

# What read_sidecar returned for the seeds before the pydantic model replaced the hand checks.
SEED_SIDECARS = {
    "000_9d28c16df01d42a8.meta.json": {
        "symbol": "A/74/759",
        "doc_type": "report",
        "source": "The report's text does not print its own symbol. General Assembly resolution "
                  "A/RES/74/304 (seeds/001_5d5ca6e1adb1dee0.txt), operative paragraph 24, takes note of "
                  "'the report of the Secretary-General' and its footnote 9 cites it as A/74/759.",
    },
    "001_5d5ca6e1adb1dee0.meta.json": {
        "symbol": "A/RES/74/304",
        "source": "The Chinese text numbers itself 74/303, but in the UN's records A/RES/74/303 is "
                  "'Revitalization of the work of the General Assembly'. This text (adopted on 4 September "
                  "2020 at the 63rd plenary meeting, drafts A/74/L.85 and A/74/L.85/Add.1, 24 operative "
                  "paragraphs taking note of A/74/759) is the one published in English as A/RES/74/304, "
                  "'Interaction between the United Nations, national parliaments and the "
                  "Inter-Parliamentary Union'.",
    },
}


def _write(tmp_path: Path, content: str | bytes | dict) -> Path:
    path = tmp_path / "doc.meta.json"
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _rejected(path: Path) -> str:
    with pytest.raises(Rejected) as info:
        read_sidecar(path)
    assert info.value.reason == "bad_sidecar"
    detail = info.value.detail
    assert detail.startswith("doc.meta.json: "), detail
    assert "\n" not in detail and "\r" not in detail, detail
    return detail


# --- the seeds -------------------------------------------------------------------------------

def test_every_seed_sidecar_is_checked_here():
    assert sorted(p.name for p in SEEDS.glob("*.meta.json")) == sorted(SEED_SIDECARS)


@pytest.mark.parametrize("name", sorted(SEED_SIDECARS))
def test_seed_sidecars_read_exactly_as_before(name):
    path = SEEDS / name
    got = read_sidecar(path)
    assert got == SEED_SIDECARS[name]
    assert list(got) == list(SEED_SIDECARS[name])  # key order too: the raw table stores it as JSON
    assert Sidecar.model_validate(json.loads(path.read_text("utf-8")))


# --- what is accepted, and read back unchanged -------------------------------------------------

@pytest.mark.parametrize("sidecar", [
    pytest.param({}, id="empty-object"),
    pytest.param({"symbol": "A/RES/74/304", "doc_type": "resolution", "title": "各国议会联盟",
                  "session": 74, "agenda_item": "125", "date": "2020-09-04", "resolution_number": "74/304",
                  "plenary_meeting": 63, "draft_symbols": ["A/74/L.85", "A/74/L.85/Add.1"],
                  "language": "zh-Hans", "source": "the Official Document System", "notes": "checked"},
                 id="every-field"),
    pytest.param({"symbol": None, "session": None, "date": None, "notes": None}, id="nulls"),
    pytest.param({"date": "2020-09"}, id="year-and-month"),
    pytest.param({"date": "2020-02-29"}, id="leap-day"),
    pytest.param({"session": 1, "plenary_meeting": 1}, id="lowest-numbers"),
    pytest.param({"session": 200, "plenary_meeting": 2000}, id="highest-numbers"),
    pytest.param({"title": "第一行\n第二行\t(续)", "source": "from the PDF,\npage 2",
                  "notes": "line one\nline two"}, id="line-breaks-in-free-text"),
    pytest.param({"notes": {"checked_by": "editor", "pages": [1, 2], "ok": True, "ratio": 0.5, "x": None}},
                 id="notes-as-object"),
    pytest.param({"symbol": "", "draft_symbols": []}, id="empty-values"),
    pytest.param({"symbol": "../../etc/passwd"}, id="a-symbol-that-looks-like-a-path-is-data"),
    pytest.param({"language": "zh"}, id="language-zh"),
    pytest.param({"language": "en"}, id="language-en"),
    pytest.param({"language": "zh-Hant-TW"}, id="language-script-region"),
    pytest.param({"language": "es-419"}, id="language-numeric-region"),
    pytest.param({"symbol": "x" * 2000, "notes": "y" * 10_000}, id="longest-strings"),
])
def test_a_good_sidecar_is_read_as_written(tmp_path, sidecar):
    assert read_sidecar(_write(tmp_path, sidecar)) == sidecar


def test_a_byte_order_mark_is_allowed(tmp_path):
    path = _write(tmp_path, codecs.BOM_UTF8 + b'{"symbol": "A/74/759", "session": 74}')
    assert read_sidecar(path) == {"symbol": "A/74/759", "session": 74}


def test_no_sidecar_declares_nothing():
    assert read_sidecar(None) == {}


# --- what is refused: the field is named ----------------------------------------------------

@pytest.mark.parametrize("sidecar, field, words", [
    # unknown fields
    pytest.param('{"symbol": "A/74/759", "sybmol": "x"}', "sybmol", "unknown field 'sybmol'", id="typo"),
    pytest.param('{"Symbol": "A/74/759"}', "Symbol", "unknown field 'Symbol'", id="wrong-case"),
    # wrong JSON types, never coerced
    pytest.param('{"session": "74"}', "session", "must be int, not str", id="session-as-string"),
    pytest.param('{"session": true}', "session", "must be int, not bool", id="session-as-bool"),
    pytest.param('{"session": 74.0}', "session", "must be int, not float", id="session-as-float"),
    pytest.param('{"session": NaN}', "session", "must be int, not float", id="session-nan"),
    pytest.param('{"plenary_meeting": "63"}', "plenary_meeting", "must be int, not str", id="meeting-as-string"),
    pytest.param('{"symbol": 759}', "symbol", "must be str, not int", id="symbol-as-number"),
    pytest.param('{"symbol": ["A/74/759"]}', "symbol", "must be str, not list", id="symbol-as-list"),
    pytest.param('{"agenda_item": 125}', "agenda_item", "must be str, not int", id="agenda-item-as-number"),
    pytest.param('{"resolution_number": 74.304}', "resolution_number", "must be str", id="resolution-as-float"),
    pytest.param('{"date": 20200904}', "date", "must be str, not int", id="date-as-number"),
    pytest.param('{"draft_symbols": "A/74/L.85"}', "draft_symbols", "must be list, not str", id="drafts-as-string"),
    pytest.param('{"draft_symbols": ["A/74/L.85", 85]}', "draft_symbols", "list of strings", id="drafts-with-number"),
    pytest.param('{"draft_symbols": [null]}', "draft_symbols", "list of strings", id="drafts-with-null"),
    pytest.param('{"notes": 3}', "notes", "must be str/dict, not int", id="notes-as-number"),
    pytest.param('{"notes": ["a"]}', "notes", "must be str/dict, not list", id="notes-as-list"),
    # numbers out of range, however large
    pytest.param('{"session": 0}', "session", "greater than or equal to 1", id="session-zero"),
    pytest.param('{"session": 201}', "session", "less than or equal to 200", id="session-too-high"),
    pytest.param('{"session": 99999999999999999999999}', "session", "less than or equal to 200",
                 id="session-beyond-int64"),
    pytest.param('{"plenary_meeting": -1}', "plenary_meeting", "greater than or equal to 1", id="meeting-negative"),
    pytest.param('{"plenary_meeting": 2001}', "plenary_meeting", "less than or equal to 2000", id="meeting-too-high"),
    pytest.param('{"plenary_meeting": 99999999999999999999999}', "plenary_meeting", "less than or equal to 2000",
                 id="meeting-beyond-int64"),
    pytest.param('{"notes": {"n": 99999999999999999999999}}', "notes", "64 bits", id="notes-int-beyond-int64"),
    pytest.param('{"notes": {"n": Infinity}}', "notes", "not a JSON number", id="notes-infinity"),
    # dates that are not real calendar dates in ISO form
    pytest.param('{"date": "2021-02-30"}', "date", "ISO 8601", id="february-30"),
    pytest.param('{"date": "2021-02-29"}', "date", "ISO 8601", id="not-a-leap-year"),
    pytest.param('{"date": "2020-13-01"}', "date", "ISO 8601", id="month-13"),
    pytest.param('{"date": "2020-00"}', "date", "ISO 8601", id="month-0"),
    pytest.param('{"date": "4 September 2020"}', "date", "ISO 8601", id="words"),
    pytest.param('{"date": "20200904"}', "date", "ISO 8601", id="basic-format"),
    pytest.param('{"date": "2020-W36-5"}', "date", "ISO 8601", id="week-date"),
    pytest.param('{"date": "2020-09-04T10:00"}', "date", "ISO 8601", id="date-and-time"),
    pytest.param('{"date": "2020-09-04\\n"}', "date", "ISO 8601", id="trailing-newline"),
    pytest.param('{"date": "２０２０-09-04"}', "date", "ISO 8601", id="full-width-digits"),
    # control characters, and lone surrogates that cannot be written as UTF-8
    pytest.param('{"symbol": "A/74\\u0000/759"}', "symbol", "control character (U+0000)", id="nul-in-symbol"),
    pytest.param('{"symbol": "A/74/759\\n"}', "symbol", "control character (U+000A)", id="newline-in-symbol"),
    pytest.param('{"doc_type": "re\\tport"}', "doc_type", "control character (U+0009)", id="tab-in-doc-type"),
    pytest.param('{"title": "a\\u0000b"}', "title", "control character (U+0000)", id="nul-in-title"),
    pytest.param('{"title": "a\\rb"}', "title", "control character (U+000D)", id="carriage-return-in-title"),
    pytest.param('{"title": "a\\u001bb"}', "title", "control character (U+001B)", id="escape-in-title"),
    pytest.param('{"source": "a\\u0085b"}', "source", "control character (U+0085)", id="c1-in-source"),
    pytest.param('{"notes": "a\\u0007b"}', "notes", "control character (U+0007)", id="bell-in-notes"),
    pytest.param('{"notes": {"k": ["\\u0000"]}}', "notes", "control character (U+0000)", id="nul-deep-in-notes"),
    pytest.param('{"notes": {"k\\u0000": 1}}', "notes", "control character (U+0000)", id="nul-in-a-notes-key"),
    pytest.param('{"draft_symbols": ["A/74/L.85\\u0000"]}', "draft_symbols", "control character", id="nul-in-draft"),
    pytest.param('{"symbol": "\\ud800"}', "symbol", "unicode string", id="lone-surrogate"),
    # lengths
    pytest.param(json.dumps({"symbol": "x" * 2001}), "symbol", "at most 2000 characters", id="long-symbol"),
    pytest.param(json.dumps({"title": "x" * 2001}), "title", "at most 2000 characters", id="long-title"),
    pytest.param(json.dumps({"notes": "x" * 10_001}), "notes", "at most 10,000 characters", id="long-notes"),
    pytest.param(json.dumps({"notes": {"k": "x" * 10_000}}), "notes", "at most 10,000 characters",
                 id="long-notes-object"),
    pytest.param(json.dumps({"draft_symbols": ["A/74/L.1"] * 201}), "draft_symbols", "at most 200 items",
                 id="too-many-drafts"),
    # language tags
    pytest.param('{"language": "zh_CN"}', "language", "BCP 47", id="underscore"),
    pytest.param('{"language": "Chinese"}', "language", "BCP 47", id="a-name"),
    pytest.param('{"language": ""}', "language", "BCP 47", id="empty-language"),
    pytest.param('{"language": "zh-"}', "language", "BCP 47", id="trailing-hyphen"),
])
def test_a_bad_sidecar_names_the_field(tmp_path, sidecar, field, words):
    detail = _rejected(_write(tmp_path, sidecar))
    assert f"'{field}'" in detail and words in detail, detail
    assert len(detail) <= 300, detail


def test_every_bad_field_is_named_on_one_short_line(tmp_path):
    sidecar = {"session": "74", "date": "2021-02-30", "symbol": "A/74\x00/759", "language": "zh_CN",
               "notes": 3, "sybmol": "x", "z" * 1000: 1}
    detail = _rejected(_write(tmp_path, sidecar))
    assert len(detail) <= 300, detail
    for name in ("session", "date", "symbol", "language", "notes", "sybmol", "zzzz"):
        assert f"'{name}" in detail, (name, detail)


def test_a_long_message_is_cut_to_300_characters(tmp_path):
    sidecar = {f"unknown_field_{i:02}": i for i in range(40)}
    detail = _rejected(_write(tmp_path, sidecar))
    assert len(detail) == 300 and detail.endswith("…"), detail
    assert "unknown_field_00" in detail


# --- what is refused before the fields are looked at: unchanged --------------------------------

@pytest.mark.parametrize("content, words", [
    pytest.param(b"{not json", "not valid UTF-8 JSON", id="not-json"),
    pytest.param(b'{"symbol": "A/74/759",}', "not valid UTF-8 JSON", id="trailing-comma"),
    pytest.param(b"\xff\xfe{}", "not valid UTF-8 JSON", id="not-utf-8"),
    pytest.param(b'{"symbol": "\xc1\xe1"}', "not valid UTF-8 JSON", id="gbk-bytes"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "not valid UTF-8 JSON", id="nested-too-deep"),
    pytest.param(b'["A/74/759"]', "must hold a JSON object, not list", id="array"),
    pytest.param(b'"A/74/759"', "must hold a JSON object, not str", id="string"),
    pytest.param(b"null", "must hold a JSON object, not NoneType", id="null"),
    pytest.param(b"74", "must hold a JSON object, not int", id="number"),
])
def test_a_sidecar_that_is_not_a_json_object_keeps_its_reason(tmp_path, content, words):
    detail = _rejected(_write(tmp_path, content))
    assert words in detail, detail


def test_an_oversized_sidecar_is_not_read(tmp_path):
    path = _write(tmp_path, '{"notes": "' + "x" * MAX_SIDECAR_BYTES + '"}')
    assert "over the sidecar limit of 1,048,576 bytes" in _rejected(path)
    with pytest.raises(Rejected, match="over the sidecar limit of 10 bytes"):
        read_sidecar(_write(tmp_path, '{"symbol": "A/74/759"}'), max_bytes=10)


# --- the sidecar's hash, which decides when its document is processed again -------------------

@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.iterdir() if p.is_file()))
def test_sha256_file_is_the_sha256_of_the_bytes(name):
    path = SEEDS / name
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
