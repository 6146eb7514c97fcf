"""Structure: the report's sections, numbered paragraphs and list items; the resolution's
preambular and operative paragraphs and footnotes; metadata with provenance; other shapes."""
from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline import schemas
from pipeline.lib import invariants
from pipeline.lib.text.structure import cn_to_int, operative_verb
from conftest import LETTER, by_id, process_file

R = "A/74/759:"
RES = "A/RES/74/304:"


def of_kind(doc, kind):
    return [p for p in doc.paragraphs if p["kind"] == kind]


# --- the report ---------------------------------------------------------------------------

def test_report_sections_and_subsections(report):
    headings = of_kind(report, "heading")
    sections = [h for h in headings if h["subsection"] is None]
    subsections = [h for h in headings if h["subsection"] is not None]
    assert [h["para_id"] for h in sections] == [f"{R}s{n}" for n in range(1, 6)]
    assert [h["section"] for h in sections] == ["一", "二", "三", "四", "五"]
    assert sections[0]["text"] == "一. 引言" and sections[-1]["text"] == "五. 结论和建议"
    assert len(subsections) == 14
    assert [h["para_id"] for h in subsections] == [
        f"{R}s2.A", f"{R}s2.B", f"{R}s2.C", f"{R}s2.D", f"{R}s2.E",
        f"{R}s3.A", f"{R}s3.B", f"{R}s3.C", f"{R}s3.D", f"{R}s3.E", f"{R}s3.F", f"{R}s3.G",
        f"{R}s4.A", f"{R}s4.B"]


def test_report_numbered_paragraphs_run_1_to_71(report):
    numbered = [p for p in of_kind(report, "numbered") if p["number"] is not None]
    assert [int(p["number"]) for p in numbered] == list(range(1, 72))
    assert [p["para_id"] for p in numbered] == [f"{R}p{n}" for n in range(1, 72)]
    for p in numbered:
        assert p["text"].startswith(f"{p['number']}. ")


def test_report_paragraphs_know_their_section(report):
    paras = by_id(report)
    assert (paras[f"{R}p1"]["section"], paras[f"{R}p1"]["subsection"]) == ("一", None)
    assert (paras[f"{R}p19"]["section"], paras[f"{R}p19"]["subsection"]) == ("二", "D")
    assert (paras[f"{R}p45"]["section"], paras[f"{R}p45"]["subsection"]) == ("三", "F")
    assert (paras[f"{R}p70(c)"]["section"], paras[f"{R}p70(c)"]["subsection"]) == ("五", None)
    assert paras[f"{R}p46"]["heading"] == "健康"


def test_report_list_items_of_paragraph_70(report):
    items = of_kind(report, "list_item")
    assert [p["para_id"] for p in items] == [f"{R}p70({c})" for c in "abcdef"]
    assert [p["number"] for p in items] == [f"({c})" for c in "abcdef"]
    paras = by_id(report)
    assert paras[f"{R}p70"]["text"].endswith("提交以下建议供审议：")
    seqs = [paras[f"{R}p70"]["seq"]] + [p["seq"] for p in items] + [paras[f"{R}p71"]["seq"]]
    assert seqs == list(range(seqs[0], seqs[0] + 8))
    assert "[72/278](#)" not in paras[f"{R}p70(b)"]["text"]


def test_report_front_matter(report):
    front = of_kind(report, "front_matter")
    assert [p["text"] for p in front] == [
        "第七十四届会议", "议程项目 125", "联合国与各国议会和各国议会联盟之间的互动",
        "联合国与各国议会和各国议会联盟之间的互动", "秘书长的报告"]
    assert [p["seq"] for p in front] == list(range(5))
    assert front[0]["para_id"] == f"{R}fm1"


JOINS = {
    "p19": ["在联哥核查团的支持下"],
    "p24": ["推进联合国主要会议的议会组成部分"],
    "p29": ["鼓励议员参与，提高透明度"],
    "p35": ["在太平洋区域、格鲁吉亚和塞尔维亚"],
    "p40": ["为太平洋岛屿国家议会举办了"],
    "p51": ["得以达成，例如欧洲议会"],
}


def test_exactly_six_paragraphs_rejoined_across_page_breaks(report):
    joined = [p["para_id"] for p in report.paragraphs if p["joined_page_break"]]
    assert joined == [R + local for local in JOINS]


@pytest.mark.parametrize("local, phrases", JOINS.items())
def test_rejoined_paragraph_reads_across_the_join(report, local, phrases):
    para = by_id(report)[R + local]
    for phrase in phrases:
        assert phrase in para["text"]
    assert para["text"].endswith("。")
    assert "\n" not in para["text"]


def test_unnumbered_block_after_45_joins_paragraph_45(report):
    """UN reports number every body paragraph: the unnumbered block after paragraph 45 is its
    continuation over a page break, so citing A/74/759:p45 gives both blocks (this changed on
    purpose: it used to be a row of its own, A/74/759:p45.2)."""
    paras = by_id(report)
    assert f"{R}p45.2" not in paras
    p45 = paras[f"{R}p45"]
    first, second = "联合国和议会组织之间的主要合作领域之一", "各国议会联盟协助向议员分发了一项调查"
    assert p45["text"].startswith(f"45. {first}") and second in p45["text"]
    assert p45["text"].endswith("谈判工作。")
    [seam] = p45["continuation_seams"]
    assert report.doc["clean_text"][seam:].startswith(second)
    assert report.doc["clean_text"][p45["char_start"]:p45["char_end"]] == p45["text"]
    assert p45["number"] == "45" and (p45["section"], p45["subsection"]) == ("三", "F")
    assert paras[f"{R}p46"]["seq"] == p45["seq"] + 1
    # Its sentences are cited under p45 too.
    assert p45["joined_page_break"] is False
    assert sum(bool(p["continuation_seams"]) for p in report.paragraphs) == 1


def test_sections_carry_a_number_to_sort_by(report):
    headings = [p for p in of_kind(report, "heading") if p["subsection"] is None]
    assert [(h["section"], h["section_order"]) for h in headings] == [
        ("一", 1), ("二", 2), ("三", 3), ("四", 4), ("五", 5)]
    paras = by_id(report)
    assert (paras[f"{R}p19"]["section_order"], paras[f"{R}p19"]["subsection_order"]) == (2, 4)
    assert (paras[f"{R}p45"]["section_order"], paras[f"{R}p45"]["subsection_order"]) == (3, 6)
    # Sorting the headings by the numbers gives the document's own order (三 after 二, B after A).
    all_headings = [p for p in of_kind(report, "heading") if p["section_order"] is not None]
    ordered = sorted(all_headings, key=lambda p: (p["section_order"], p["subsection_order"] or 0))
    assert [p["seq"] for p in ordered] == [p["seq"] for p in all_headings]


def _parse(text):
    from pipeline.lib.text.clean import clean
    from pipeline.lib.text.structure import parse
    return {p["para_id"].split(":", 1)[1]: p for p in parse(clean(text), doc_id="t").paragraphs}


def test_continuation_rule_joins_text_but_not_headings_or_blocks_after_list_items():
    paras = _parse("一. 引言\n\n1. 第一段说明情况。\n\n议会还说明了后果。\n\n保护平民的挑战\n\n2. 第二段列出三点：\n\n"
                   "(a) 第一点；\n\n(b) 第二点。\n\n这些要点均已落实。\n\n3. 第三段。\n")
    assert paras["p1"]["text"] == "1. 第一段说明情况。\n议会还说明了后果。" and len(paras["p1"]["continuation_seams"]) == 1
    assert paras["h1"]["kind"] == "heading" and paras["h1"]["text"] == "保护平民的挑战"
    assert paras["p2"]["heading"] == "保护平民的挑战" and paras["p2"]["continuation_seams"] == []
    # After a list item the block is not the paragraph's own continuation: it keeps a row.
    assert paras["p2.2"]["text"] == "这些要点均已落实。" and paras["p2.2"]["number"] is None


def test_report_has_no_footnotes_or_operative_paragraphs(report):
    assert not of_kind(report, "footnote") and not of_kind(report, "operative")
    assert not of_kind(report, "preambular")


# --- the resolution -----------------------------------------------------------------------

VERBS = ['欢迎', '鼓励', '又鼓励', '鼓励', '促请', '欢迎', '注意到', '欢迎', '邀请', '鼓励', '欢迎', '鼓励',
         '欢迎', '邀请', '鼓励', '认识到', '表示注意到', '促请', '促请', '呼吁', '鼓励', '欢迎', '确认',
         '表示注意到']


def test_resolution_preambular_paragraphs(resolution):
    pre = of_kind(resolution, "preambular")
    assert [p["para_id"] for p in pre] == [f"{RES}pre{n}" for n in range(1, 19)]
    assert all(p["text"].rstrip("¹²³⁴⁵⁶⁷⁸⁹").endswith("，") for p in pre)
    assert pre[0]["text"].startswith("回顾各国国家元首")
    assert pre[1]["text"].startswith("又回顾其 2002 年")
    assert pre[-1]["text"].startswith("承认各国议会在制定国家计划")
    # ending in '，' does not make a preambular paragraph swallow the next one
    assert not any(p["joined_page_break"] for p in pre)
    assert all(p["text"].count("，\n") == 0 for p in pre)
    assert sum(p["text"].startswith(("回顾", "又回顾", "考虑到", "表示注意到", "注意到", "认识到")) for p in pre) >= 6


def test_preambular_paragraph_after_moved_footnotes_stays_separate(resolution):
    pre = {p["para_id"]: p for p in of_kind(resolution, "preambular")}
    assert pre[f"{RES}pre5"]["text"].endswith("缩小国际关系中的民主差距，")
    assert pre[f"{RES}pre6"]["text"].startswith("认识到必须在团结一致")


def test_resolution_operative_paragraphs_and_verbs(resolution):
    ops = of_kind(resolution, "operative")
    assert [p["para_id"] for p in ops] == [f"{RES}op{n}" for n in range(1, 25)]
    assert [p["number"] for p in ops] == [str(n) for n in range(1, 25)]
    assert [p["operative_verb"] for p in ops] == VERBS
    assert all(p["operative_verb"] is None for p in resolution.paragraphs if p["kind"] != "operative")


def test_resolution_footnotes_and_who_cites_them(resolution):
    notes = of_kind(resolution, "footnote")
    assert [p["para_id"] for p in notes] == [f"{RES}fn{n}" for n in range(1, 10)]
    assert [p["number"] for p in notes] == [str(n) for n in range(1, 10)]
    cited = {p["para_id"].rsplit(":", 1)[1]: p["cited_by"] for p in notes}
    assert cited["fn9"] == [f"{RES}op24"]
    assert cited["fn8"] == [f"{RES}op14"]
    assert cited["fn1"] == [f"{RES}pre1"]
    assert cited["fn2"] == [f"{RES}pre3"]
    # Footnote 3 is cited twice: by preambular paragraph 8 and again by operative paragraph 15.
    assert cited["fn3"] == [f"{RES}pre8", f"{RES}op15"]
    for n in range(4, 8):
        assert cited[f"fn{n}"] == [f"{RES}pre8"]
    assert all(p["cited_by"] is None for p in resolution.paragraphs if p["kind"] != "footnote")
    paras = by_id(resolution)
    assert paras[f"{RES}fn9"]["text"] == "⁹ A/74/759。"
    assert paras[f"{RES}op15"]["footnote_refs"] == [f"{RES}fn3"]
    assert paras[f"{RES}op24"]["footnote_refs"] == [f"{RES}fn9"]
    assert paras[f"{RES}pre8"]["footnote_refs"] == [f"{RES}fn{n}" for n in range(3, 8)]
    # every marker's paragraph lists the footnote, and every listed footnote exists
    for p in resolution.paragraphs:
        for ref in p["footnote_refs"]:
            assert paras[ref]["kind"] == "footnote"


def test_footnotes_come_last_and_have_no_section(resolution):
    kinds = [p["kind"] for p in resolution.paragraphs]
    assert kinds[-9:] == ["footnote"] * 9
    assert all(p["section"] is None for p in of_kind(resolution, "footnote"))


def test_resolution_closing_and_front_matter(resolution):
    closing = of_kind(resolution, "closing")
    assert [p["text"] for p in closing] == ["2020 年 9 月 4 日", "第 63 次全体会议"]
    assert [p["para_id"] for p in closing] == [f"{RES}cl1", f"{RES}cl2"]
    front = [p["text"] for p in of_kind(resolution, "front_matter")]
    assert front[:2] == ["第七十四届会议", "议程项目 125"]
    assert "74/303. 联合国与各国议会和各国议会联盟的互动" in front
    assert front[-1] == "大会，"
    order = [p["kind"] for p in resolution.paragraphs]
    assert order.index("preambular") > max(i for i, k in enumerate(order) if k == "front_matter")
    assert order.index("closing") > max(i for i, k in enumerate(order) if k == "operative")


# --- metadata and provenance ---------------------------------------------------------------

def test_report_metadata_and_provenance(report):
    doc = report.doc
    assert doc["symbol"] == "A/74/759" and doc["provenance"]["symbol"] == "sidecar"
    assert doc["symbol_in_text"] is None
    assert doc["session"] == 74 and doc["provenance"]["session"] == "text"
    assert doc["agenda_item"] == "125" and doc["provenance"]["agenda_item"] == "text"
    assert doc["title"] == "联合国与各国议会和各国议会联盟之间的互动"
    assert doc["provenance"]["title"] == "text"
    assert doc["doc_type"] == "report"


def test_report_doc_type_read_from_the_text_is_recorded_as_text(report):
    """'秘书长的报告' is printed in the report; the sidecar only repeats it."""
    assert report.doc["provenance"]["doc_type"] == "text"


def test_report_doc_type_is_read_from_the_text_without_a_sidecar():
    from conftest import REPORT_FILE

    doc = process_file(REPORT_FILE, with_sidecar=False).doc
    assert doc["doc_type"] == "report" and doc["provenance"]["doc_type"] == "text"
    assert doc["symbol"] is None and doc["provenance"]["symbol"] is None
    assert doc["session"] == 74


def test_fields_a_document_lacks_are_null_with_null_provenance(report):
    for field in ("date", "resolution_number", "plenary_meeting", "draft_symbols"):
        assert report.doc[field] is None
        assert report.doc["provenance"][field] is None
    for field, value in report.doc["provenance"].items():
        assert (value is None) == (report.doc[field] is None), field
        assert value in (None, *schemas.PROVENANCE)


def test_resolution_metadata_and_provenance(resolution):
    doc = resolution.doc
    prov = doc["provenance"]
    assert (doc["symbol"], prov["symbol"]) == ("A/RES/74/304", "sidecar")
    assert doc["symbol_in_text"] == "A/RES/74/303"
    assert (doc["resolution_number"], prov["resolution_number"]) == ("74/303", "text")
    assert (doc["date"], prov["date"]) == ("2020-09-04", "text")
    assert (doc["plenary_meeting"], prov["plenary_meeting"]) == (63, "text")
    assert (doc["draft_symbols"], prov["draft_symbols"]) == (["A/74/L.85", "A/74/L.85/Add.1"], "text")
    assert (doc["session"], prov["session"]) == (74, "text")
    assert (doc["doc_type"], prov["doc_type"]) == ("resolution", "text")
    assert (doc["agenda_item"], prov["agenda_item"]) == ("125", "text")
    assert doc["title"] == "联合国与各国议会和各国议会联盟的互动"


def test_symbol_conflict_is_a_warning_naming_both_symbols(resolution):
    conflicts = [w for w in resolution.doc["warnings"] if "A/RES/74/304" in w and "A/RES/74/303" in w]
    assert len(conflicts) == 1
    assert "symbol" in conflicts[0]


def test_para_ids_cite_the_declared_symbol(resolution, report):
    assert all(p["para_id"].startswith(RES) for p in resolution.paragraphs)
    assert all(p["para_id"].startswith(R) for p in report.paragraphs)


def test_without_a_sidecar_the_resolution_cites_its_own_number():
    from conftest import RESOLUTION_FILE

    doc = process_file(RESOLUTION_FILE, with_sidecar=False)
    assert doc.doc["symbol"] == "A/RES/74/303"
    assert doc.doc["provenance"]["symbol"] == "inferred"
    assert doc.doc["warnings"] == []
    assert by_id(doc)["A/RES/74/303:op24"]["operative_verb"] == "表示注意到"


# --- tables' invariants on the seeds ------------------------------------------------------

@pytest.mark.parametrize("fixture", ["report", "resolution", "charter", "a_res_61_211"])
def test_structure_invariants_hold(request, fixture):
    doc = request.getfixturevalue(fixture)
    table = pa.Table.from_pylist(doc.paragraphs)
    for check in (invariants.paragraph_kinds_known, invariants.numbers_contiguous, invariants.footnotes_linked):
        passed, details = check(table)
        assert passed, (check.__name__, details)
    passed, details = invariants.unique(table, "para_id")
    assert passed, details
    passed, details = invariants.offsets_hold(table, {doc.doc["doc_id"]: doc.doc["clean_text"]})
    assert passed, details
    assert [p["seq"] for p in doc.paragraphs] == list(range(len(doc.paragraphs)))


def test_invariants_catch_broken_tables():
    rows = [
        {"doc_id": "d", "para_id": "d:p1", "kind": "numbered", "number": "1", "footnote_refs": ["d:fn9"],
         "cited_by": None, "text": "1. 甲", "char_start": 0, "char_end": 4},
        {"doc_id": "d", "para_id": "d:p3", "kind": "numbered", "number": "3", "footnote_refs": [],
         "cited_by": None, "text": "3. 乙", "char_start": 5, "char_end": 9},
        {"doc_id": "d", "para_id": "d:p3", "kind": "sidebar", "number": None, "footnote_refs": [],
         "cited_by": None, "text": "丙", "char_start": 0, "char_end": 1},
        {"doc_id": "d", "para_id": "d:fn1", "kind": "footnote", "number": "1", "footnote_refs": [],
         "cited_by": None, "text": "¹ 注", "char_start": 0, "char_end": 3},
    ]
    table = pa.Table.from_pylist(rows)
    assert not invariants.numbers_contiguous(table)[0]
    assert not invariants.unique(table, "para_id")[0]
    assert invariants.paragraph_kinds_known(table)[1]["unknown"] == ["sidebar"]
    passed, details = invariants.footnotes_linked(table)
    assert not passed and details["uncited"] == ["d:fn1"] and details["dangling_refs"] == ["d:fn9"]
    assert not invariants.offsets_hold(table, {"d": "1. 甲\n3. 乙"})[0]


# --- other shapes: the Charter, a raw PDF extract, a letter --------------------------------

def test_charter_chapters_and_articles(charter):
    paras = by_id(charter)
    assert paras["UN_Charter.zh:ch1"]["kind"] == "heading"
    assert paras["UN_Charter.zh:ch1"]["text"] == "第一章：宗旨及原则"
    assert paras["UN_Charter.zh:art1"]["kind"] == "heading"
    chapters = [p for p in of_kind(charter, "heading") if ":ch" in p["para_id"]]
    articles = [p for p in of_kind(charter, "heading") if ":art" in p["para_id"]]
    assert len(chapters) == 19
    assert [p["para_id"] for p in articles] == [f"UN_Charter.zh:art{n}" for n in range(1, 112)]
    assert paras["UN_Charter.zh:art111"]["section"] == "第十九章"


def test_charter_numbered_paragraphs_within_articles(charter):
    paras = by_id(charter)
    art2 = [p for p in charter.paragraphs if p["para_id"].startswith("UN_Charter.zh:art2.p")]
    assert [p["number"] for p in art2] == ["一", "二", "三", "四", "五", "六", "七"]
    assert all(p["kind"] == "numbered" and p["subsection"] == "第二条" for p in art2)
    assert paras["UN_Charter.zh:art1.p1"]["text"].startswith("一、维持国际和平及安全")


def test_charter_article_paragraph_without_final_stop_is_not_a_section_heading(charter):
    """Article 93(1) reads '一、联合国各会员国为国际法院规约之当然当事国' with no final '。'.
    It is paragraph 1 of the article, and the chapter (第十四章) goes on after it."""
    paras = by_id(charter)
    assert "UN_Charter.zh:s1" not in paras
    first = paras.get("UN_Charter.zh:art93.p1")
    assert first is not None and first["kind"] == "numbered" and first["number"] == "一"
    assert paras["UN_Charter.zh:art94.p1"]["section"] == "第十四章"


def test_charter_list_items(charter):
    paras = by_id(charter)
    assert paras["UN_Charter.zh:art13.p1(子)"]["kind"] == "list_item"
    assert paras["UN_Charter.zh:art13.p1(丑)"]["text"].startswith("(丑)")
    assert [p["number"] for p in charter.paragraphs if p["para_id"].startswith("UN_Charter.zh:art73(")] == [
        "(子)", "(丑)", "(寅)", "(卯)", "(辰)"]


def test_charter_preamble_is_not_lost(charter):
    assert charter.paragraphs[0]["text"] == "我联合国人民同兹决心"
    assert charter.doc["warnings"] == []
    assert charter.paragraphs[-1]["text"] == "公历一千九百四十五年六月二十六日签订于金山市。"


@pytest.mark.parametrize("title", [pytest.param("组织", id="composition"), pytest.param("职权", id="functions"),
                                   pytest.param("投票", id="voting"), pytest.param("程序", id="procedure")])
def test_charter_topic_headings_are_headings_not_paragraphs(charter, title):
    """Chapter IV onwards groups its articles under short topic headings (组织 Composition, 职权
    Functions and Powers, 投票 Voting, 程序 Procedure); they head the articles that follow."""
    rows = [p for p in charter.paragraphs if p["text"] == title]
    assert rows, title
    assert {p["kind"] for p in rows} == {"heading"}, [(p["para_id"], p["kind"]) for p in rows]


def test_a_res_61_211_operative_paragraphs(a_res_61_211):
    ops = of_kind(a_res_61_211, "operative")
    prefix = "A_RES_61_211.operative-part.zh:"
    assert [p["para_id"] for p in ops] == [f"{prefix}op{n}" for n in range(1, 20)]
    assert len(a_res_61_211.paragraphs) == 19
    paras = by_id(a_res_61_211)
    assert "《布鲁塞尔宣言》1和《行动纲领》" in paras[f"{prefix}op13"]["text"]
    assert "\n" not in paras[f"{prefix}op2"]["text"]
    assert "这是一项由最不发达国家掌控和主导的倡议；" in paras[f"{prefix}op2"]["text"]
    assert [p["operative_verb"] for p in ops][:4] == ["注意到", "欢迎", "重申", "确认"]
    assert paras[f"{prefix}op10"]["operative_verb"] == "又敦促"


def test_a_res_61_211_type_is_inferred(a_res_61_211):
    doc = a_res_61_211.doc
    assert doc["doc_type"] == "resolution" and doc["provenance"]["doc_type"] == "inferred"
    assert doc["symbol"] is None and doc["provenance"]["symbol"] is None


def test_text_without_numbered_paragraphs_still_yields_rows_and_a_warning(tmp_path):
    path = tmp_path / "letter.txt"
    path.write_text(LETTER, "utf-8")
    doc = process_file(path)
    assert [p["text"] for p in doc.paragraphs] == [
        "尊敬的主席先生：", "我谨代表我国政府，感谢您在本届会议期间的出色领导。我们高度赞赏各国议会联盟的工作。",
        "我国愿继续与联合国开发计划署合作，推动可持续发展。", "顺致崇高的敬意。"]
    assert len({p["para_id"] for p in doc.paragraphs}) == 4
    assert len(doc.sentences) == 5
    assert len(doc.tokens) > 20
    assert any("no recognisable UN structure" in w for w in doc.warnings)


@pytest.mark.parametrize("text, value", [
    ("七十四", 74), ("一百一十", 110), ("十", 10), ("十九", 19), ("一百一十一", 111), ("63", 63),
    ("两千", 2000), ("甲", None), ("", None),
])
def test_cn_to_int(text, value):
    assert cn_to_int(text) == value


@pytest.mark.parametrize("text, verb", [
    ("1. 欢迎各国议会联盟", "欢迎"), ("3. 又鼓励联合国", "又鼓励"), ("24. 表示注意到秘书长的报告", "表示注意到"),
    ("7. 注意到主题", "注意到"), ("10. 又敦促发展伙伴", "又敦促"), ("5. 各国议会", None),
])
def test_operative_verb(text, verb):
    assert operative_verb(text) == verb
