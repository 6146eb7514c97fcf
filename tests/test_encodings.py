"""Encodings and layout characters: a seed re-encoded, or re-laid-out, gives the same tables.

Every case writes its input into tmp_path and runs the real per-document stages
(pipeline.lib.chain, through pipeline.lib.runner: documents → tokens → entities), the
functions the Dagster assets call; one test builds a mixed corpus through Dagster.
"""
from __future__ import annotations

import codecs
import random
import shutil
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from pipeline.lib import runner
from pipeline.lib.text.clean import clean
from pipeline.lib.text.ingest import decode_bytes, scan_sources
from pipeline.lib.workdir import read_work
from conftest import REPORT_FILE, RESOLUTION_FILE, sidecar_path
from pipeline.lib.release.cut import read_table

TABLES = ("documents", "paragraphs", "sentences", "tokens", "entities")
# Columns that describe the bytes, not the text: they may differ between encodings.
BYTE_COLUMNS = {"source_file", "source_sha256", "source_bytes", "encoding", "encoding_confidence"}
# Columns that count into the decoded source (a CR LF is two code points, an LF one).
SOURCE_OFFSETS = {"source_map", "source_start", "source_end"}

TRADITIONAL = (
    "聯合國大會\n\n第七十四屆會議\n\n議程項目125\n\n"
    "聯合國與各國議會和各國議會聯盟之間的互動\n\n秘書長的報告\n\n"
    "一. 導言\n\n"
    "1. 大會在第72/278號決議中，鼓勵聯合國與各國議會聯盟之間進一步合作，"
    "並請秘書長向大會第七十四屆會議提交報告。\n\n"
    "2. 各國議會在實現可持續發展目標方面發揮著重要作用，包括通過立法和預算程序。\n\n"
    "3. 聯合國開發計劃署支持了格魯吉亞、摩爾多瓦和烏克蘭的議會發展項目。\n"
)


def run_stages(seeds: Path, data: Path, doc_id: str) -> dict[str, pa.Table]:
    """Every per-document stage, as the assets run them; returns the work tables."""
    outcomes = runner.run_documents([doc_id], data_dir=data, seeds_dir=seeds)[doc_id]
    assert not [o.detail for o in outcomes.values() if o.status == "failed"]
    return {name: read_work(data, name, doc_id) for name in ("raw", *TABLES)}


def one_document(tmp: Path, name: str, data: bytes, sidecar: Path | None = None) -> dict[str, pa.Table]:
    seeds = tmp / "seeds"
    seeds.mkdir(parents=True)
    (seeds / f"{name}.txt").write_bytes(data)
    if sidecar is not None:
        shutil.copy(sidecar, seeds / f"{name}.meta.json")
    [source] = scan_sources(seeds)
    return run_stages(seeds, tmp / "data", source.doc_id)


def comparable(table: pa.Table, drop: set[str]) -> list[dict]:
    return table.drop_columns([c for c in table.column_names if c in drop]).to_pylist()


def assert_same_tables(got: dict[str, pa.Table], want: dict[str, pa.Table], drop: set[str] = frozenset()):
    for name in TABLES:
        assert comparable(got[name], BYTE_COLUMNS | drop) == comparable(want[name], BYTE_COLUMNS | drop), name


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, dict[str, pa.Table]]:
    """The two seeds as UTF-8, run through the stages once."""
    out = {}
    for path in (REPORT_FILE, RESOLUTION_FILE):
        out[path.name] = one_document(tmp_path_factory.mktemp("utf8"), "doc", path.read_bytes(), sidecar_path(path))
    return out


ENCODINGS = {
    "utf-8": (lambda t: t.encode("utf-8"), "utf-8"),
    "utf-8-bom": (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "utf-8"),
    "gb18030": (lambda t: t.encode("gb18030"), "gb18030"),
    "gbk": (lambda t: t.encode("gbk"), "gb18030"),  # GBK is a subset of GB18030, which decodes it
    "utf-16-le-bom": (lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "utf-16"),
    "utf-16-be-bom": (lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "utf-16"),
}


@pytest.mark.parametrize("seed, encoding", [
    pytest.param(seed, encoding, id=f"{name}-{encoding}")
    for name, seed in (("report", REPORT_FILE), ("resolution", RESOLUTION_FILE))
    for encoding in ENCODINGS
    if not (name == "resolution" and encoding == "gbk")  # GBK has no ¹ for its footnote markers
])
def test_a_reencoded_seed_gives_the_same_text_and_tables(tmp_path, originals, seed, encoding):
    text = seed.read_text("utf-8")
    encode, recorded = ENCODINGS[encoding]
    data = encode(text)
    got = one_document(tmp_path, "doc", data, sidecar_path(seed))
    want = originals[seed.name]
    raw = got["raw"].to_pylist()[0]
    assert raw["status"] == "ok", raw["detail"]
    assert raw["text"] == text
    doc = got["documents"].to_pylist()[0]
    assert doc["clean_text"] == want["documents"].column("clean_text")[0].as_py()
    assert doc["encoding"] == recorded
    assert 0.0 < doc["encoding_confidence"] <= 1.0
    assert_same_tables(got, want)


def test_gbk_is_detected_by_charset_normalizer_with_its_confidence():
    decoded = decode_bytes(REPORT_FILE.read_text("utf-8").encode("gbk"), name="report.txt")
    assert decoded.encoding == "gb18030"
    assert 0.9 <= decoded.confidence <= 1.0


def test_big5_keeps_traditional_characters_and_flags_the_document(tmp_path):
    big5 = one_document(tmp_path / "big5", "trad", TRADITIONAL.encode("big5"))
    utf8 = one_document(tmp_path / "utf8", "trad", TRADITIONAL.encode("utf-8"))
    doc = big5["documents"].to_pylist()[0]
    assert doc["encoding"] == "big5"
    assert big5["raw"].column("text")[0].as_py() == TRADITIONAL  # not converted to simplified
    assert "聯合國" in doc["clean_text"] and "联合国" not in doc["clean_text"]
    assert any("traditional characters" in w and "Big5" in w for w in doc["warnings"])
    assert not any("traditional" in w for w in utf8["documents"].column("warnings")[0].as_py())
    assert_same_tables(big5, utf8, drop={"warnings"})
    assert big5["paragraphs"].num_rows >= 8 and big5["tokens"].num_rows > 50


def test_short_chinese_in_gb18030_or_big5_is_not_taken_for_korean_or_japanese():
    text = "联合国大会第七十四届会议议程"
    assert decode_bytes(text.encode("gb18030")).text == text
    trad = "聯合國大會第七十四屆會議議程"
    assert decode_bytes(trad.encode("big5")).text == trad


WEB_PAGE = ("<!DOCTYPE html>\n<html lang=\"zh\"><head>{meta}<title>报告</title></head><body>\n"
            "<p>大会</p>\n<p>1. 欢迎秘书长的报告。</p>\n</body></html>\n")


@pytest.mark.parametrize("encode, meta, encoding", [
    pytest.param(lambda t: t.encode("utf-8"), "", "utf-8", id="utf-8"),
    pytest.param(lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "", "utf-8", id="utf-8-bom"),
    pytest.param(lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "", "utf-16", id="utf-16-le-bom"),
    pytest.param(lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "", "utf-16", id="utf-16-be-bom"),
    pytest.param(lambda t: t.encode("gb18030"), '<meta charset="gb2312">', "gb18030", id="gb2312-declared"),
    pytest.param(lambda t: t.encode("gb18030"), "", "gb18030", id="gbk-undeclared"),
])
def test_a_web_page_in_any_supported_encoding_is_read_as_html_to_the_same_text(encode, meta, encoding):
    # Read by content whatever its name: a page in UTF-16 is a page too, and a short one in GBK
    # that declares no charset is Chinese, not Korean.
    decoded = decode_bytes(encode(WEB_PAGE.format(meta=meta)), name="page.txt")
    assert (decoded.source_format, decoded.encoding) == ("html", encoding)
    assert decoded.text == "大会\n\n1. 欢迎秘书长的报告。\n"


# --- layout characters ---------------------------------------------------------------------

def _insert_between_chinese(text: str, what: str, every: int, seed: int) -> str:
    """`what` between two Chinese characters of a line, about every `every` such pairs."""
    rng = random.Random(seed)
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if "\u4e00" <= ch <= "\u9fff" and "\u4e00" <= nxt <= "\u9fff" and rng.randrange(every) == 0:
            out.append(what)
    return "".join(out)


def _zero_width_everywhere(text: str, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(ch + (rng.choice("\u200b\u200c\u200d\u2060\ufeff\u00ad") if rng.randrange(9) == 0 else "")
                   for ch in text)


def _full_width_alnum(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


LAYOUTS = {
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "cr": lambda t: t.replace("\n", "\r"),
    "ideographic-spaces": lambda t: _insert_between_chinese(t, "\u3000", 7, 1),
    "nbsp-for-spaces": lambda t: t.replace(" ", "\u00a0"),
    "zero-width": lambda t: _zero_width_everywhere(t, 2),
    "full-width-digits-and-letters": _full_width_alnum,
    "all-at-once": lambda t: _full_width_alnum(_zero_width_everywhere(
        _insert_between_chinese(t, "\u3000", 5, 3), 4)).replace("\n", "\r\n"),
}


@pytest.mark.parametrize("seed", [REPORT_FILE, RESOLUTION_FILE], ids=["report", "resolution"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout_only_characters_are_normalised_away(seed, layout):
    text = seed.read_text("utf-8")
    assert clean(LAYOUTS[layout](text)).clean_text == clean(text).clean_text


def test_layout_changes_give_the_same_tables_through_the_stages(tmp_path, originals):
    text = REPORT_FILE.read_text("utf-8")
    got = one_document(tmp_path, "doc", LAYOUTS["all-at-once"](text).encode("gb18030"), sidecar_path(REPORT_FILE))
    assert_same_tables(got, originals[REPORT_FILE.name], drop=SOURCE_OFFSETS)


@pytest.mark.parametrize("source, kept", [
    pytest.param("1. 我们,他们，以及(a)和（b）;还有；完。", "1. 我们,他们，以及(a)和（b）;还有；完。", id="mixed-punctuation"),
    pytest.param("“引文”与\"引文\"：见《宪章》第1条!", "“引文”与\"引文\"：见《宪章》第1条!", id="quotes-and-brackets"),
    pytest.param("比例为５０％，即50%。", "比例为50％，即50%。", id="full-width-digits-become-ascii"),
    pytest.param("Ａ/ＲＥＳ/７４/３０４号决议", "A/RES/74/304号决议", id="full-width-letters-become-ascii"),
    pytest.param("United\u00a0Nations\u3000Development  Programme", "United Nations Development Programme",
                 id="latin-spaces-stay-one"),
    pytest.param("联合国\u3000 开发\u00a0计划署", "联合国开发计划署", id="spaces-between-chinese-go"),
    pytest.param("联\u200b合\ufeff国\u00ad大\u2060会", "联合国大会", id="zero-width-go"),
])
def test_content_punctuation_is_kept_and_layout_goes(source, kept):
    assert clean(source).clean_text == kept


@pytest.mark.slow
def test_a_mixed_corpus_through_dagster_records_each_encoding(tmp_path):
    from pipeline.build import build
    from pipeline.defs.resources import UnparlSettings

    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    text = REPORT_FILE.read_text("utf-8")
    (seeds / "report_gb18030.txt").write_bytes(text.encode("gb18030"))
    shutil.copy(sidecar_path(REPORT_FILE), seeds / "report_gb18030.meta.json")
    (seeds / "resolution_utf16.txt").write_bytes(codecs.BOM_UTF16_BE
                                                 + RESOLUTION_FILE.read_text("utf-8").encode("utf-16-be"))
    shutil.copy(sidecar_path(RESOLUTION_FILE), seeds / "resolution_utf16.meta.json")
    (seeds / "traditional.txt").write_bytes(TRADITIONAL.encode("big5"))
    with dg.DagsterInstance.ephemeral() as instance:
        build(seeds, data, instance=instance,
              resources={"settings": UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))})
    release = data / "releases" / (data / "LATEST").read_text().strip()
    docs = {d["doc_id"]: d for d in read_table(release, "documents").to_pylist()}
    assert {d: docs[d]["encoding"] for d in docs} == {
        "report_gb18030": "gb18030", "resolution_utf16": "utf-16", "traditional": "big5"}
    assert docs["report_gb18030"]["clean_text"] == clean(text).clean_text
    assert docs["report_gb18030"]["symbol"] == "A/74/759"
    assert docs["resolution_utf16"]["symbol"] == "A/RES/74/304"
    assert all(0 < d["encoding_confidence"] <= 1 for d in docs.values())
    assert any("Big5" in w for w in docs["traditional"]["warnings"])
    assert read_table(release, "quarantine").num_rows == 0
