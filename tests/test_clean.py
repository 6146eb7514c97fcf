"""Cleaning: markup out, layout spaces out, words and numbers kept, footnotes moved, page breaks
rejoined, and every clean character traceable to its source character."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from pipeline.lib.text.clean import clean, source_offset
from conftest import REPORT_FILE, RESOLUTION_FILE, SAMPLES

SOURCES = {
    "report": REPORT_FILE.read_text("utf-8"),
    "resolution": RESOLUTION_FILE.read_text("utf-8"),
    "charter": (SAMPLES / "UN_Charter.zh.txt").read_text("utf-8"),
    "a_res_61_211": (SAMPLES / "A_RES_61_211.operative-part.zh.txt").read_text("utf-8"),
}
CLEANED = {name: clean(text) for name, text in SOURCES.items()}


@pytest.mark.parametrize("source, expected", [
    pytest.param("1. **欢迎**各国议会联盟的工作；", "1. 欢迎各国议会联盟的工作；", id="bold-markup"),
    pytest.param("根据大会第 [72/278](#) 号决议，", "根据大会第 72/278 号决议，", id="link-markup"),
    pytest.param("见 [FCCC/CP/2015/10/Add.1](#)，第 1/CP.21 号决定", "见 FCCC/CP/2015/10/Add.1，第 1/CP.21 号决定", id="link-markup-symbol"),
    # a space between two Chinese characters is layout and goes
    pytest.param("国际政界妇女知识网 开展合作。", "国际政界妇女知识网开展合作。", id="space-between-cjk"),
    pytest.param("联合国 与 各国议会", "联合国与各国议会", id="spaces-between-cjk-words"),
    pytest.param("性别平等，  以及", "性别平等，以及", id="space-run-after-cjk-comma"),
    # spaces next to Latin words and numbers stay
    pytest.param("(A/74/L.85 和 A/74/L.85/Add.1)", "(A/74/L.85 和 A/74/L.85/Add.1)", id="space-next-to-latin"),
    pytest.param("2020 年 9 月 4 日", "2020 年 9 月 4 日", id="spaces-next-to-digits"),
    pytest.param("应对 COVID-19 大流行病", "应对 COVID-19 大流行病", id="space-next-to-latin-word"),
    pytest.param("民主  与 human   rights", "民主与 human rights", id="space-runs-mixed"),
    # layout spaces and zero-width characters; full-width digits and letters become ASCII
    pytest.param("联合国\u3000\u3000开发署", "联合国开发署", id="ideographic-space-run"),
    pytest.param("第\u00a072/278\u00a0号", "第 72/278 号", id="nbsp-next-to-digits"),
    pytest.param("联合\u200b国", "联合国", id="zero-width"),
    pytest.param("２０２０年ＣＯＶＩＤ", "2020年COVID", id="fullwidth-alnum"),
])
def test_clean_rules(source, expected):
    assert clean(source).clean_text == expected


def test_markup_gone_from_the_seeds_and_the_words_kept():
    text = CLEANED["resolution"].clean_text
    assert "**" not in text and "](#)" not in text
    assert "[72/278]" not in CLEANED["report"].clean_text
    assert "第 72/278 号决议" in CLEANED["report"].clean_text
    assert "24. 表示注意到秘书长的报告" in text
    # the brackets that are words, not markup, stay
    assert "[未经发交主要委员会而通过(A/74/L.85 和 A/74/L.85/Add.1)]" in text


def test_layout_spaces_in_the_report_go():
    text = CLEANED["report"].clean_text
    assert "知识网开展合作" in text and "知识网 开展" not in text
    assert "未来政策奖突出了" in text


def _content(text: str) -> Counter:
    return Counter(ch for ch in text if not ch.isspace() and ch not in "\u200b\u200c\u200d\u2060\ufeff\u00ad")


def _without_markup(source: str) -> str:
    source = re.sub(r"\*\*(.+?)\*\*", r"\1", source)
    return re.sub(r"\[([^\[\]]+?)\]\(#\)", r"\1", source)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_no_content_character_is_lost_or_added(name):
    source = SOURCES[name]
    expected = _content(_without_markup(source))
    got = _content(CLEANED[name].clean_text)
    assert expected - got == Counter(), "characters lost"
    assert got - expected == Counter(), "characters added"


@pytest.mark.parametrize("name", ["report", "resolution"])
def test_markup_characters_are_the_only_difference(name):
    """The rule above would also pass if markup were both kept and dropped elsewhere: check counts."""
    source = SOURCES[name]
    raw = _content(source)
    got = _content(CLEANED[name].clean_text)
    removed = raw - got
    assert set(removed) <= set("*[]()#")
    assert removed["*"] == source.count("**") * 2 and removed["#"] == source.count("](#)")


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_source_map_traces_every_piece_back_to_the_source(name):
    source, cleaned = SOURCES[name], CLEANED[name]
    assert cleaned.pieces
    for piece in cleaned.pieces:
        assert cleaned.clean_text[piece.char_start:piece.char_end] == piece.text
        first = source_offset(cleaned.source_map, piece.char_start)
        assert source[first] == piece.text[0]
        assert first == piece.source_start
        last = source_offset(cleaned.source_map, piece.char_end - 1)
        assert source[last] == piece.text[-1]


@pytest.mark.parametrize("name", ["report", "resolution"])
def test_source_map_maps_every_non_space_character(name):
    source, cleaned = SOURCES[name], CLEANED[name]
    text = cleaned.clean_text
    wrong = [i for i, ch in enumerate(text)
             if not ch.isspace() and source[source_offset(cleaned.source_map, i)] != ch]
    assert wrong == []


def test_source_map_of_a_rejoined_paragraph_jumps_over_the_page_break():
    source, cleaned = SOURCES["report"], CLEANED["report"]
    at = cleaned.clean_text.index("联哥核查团的支持下")
    before = source_offset(cleaned.source_map, at + 3)  # 查
    after = source_offset(cleaned.source_map, at + 4)   # 团
    assert source[before] == "查" and source[after] == "团"
    assert after - before > 1 and "\n" in source[before:after]


def test_footnote_bodies_move_to_the_end():
    cleaned = CLEANED["resolution"]
    kinds = [p.footnote is not None for p in cleaned.pieces]
    assert sum(kinds) == 9
    assert kinds == sorted(kinds), "a footnote sits between body paragraphs"
    assert [p.footnote for p in cleaned.pieces if p.footnote] == [str(n) for n in range(1, 10)]
    assert cleaned.clean_text.endswith("⁹ A/74/759。")
    # the preambular paragraph after footnotes 1-2 in the source follows the one before them
    text = cleaned.clean_text
    assert text.index("缩小国际关系中的民主差距，\n认识到必须在团结一致") >= 0
    assert text.index("¹ 第 60/1 号决议。") > text.index("第 63 次全体会议")


def test_footnote_markers_stay_in_the_running_text():
    text = CLEANED["resolution"].clean_text
    assert "《2005 年世界首脑会议成果》¹ 中" in text
    assert "秘书长的报告，⁹ 并请秘书长" in text


@pytest.mark.parametrize("source, expected", [
    # a PDF hard line break inside a paragraph: Chinese joins without a space
    ("13. 请尚未这样做的联合国系统组织，把执行《布鲁塞尔宣\n言》1\n和《行动纲领》的工作纳入；",
     "13. 请尚未这样做的联合国系统组织，把执行《布鲁塞尔宣言》1和《行动纲领》的工作纳入；"),
    # Latin words on both sides of the line break keep a space
    ("1. 见 United\nNations 的报告。", "1. 见 United Nations 的报告。"),
    # CRLF and CR line ends
    ("1. 第一段。\r\n\r\n2. 第二段。", "1. 第一段。\n2. 第二段。"),
    ("1. 第一段。\r\r2. 第二段。", "1. 第一段。\n2. 第二段。"),
])
def test_line_breaks(source, expected):
    assert clean(source).clean_text == expected


def test_a_page_break_cut_is_rejoined_and_a_finished_paragraph_is_not():
    cut = "一. 引言\n\n1. 在哥伦比亚，国会两院和平委员会在联哥核查\n\n团的支持下，走访了地区。\n\n2. 下一段。"
    pieces = clean(cut).pieces
    assert [p.text for p in pieces] == ["一. 引言", "1. 在哥伦比亚，国会两院和平委员会在联哥核查团的支持下，走访了地区。",
                                        "2. 下一段。"]
    assert [p.joined_page_break for p in pieces] == [False, True, False]
    whole = "一. 引言\n\n1. 第一段到此结束。\n\n各国议会联盟协助分发了一项调查。\n\n2. 下一段。"
    pieces = clean(whole).pieces
    assert len(pieces) == 4 and not any(p.joined_page_break for p in pieces)


def test_six_page_breaks_rejoined_in_the_report():
    joined = [p for p in CLEANED["report"].pieces if p.joined_page_break]
    assert [p.text.split(".", 1)[0] for p in joined] == ["19", "24", "29", "35", "40", "51"]


def test_clean_is_deterministic():
    again = clean(SOURCES["report"])
    assert again.clean_text == CLEANED["report"].clean_text
    assert again.source_map == CLEANED["report"].source_map


@pytest.mark.parametrize("source, expected, offsets", [
    pytest.param("联合\u200b国\u3000\u3000开发署", "联合国开发署", [0, 1, 3, 6, 7, 8], id="zero-width-and-layout-run"),
    pytest.param("\u3000\u3000１．ＡＢ **欢迎** [72/278](#) 号", "1．AB 欢迎 72/278 号",
                 [2, 3, 4, 5, 6, 9, 10, 13, 15, 16, 17, 18, 19, 20, 25, 26], id="indent-fullwidth-markup"),
    pytest.param("甲 \u00a0 乙  1", "甲乙 1", [0, 4, 6, 7], id="space-runs"),
])
def test_every_clean_character_maps_to_its_source_character(source, expected, offsets):
    cleaned = clean(source)
    assert cleaned.clean_text == expected
    assert [source_offset(cleaned.source_map, i) for i in range(len(expected))] == offsets
    piece = cleaned.pieces[0]
    assert (piece.source_start, piece.source_end) == (min(offsets), max(offsets) + 1)
