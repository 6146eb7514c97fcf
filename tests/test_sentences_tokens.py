"""Sentences and tokens: split inside paragraphs only, names kept whole, offsets exact, ids stable."""
from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline.lib import invariants
from pipeline.lib.document import process_document
from pipeline.lib.text.sentences import split_sentences
from pipeline.lib.text.tokens import tokenize
from conftest import REPORT_FILE, RESOLUTION_FILE, by_id, process_file


def sentences_of(text: str) -> list[str]:
    para = {"para_id": "x:p1", "char_start": 0, "char_end": len(text)}
    return [s["text"] for s in split_sentences(text, [para])]


@pytest.mark.parametrize("text, expected", [
    ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
    ("他说：“好。”然后走了。", ["他说：“好。”", "然后走了。"]),
    ("（注意。）再见", ["（注意。）", "再见"]),
    ("题为“执行情况。”的报告。", ["题为“执行情况。”", "的报告。"]),
    ("真的吗？！是的。", ["真的吗？！", "是的。"]),
    ("句子。 下一句。", ["句子。", "下一句。"]),
    ("没有句号的段落", ["没有句号的段落"]),
    ("1. 欢迎秘书长的报告；", ["1. 欢迎秘书长的报告；"]),
    # the ASCII full stop belongs to numbers and symbols, never ends a sentence
    ("见 A/74/L.85 号文件。下一句", ["见 A/74/L.85 号文件。", "下一句"]),
    ("约 1.5 亿美元。", ["约 1.5 亿美元。"]),
    ("12. 请秘书长提交报告。", ["12. 请秘书长提交报告。"]),
    # nor does the full-width full stop of a paragraph number
    pytest.param("1．欢迎秘书长的报告。", ["1．欢迎秘书长的报告。"], id="fullwidth-stop-of-paragraph-number"),
])
def test_split_sentences(text, expected):
    assert sentences_of(text) == expected


def test_sentences_never_cross_paragraphs():
    text = "第一段没有句号\n第二段。还有一句。"
    paragraphs = [{"para_id": "x:p1", "char_start": 0, "char_end": 7},
                  {"para_id": "x:p2", "char_start": 8, "char_end": len(text)}]
    rows = split_sentences(text, paragraphs)
    assert [(r["para_id"], r["text"]) for r in rows] == [
        ("x:p1", "第一段没有句号"), ("x:p2", "第二段。"), ("x:p2", "还有一句。")]
    assert [r["sent_id"] for r in rows] == ["x:p1.s1", "x:p2.s1", "x:p2.s2"]
    assert [r["seq"] for r in rows] == [0, 1, 2]


@pytest.mark.parametrize("fixture", ["report", "resolution", "charter", "a_res_61_211"])
def test_every_sentence_lies_inside_its_paragraph(request, fixture):
    doc = request.getfixturevalue(fixture)
    paras = by_id(doc)
    assert doc.sentences
    for sent in doc.sentences:
        para = paras[sent["para_id"]]
        assert para["char_start"] <= sent["char_start"] < sent["char_end"] <= para["char_end"]
        assert sent["sent_id"].startswith(sent["para_id"] + ".s")
        assert sent["text"] == sent["text"].strip()
    # the sentences of a paragraph cover all its non-space text (a paragraph joined across a
    # page break keeps the line break of its seam, which no sentence holds)
    for para in doc.paragraphs:
        joined = "".join(s["text"] for s in doc.sentences if s["para_id"] == para["para_id"])
        assert "".join(joined.split()) == "".join(para["text"].split())


def test_seed_sentences(report, resolution):
    report_sents = {s["sent_id"]: s["text"] for s in report.sentences}
    assert report_sents["A/74/759:p1.s1"] == (
        "1. 根据大会第 72/278 号决议，本报告在联合国与各国议会和议会组织互动历史的基础上编写。")
    assert report_sents["A/74/759:p1.s2"].startswith("这一互动为推进联合国")
    # p19 was cut by a page break; its sentence reads straight across the join
    assert any("在联哥核查团的支持下，走访了前战斗人员" in s for s in report_sents.values())
    ops = [s for s in resolution.sentences if ":op" in s["para_id"]]
    assert {s["para_id"] for s in ops} == {f"A/RES/74/304:op{n}" for n in range(1, 25)}
    # an operative paragraph ending in '；' is one sentence
    assert [s["text"] for s in resolution.sentences if s["para_id"] == "A/RES/74/304:op21"] == [
        "21. 鼓励联合国系统在其报告和战略规划草案中更系统地反映议会的作用和贡献；"]


# --- tokens ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["联合国开发计划署", "各国议会联盟", "开发署", "联哥核查团", "妇女署"])
def test_proper_names_are_single_tokens_in_the_seeds(report, resolution, name):
    tokens = [t["text"] for t in report.tokens + resolution.tokens]
    assert name in tokens
    clean = report.doc["clean_text"] + resolution.doc["clean_text"]
    # every occurrence not inside a longer name is a whole token
    assert tokens.count(name) >= 1 and clean.count(name) >= tokens.count(name)


def test_ipu_is_never_cut(report):
    for tok in report.tokens:
        assert tok["text"] not in ("各国议", "会联盟", "议会联盟")


def test_tokens_have_pos_tags_and_no_white_space(report):
    assert all(t["pos"] for t in report.tokens)
    assert all(t["text"].strip() == t["text"] and t["text"] for t in report.tokens)
    tags = {t["text"]: t["pos"] for t in report.tokens}
    assert tags["各国议会联盟"] == "nt"


def test_tokens_cover_each_sentence(resolution):
    clean = resolution.doc["clean_text"]
    by_sentence: dict[str, list[dict]] = {}
    for tok in resolution.tokens:
        by_sentence.setdefault(tok["sent_id"], []).append(tok)
    for sent in resolution.sentences:
        toks = by_sentence[sent["sent_id"]]
        assert [t["seq"] for t in toks] == list(range(len(toks)))
        assert "".join(t["text"] for t in toks) == clean[sent["char_start"]:sent["char_end"]].replace(" ", "")


def test_tokenize_directly():
    text = "联合国开发计划署和各国议会联盟合作。"
    rows = tokenize(text, [{"sent_id": "x:p1.s1", "char_start": 0, "char_end": len(text)}])
    assert [r["text"] for r in rows][:3] == ["联合国开发计划署", "和", "各国议会联盟"]
    assert all(text[r["char_start"]:r["char_end"]] == r["text"] for r in rows)


@pytest.mark.parametrize("term", ["可持续发展", "利益攸关方", "非政府组织", "联合国系统", "国家工作队",
                                  "全民健康覆盖"])
def test_un_terms_are_one_token(term):
    text = f"各方在{term}方面开展合作。"
    assert term in [r["text"] for r in tokenize(text, [{"sent_id": "x:p1.s1", "char_start": 0, "char_end": len(text)}])]


def test_un_terms_are_never_cut_in_the_seeds(report, resolution):
    tokens = report.tokens + resolution.tokens
    words = [t["text"] for t in tokens]
    assert "攸关" not in words and "非政府" not in words and "工作队" not in words
    # 可/持续/发展 was how jieba cut 可持续发展 (19 times in the seeds)
    assert not [a for a, b in zip(tokens, tokens[1:]) if (a["text"], b["text"]) == ("可", "持续")]
    assert words.count("可持续发展") >= 10
    assert "宣言" in words and {t["pos"] for t in report.tokens + resolution.tokens if t["text"] == "宣言"} == {"n"}


@pytest.mark.parametrize("text, token", [
    ("根据第 72/278 号决议", "72/278"),
    ("见A/RES/74/304。", "A/RES/74/304"),
    ("安全理事会第1540(2004)号决议", "1540(2004)"),
    ("报告(S/2000/459)第11段", "S/2000/459"),
])
def test_symbols_and_resolution_numbers_are_one_token(text, token):
    rows = tokenize(text, [{"sent_id": "x:p1.s2", "char_start": 0, "char_end": len(text)}])
    assert [(r["text"], r["flag"]) for r in rows if r["text"] == token] == [(token, None)]


@pytest.mark.parametrize("text, label", [
    ("63. 各国议会联盟还继续合作。", "63."),
    ("(a) 编写和批准报告；", "(a)"),
    ("二. 各国议会", "二."),
])
def test_paragraph_labels_are_flagged_not_words(text, label):
    rows = tokenize(text, [{"sent_id": "x:p63.s1", "char_start": 0, "char_end": len(text)}])
    assert (rows[0]["text"], rows[0]["flag"]) == (label, "label")
    assert all(r["flag"] is None for r in rows[1:])
    # only a paragraph's first sentence opens with its label
    later = tokenize(text, [{"sent_id": "x:p63.s2", "char_start": 0, "char_end": len(text)}])
    assert all(r["flag"] is None for r in later)


def test_footnote_markers_are_flagged(resolution):
    markers = [t for t in resolution.tokens if t["flag"] == "footnote_marker"]
    assert markers and all(set(t["text"]) <= set("¹²³⁴⁵⁶⁷⁸⁹⁰") for t in markers)
    assert not [t for t in resolution.tokens if t["flag"] is None and set(t["text"]) & set("¹²³⁴⁵⁶⁷⁸⁹⁰")]


def test_labels_of_the_seeds_are_flagged(report):
    labels = {t["text"] for t in report.tokens if t["flag"] == "label"}
    assert {"1.", "63.", "(a)"} <= labels
    assert not [t for t in report.tokens if t["text"] == "63." and t["flag"] is None]


def test_tokens_carry_their_paragraph(report):
    sentences = {s["sent_id"]: s["para_id"] for s in report.sentences}
    assert all(t["para_id"] == sentences[t["sent_id"]] for t in report.tokens)


# --- the offset invariant -------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["report", "resolution", "charter", "a_res_61_211"])
@pytest.mark.parametrize("table", ["paragraphs", "sentences", "tokens"])
def test_offsets_hold(request, fixture, table):
    doc = request.getfixturevalue(fixture)
    rows = getattr(doc, table)
    assert rows
    passed, details = invariants.offsets_hold(pa.Table.from_pylist(rows), {doc.doc["doc_id"]: doc.doc["clean_text"]})
    assert passed, details
    assert details["rows"] == len(rows)


@pytest.mark.parametrize("table", ["sentences", "tokens"])
def test_ids_unique(report, table):
    column = "sent_id" if table == "sentences" else None
    rows = getattr(report, table)
    if column:
        assert invariants.unique(pa.Table.from_pylist(rows), column)[0]
    else:
        keys = [(t["sent_id"], t["seq"]) for t in rows]
        assert len(keys) == len(set(keys))


# --- stable ids -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [REPORT_FILE, RESOLUTION_FILE], ids=["report", "resolution"])
def test_same_input_gives_the_same_ids(path):
    first, second = process_file(path), process_file(path)
    assert first.doc["doc_id"] == second.doc["doc_id"] == path.name.removesuffix(".txt")
    assert [p["para_id"] for p in first.paragraphs] == [p["para_id"] for p in second.paragraphs]
    assert [s["sent_id"] for s in first.sentences] == [s["sent_id"] for s in second.sentences]
    assert first.tokens == second.tokens
    assert first.doc["clean_text"] == second.doc["clean_text"]


def test_ids_do_not_depend_on_the_folder(tmp_path):
    text = RESOLUTION_FILE.read_text("utf-8")
    copy = tmp_path / RESOLUTION_FILE.name
    copy.write_text(text, "utf-8")
    a = process_document(text, source_file=str(RESOLUTION_FILE), with_entities=False)
    b = process_document(text, source_file=str(copy), with_entities=False)
    assert a.doc["doc_id"] == b.doc["doc_id"]
    assert [s["sent_id"] for s in a.sentences] == [s["sent_id"] for s in b.sentences]


def test_editing_a_later_paragraph_keeps_earlier_ids(report):
    text = REPORT_FILE.read_text("utf-8").replace("71. 在大会的鼓励下", "71. 在大会的持续鼓励下")
    edited = process_document(text, source_file=REPORT_FILE.name,
                              sidecar={"symbol": "A/74/759"}, with_entities=False)
    assert [p["para_id"] for p in edited.paragraphs] == [p["para_id"] for p in report.paragraphs]
    assert [s["sent_id"] for s in edited.sentences] == [s["sent_id"] for s in report.sentences]
