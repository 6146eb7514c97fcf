"""UN document symbols, repetition adverbs and the content key, each defined once: the symbol
pattern (un_symbols) and what matches it, in Python and in Polars; the adverbs the parser
reads and the statistics strip; the key a document's work files are built from."""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from pipeline.lib import stamps
from pipeline.lib.release import stats
from pipeline.lib.entities.tagger import resolution_symbol
from pipeline.lib.text import un_symbols
from pipeline.lib.text.ingest import Source, content_key
from pipeline.lib.text.structure import REPETITION_ADVERBS, operative_verb
from pipeline.lib.text.un_symbols import (
    SYMBOL, find_symbols, ga_resolution_symbol, is_symbol, sc_resolution_symbol, session_of_symbol,
    symbol_key,
)

# --- what a symbol is -----------------------------------------------------------------------

SYMBOLS = [
    "A/74/759", "A/RES/74/304", "A/RES/74/303", "A/74/L.85", "A/74/L.85/Add.1", "E/CN.6/2020/1",
    "S/RES/2334 (2016)", "S/RES/2334(2016)", "S/RES/1325(2000)", "A/HRC/38/25", "A/HRC/RES/45/1",
    "FCCC/CP/2015/10/Add.1", "A/ES-10/L.22", "A/RES/ES-10/19", "ICCD/COP(14)/23", "S/PV.8700",
    "ST/SGB/2019/8", "A/C.5/74/L.1/Rev.1", "E/2020/L.12/Corr.1", "CEDAW/C/GC/37", "S/2020/1",
]


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_symbols_match_whole(symbol):
    assert is_symbol(symbol)
    assert [m.group(0) for m in find_symbols(f"见{symbol}。")] == [symbol]


@pytest.mark.parametrize("text", [
    pytest.param("A/HRC", id="no-digit"),
    pytest.param("N/A", id="no-digit-short"),
    pytest.param("UN/DESA", id="no-digit-two-organs"),
    pytest.param("A/RES/..", id="dots-only"),
    pytest.param("a/74/759", id="lower-case-organ"),
    pytest.param("A74/759", id="no-slash-after-organ"),
    pytest.param("74/303", id="resolution-number-no-organ"),
    pytest.param("A/74/759.", id="sentence-full-stop"),
    pytest.param("A/74/L.85-", id="trailing-hyphen"),
    pytest.param("A/74/", id="empty-last-part"),
    pytest.param("A//74", id="empty-part"),
    pytest.param("A/74/759 (2020)", id="spaced-year-not-a-resolution-of-the-council"),
    pytest.param("S/RES/2334  (2016)", id="two-spaces-before-year"),
    pytest.param("ABCDEFGHIJK/1", id="eleven-capitals"),
    pytest.param("A/74/759 以及", id="symbol-then-text"),
    pytest.param("A/74/759（2020）", id="full-width-parentheses"),
])
def test_near_misses_are_no_symbol(text):
    assert not is_symbol(text)


@pytest.mark.parametrize("text, found", [
    ("见A/74/759。", ["A/74/759"]),
    ("(A/74/L.85和A/74/L.85/Add.1)", ["A/74/L.85", "A/74/L.85/Add.1"]),
    ("[未经交付主要委员会审议而通过(A/74/L.85 和 A/74/L.85/Add.1)]", ["A/74/L.85", "A/74/L.85/Add.1"]),
    ("综合报告(A/HRC/38/25)。", ["A/HRC/38/25"]),
    ("安全理事会S/RES/2334 (2016)号决议", ["S/RES/2334 (2016)"]),
    ("见 A/74/759 (2020 年)。", ["A/74/759"]),
    ("A/74/759.", ["A/74/759"]),
    ("https://undocs.org/zh/A/74/759", []),      # glued to a URL's '/': not cited in the text
    ("XA/74/759", ["XA/74/759"]),               # the organ takes every capital before the slash
    ("第72/278号决议", []),                      # a number, not a symbol (entities turns it into one)
    ("A/HRC 和 UN/DESA", []),
    ("没有斜线的段落", []),
])
def test_symbols_in_running_text(text, found):
    assert [m.group(0) for m in find_symbols(text)] == found


def test_symbols_in_running_text_keep_their_offsets():
    text = "见 FCCC/CP/2015/10/Add.1，附件。"
    (m,) = find_symbols(text)
    assert text[m.start():m.end()] == "FCCC/CP/2015/10/Add.1"


@pytest.mark.parametrize("text", [
    "见A/74/759。", "(A/74/L.85和A/74/L.85/Add.1)", "S/RES/2334 (2016)和S/RES/1325(2000)",
    "ICCD/COP(14)/23；E/CN.6/2020/1", "A/ES-10/L.22.", "A/74/759 (2020)", "没有", "A/HRC 与 N/A",
])
def test_polars_reads_the_pattern_as_python_does(text):
    """SYMBOL has no look-around, so the statistics (Polars, Rust regex) find what re finds."""
    in_polars = pl.Series([text]).str.extract_all(SYMBOL).to_list()[0]
    assert in_polars == re.findall(SYMBOL, text)


# --- helpers ----------------------------------------------------------------------------------

def test_resolution_symbols():
    assert ga_resolution_symbol("74/303") == "A/RES/74/303"
    assert sc_resolution_symbol("2334", "2016") == "S/RES/2334 (2016)"
    assert symbol_key("S/RES/2334 (2016)") == "S/RES/2334(2016)" == symbol_key("S/RES/2334(2016)")
    assert is_symbol(ga_resolution_symbol("74/303")) and is_symbol(sc_resolution_symbol(2334, 2016))


@pytest.mark.parametrize("symbol, session", [
    ("A/74/759", 74), ("A/RES/74/304", 74), ("A/DEC/74/555", 74), ("A/74/L.85/Add.1", 74),
    ("A/HRC/38/25", None), ("S/RES/2334 (2016)", None), ("E/2020/1", None), ("", None), (None, None),
])
def test_session_of_symbol(symbol, session):
    assert session_of_symbol(symbol) == session


@pytest.mark.parametrize("number, kind, context, symbol", [
    ("72/278", "决议", "根据大会", "A/RES/72/278"),
    ("57/32", "决定", "大会", "A/DEC/57/32"),
    ("38/25", "决议", "人权理事会", "A/HRC/RES/38/25"),
    ("2019/15", "决议", "", "E/RES/2019/15"),
    ("1/CP.21", "决定", "", "1/CP.21"),
])
def test_resolution_symbol_of_a_cited_number(number, kind, context, symbol):
    assert resolution_symbol(number, kind, context) == symbol


def test_spaced_symbol_is_one_entity_id():
    from pipeline.lib.entities.tagger import _doc_candidates

    ids = {c.entity_id for c in _doc_candidates("安全理事会S/RES/2334 (2016)和第2334(2016)号决议",
                                                  para_kind=None, own_symbol=None, doc_type=None)}
    assert ids == {"doc:S/RES/2334(2016)"}


# --- repetition adverbs -----------------------------------------------------------------------

def test_adverbs_are_longest_first_and_the_statistics_use_them():
    assert list(REPETITION_ADVERBS) == sorted(REPETITION_ADVERBS, key=len, reverse=True)
    assert stats.VERB_PREFIX == "^(" + "|".join(REPETITION_ADVERBS) + ")"


def _verb_base(verbs: list[str]) -> list[str]:
    paragraphs = pl.DataFrame({"doc_id": ["d"] * len(verbs), "seq": list(range(len(verbs))),
                               "operative_verb": verbs})
    documents = pl.DataFrame({"doc_id": ["d"], "symbol": ["A/RES/74/304"]})
    return stats.operative_verbs(paragraphs, documents).get_column("verb_base").to_list()


@pytest.mark.parametrize("verb, base", [
    ("又鼓励", "鼓励"), ("再次重申", "重申"), ("进一步请", "请"), ("还请", "请"), ("并请", "请"),
    ("也欢迎", "欢迎"), ("鼓励", "鼓励"), ("重申", "重申"), ("表示注意到", "表示注意到"),
])
def test_verb_base_drops_the_adverb(verb, base):
    assert _verb_base([verb]) == [base]


@pytest.mark.parametrize("adverb", REPETITION_ADVERBS)
def test_parser_and_statistics_agree_on_each_adverb(adverb):
    """Whatever adverb the parser keeps on a verb, the statistics strip, and only that."""
    assert operative_verb(f"3. {adverb}重申其承诺") == f"{adverb}重申"
    assert _verb_base([f"{adverb}重申"]) == ["重申"]


# --- the content key --------------------------------------------------------------------------

def test_content_key_is_one_function():
    sha, sidecar = "a" * 64, "b" * 64
    assert stamps.content_key is content_key
    source = Source(doc_id="d", path=Path("d.txt"), sidecar=None, sha256=sha, size=1, sidecar_sha256=sidecar)
    assert source.content_key == content_key(sha, sidecar)
    # the stamps on disk were keyed this way: the value must not change
    assert content_key(sha, None) == content_key(sha, "") == \
        "e4c3a8e648e226056f43e4ec1b8c6d800d344398d447037c1028b08524a58c6f"
    assert content_key(sha, sidecar) == "6173cf9d3267e6b926102c8b149812658d05d834916fd23f7451c48c888147ab"


# --- old-style numbers, meetings, corrigenda ----------------------------------------------------

@pytest.mark.parametrize("number, second, symbol", [
    ("四十六", "一九四八", "S/RES/46 (1948)"),
    ("48", "1948", "S/RES/48 (1948)"),
    ("三九六", "五", "A/RES/396 (V)"),
    ("二0二五", "二十", "A/RES/2025 (XX)"),
    ("一六六八", "十六", "A/RES/1668 (XVI)"),
    ("四十六", "三千", None),
])
def test_old_style_resolution_numbers(number, second, symbol):
    assert un_symbols.old_resolution_symbol(number, second) == symbol


@pytest.mark.parametrize("organ, number, session, record", [
    ("S", 4872, None, "S/PV.4872"), ("A", 63, 74, "A/74/PV.63"), ("A", 63, None, None), ("E", 5, 2020, None),
])
def test_a_meeting_is_named_by_its_record(organ, number, session, record):
    assert un_symbols.meeting_record(organ, number, session) == record


@pytest.mark.parametrize("symbol, organ, session", [
    ("S/RES/368 (1975)", "S", None), ("A/RES/74/304", "A", 74), ("A/RES/2159 (XXI)", "A", 21),
    ("E/2020/1", None, None), (None, None, None),
])
def test_organ_and_session_of_a_symbol(symbol, organ, session):
    assert un_symbols.organ_of_symbol(symbol) == organ
    assert un_symbols.session_of_symbol(symbol) == session


def test_symbol_key_reads_a_letter_l_after_rev_as_one():
    assert un_symbols.symbol_key("A/54/L.81/Rev.l") == "A/54/L.81/Rev.1"
    assert un_symbols.symbol_key("A/54/L.81/Rev.1") == "A/54/L.81/Rev.1"
