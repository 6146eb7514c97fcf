"""Every kind of UN document: its symbol, date, organ, meeting and type read from its own text.

The real texts are tests/corpus (tests/corpus/SOURCES.md): Security Council resolutions of the
modern and the pre-1970 style, presidential statements, General Assembly resolutions, reports of
the Secretary-General and letters, some in traditional script. Their metadata were annotated by
reading them (metadata_gold.json) before the reader was run on them. Only the tuning part of
split.json is asserted document by document; the held-out part is measured (`make eval`), never
tuned on. The short texts below cover what the spec names and the corpus lacks (a closing
一致通过, a General Assembly decision, a note, a letter with a symbol).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.lib.document import process_document
from pipeline.lib.text import metadata_eval
from pipeline.lib.text.clean import clean
from pipeline.lib.text.structure import cn_to_int, date_from, label_order, parse, preambular_verb

CORPUS = Path(__file__).resolve().parent / "corpus"
GOLD = json.loads((CORPUS / "metadata_gold.json").read_text("utf-8"))["documents"]
SPLIT = json.loads((CORPUS / "split.json").read_text("utf-8"))
FIELDS = ("symbol", "date", "doc_type", "organ", "meeting")


def metadata(text: str) -> dict:
    return parse(clean(text), doc_id="t").metadata


def test_corpus_is_split_and_annotated():
    texts = sorted(p.relative_to(CORPUS / "texts").as_posix() for p in (CORPUS / "texts").rglob("*.txt"))
    assert len(texts) >= 20
    assert len({t.split("/")[0] for t in texts}) >= 5
    assert sorted(SPLIT["tuning"] + SPLIT["heldout"]) == texts == sorted(GOLD)
    assert not set(SPLIT["tuning"]) & set(SPLIT["heldout"])
    sources = (CORPUS / "SOURCES.md").read_text("utf-8")
    assert all(t in sources for t in texts)


@pytest.mark.parametrize("rel", SPLIT["tuning"])
def test_tuning_text_metadata_match_the_gold(rel):
    got = metadata((CORPUS / "texts" / rel).read_text("utf-8"))
    assert {f: got.get(f) for f in FIELDS} == {f: GOLD[rel][f] for f in FIELDS}


def test_evaluation_reports_both_parts_per_kind():
    result = metadata_eval.evaluate()
    assert set(result["parts"]) == {"tuning", "heldout"}
    for part, data in result["parts"].items():
        assert data["all"]["documents"] == len(SPLIT[part])
        assert sum(k["documents"] for k in data["kinds"].values()) == data["all"]["documents"]
    tuning = result["parts"]["tuning"]["all"]
    assert tuning["right"] / tuning["documents"] >= metadata_eval.TARGET
    text = metadata_eval.report(result)
    assert "tuning:" in text and "heldout:" in text and "sc_resolution_old" in text


def test_evaluation_names_a_broken_split(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "metadata_gold.json").write_text(json.dumps({"documents": {"a/x.txt": {}}}), "utf-8")
    (tmp_path / "split.json").write_text(json.dumps({"tuning": [], "heldout": []}), "utf-8")
    with pytest.raises(ValueError, match="split.json.*a/x.txt"):
        metadata_eval.evaluate(tmp_path)


# --- what each kind prints, in short texts -------------------------------------------------

def test_modern_security_council_resolution_with_unanimous_closing():
    got = metadata("第2833(2008)号决议\n\n2008年9月19日\n\n安全理事会，\n\n回顾其以往各项决议，\n\n"
                   "1. 决定继续积极处理此案。\n\n第2833次会议一致通过。\n")
    assert (got["symbol"], got["date"], got["meeting"], got["organ"], got["doc_type"]) == (
        "S/RES/2833 (2008)", "2008-09-19", 2833, "Security Council", "resolution")


def test_dates_in_chinese_numerals():
    assert date_from("二〇二〇", "九", "四") == "2020-09-04"
    assert date_from("一九七五", "四", "十七") == "1975-04-17"
    assert date_from("一九四六", "一", "廿六") == "1946-01-26"
    assert date_from("2020", "2", "30") is None
    assert cn_to_int("二0二五") == 2025 and cn_to_int("一八二一") == 1821 and cn_to_int("四十八") == 48
    got = metadata("第74/304号决议\n\n二〇二〇年九月四日\n\n大会，\n\n1. 欢迎。\n")
    assert got["date"] == "2020-09-04"


def test_general_assembly_decision():
    got = metadata("第七十四届会议\n\n大会决定\n\n74/555. 推迟审议某项目\n\n大会决定推迟审议这个项目。\n\n"
                   "2020年3月15日\n\n第63次全体会议\n")
    assert (got["doc_type"], got["symbol"], got["organ"], got["meeting"], got["plenary_meeting"]) == (
        "decision", "A/DEC/74/555", "General Assembly", 63, 63)
    assert got["date"] == "2020-03-15"


def test_note_by_the_secretary_general():
    got = metadata("第七十五届会议\n\n议程项目 8\n\n秘书长的说明\n\n1. 秘书长谨向大会转递报告。\n")
    assert (got["doc_type"], got["organ"], got["session"]) == ("note", "Secretary-General", 75)


def test_letter_with_symbol_and_day_month_resolved_from_the_symbol():
    got = metadata("S/2010/281\n\n6月4日\n\n2010年6月4日大韩民国常驻联合国代表给安全理事会主席的信\n\n"
                   "我谨提请你注意以下事项。\n")
    assert (got["symbol"], got["doc_type"], got["date"]) == ("S/2010/281", "letter", "2010-06-04")
    assert got.get("organ") is None


def test_day_month_takes_the_year_printed_above_it_and_no_other():
    got = metadata("联合国大会第五十八届会议\n\nA/58/1\n\n2003年\n\n8月28日\n\n秘书长关于联合国工作的报告\n\n1. 导言。\n")
    assert got["date"] == "2003-08-28"
    # Two years in the masthead (the symbol's 2010 and a 2011 line): the day-month stays unread.
    got = metadata("S/2010/281\n\n2011年\n\n大韩民国常驻联合国代表给安全理事会主席的信\n\n3月1日\n\n"
                   "我谨提请你注意以下事项。\n")
    assert got["doc_type"] == "letter" and got.get("date") is None


def test_presidential_statement_with_symbol():
    got = metadata("S/PRST/2002/37\n\n安全理事会主席的声明\n\n安全理事会主席在2002年12月17日安全理事会第4670次会议上，"
                   "就安理会审议的题为“中东局势”的项目，代表安理会发表声明如下：\n\n“安全理事会重申其承诺。”\n")
    assert (got["symbol"], got["doc_type"], got["date"], got["meeting"], got["organ"]) == (
        "S/PRST/2002/37", "presidential_statement", "2002-12-17", 4670, "Security Council")


def test_traditional_script_reads_like_simplified():
    got = metadata("安全理事會主席在1997年9月25日安全理事會第3819次會議上,就安理會審議的題為「非洲局勢」的項目,"
                   "代表安理會發表聲明如下:\n\n「安全理事會重申其承諾。\n")
    assert (got["doc_type"], got["date"], got["meeting"]) == ("presidential_statement", "1997-09-25", 3819)


def test_title_in_traditional_script_is_kept_as_printed():
    got = metadata("二一五九(二十一)、中國在聯合國之代表權問題\n\n大會,\n\n重申此項決議仍屬有效。\n\n一九六六年十一月二十九日,\n\n"
                   "第一四八一次全體會議\n")
    assert (got["symbol"], got["title"], got["session"]) == ("A/RES/2159(XXI)", "中國在聯合國之代表權問題", 21)
    assert (got["date"], got["meeting"], got["organ"]) == ("1966-11-29", 1481, "General Assembly")


def test_provenance_of_the_new_columns():
    doc = process_document((CORPUS / "texts" / "sc_resolution" / "s_res_368_1975.txt").read_text("utf-8"),
                           source_file="s_res_368_1975.txt", with_entities=False).doc
    assert (doc["organ"], doc["meeting"]) == ("Security Council", 1821)
    assert doc["provenance"]["organ"] == doc["provenance"]["meeting"] == "text"
    prst = process_document("S/PRST/2000/19\n\n安全理事会主席的声明\n\n“安全理事会重申其承诺。”\n",
                            source_file="prst.txt", with_entities=False).doc
    assert prst["organ"] == "Security Council" and prst["meeting"] is None
    # A statement's paragraphs are unnumbered as printed: no warning that structure is missing.
    assert not any("no recognisable UN structure" in w for w in prst["warnings"])


# --- preambular verbs ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "verb"), [
    ("回顾其一九七三年十月二十二日第338(1973)号决议,", "回顾"),
    ("又回顾其以往各项决议，", "又回顾"),
    ("重申其承诺，", "重申"),
    ("认识到议会的作用，", "认识到"),
    ("审议了秘书长关于联合国紧急部队的报告(S/11670和Corr.1和2),", "审议了"),
    ("深感不安地注意到暴力行为的继续,", "深感不安地注意到"),
    ("对该地区目前的紧张状态表示关切,", "表示关切"),
    ("覆按其促请有关各方遵守巴勒斯坦休战特定条款之决议案,", "覆按"),
    ("就此指出,按照专家小组的任务规定,", None),
])
def test_preambular_verb(text, verb):
    assert preambular_verb(text) == verb


def test_resolution_preambular_paragraphs_carry_their_verb():
    doc = process_document((CORPUS / "texts" / "sc_resolution" / "s_res_368_1975.txt").read_text("utf-8"),
                           source_file="s_res_368_1975.txt", with_entities=False)
    pre = [p for p in doc.paragraphs if p["kind"] == "preambular"]
    assert [p["preambular_verb"] for p in pre] == ["回顾", "审议了", "注意到了", "表示关切"]
    assert all(p["preambular_verb"] is None for p in doc.paragraphs if p["kind"] != "preambular")
    # 决定: over lettered items is the operative part: cited as op, its items op(a) …
    paras = {p["para_id"]: p for p in doc.paragraphs}
    assert paras["S/RES/368(1975):op"]["kind"] == "operative"
    assert paras["S/RES/368(1975):op"]["operative_verb"] == "决定"
    assert [p["para_id"] for p in doc.paragraphs if p["kind"] == "list_item"] == [
        "S/RES/368(1975):op(a)", "S/RES/368(1975):op(b)", "S/RES/368(1975):op(c)"]


def test_label_order():
    assert [label_order(x) for x in ("一", "三", "十二", "第十九章", "第二条", "A", "C", "IV", "2", None, "甲")] == [
        1, 3, 12, 19, 2, 1, 3, 4, 2, None, None]
