"""Properties over generated text and bytes (hypothesis).

Cleaning and segmentation never raise, never lose or invent a content character, and every
table keeps clean_text[char_start:char_end] == text. Random bytes given to ingestion give a
quarantine entry, or a document when they happen to be text.
"""
from __future__ import annotations

import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings, strategies as st

from pipeline.lib import chain, invariants, runner, stamps
from pipeline.lib.corpus import assemble
from pipeline.lib.document import process_document
from pipeline.schemas import PARAGRAPHS, SENTENCES, TOKENS, ENTITIES

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The reasons of the README's "When something goes wrong", those of the PDF and Word readers included.
REASONS = {"empty", "binary", "undecodable", "truncated", "too_large", "bad_sidecar", "duplicate", "not_chinese",
           "markup", "corrupt", "encrypted", "no_text_layer", "unsupported_format"}

def has_han(text: str) -> bool:
    """A Chinese character by Unicode's own names (unassigned code points are not)."""
    return any(unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))
               for ch in text)

# What cleaning drops or rewrites by design: invisible characters go, layout spaces become
# spaces, full-width digits and Latin letters become ASCII.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
LAYOUT = "\u00a0\u2002\u2003\u2009\u202f\u3000\t\f\v"


def content(text: str) -> Counter:
    """The multiset of content characters, as cleaning is meant to keep them."""
    out = Counter()
    for ch in text:
        if ch in ZERO_WIDTH or ch in LAYOUT or ch.isspace():
            continue
        code = ord(ch)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
            ch = chr(code - 0xFEE0)
        out[ch] += 1
    return out


# --- generated documents -----------------------------------------------------------------

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
COMMON = st.sampled_from(list("联合国大会议员国家秘书长报告决议鼓励欢迎促请发展可持续目标妇女和平安全的在了与及"))
PUNCTUATION = st.sampled_from(list("，。、；：！？“”‘’（）《》【】—…·,.;:!?()\"'-/%％＋"))
NUMBERS = st.from_regex(r"[0-9]{1,4}|[０-９]{1,3}|[0-9]{1,2}/[0-9]{1,3}|A/[0-9]{2}/[0-9]{3}", fullmatch=True)
LATIN = st.from_regex(r"[A-Za-z]{1,8}|[Ａ-Ｚａ-ｚ]{1,4}", fullmatch=True)
ODD = st.sampled_from(list(ZERO_WIDTH + LAYOUT + "¹²³⁴⁵⁶⁷⁸⁹ \u3000"))
WORD = st.one_of(CJK, COMMON, COMMON, PUNCTUATION, NUMBERS, LATIN, ODD)
PHRASE = st.lists(WORD, min_size=1, max_size=12).map("".join)


@st.composite
def markup(draw) -> tuple[str, str]:
    """(markup as it appears, the characters cleaning removes from it by design)."""
    words = draw(st.lists(st.one_of(CJK, COMMON, NUMBERS), min_size=1, max_size=4).map("".join))
    if draw(st.booleans()):
        return f"**{words}**", "****"
    target = draw(st.sampled_from(["#", "", "https://undocs.org/A/74/759", "#fn1"]))
    return f"[{words}]({target})", f"[]({target})"


@st.composite
def paragraph(draw) -> tuple[str, str]:
    parts, removed = [], []
    prefix = draw(st.sampled_from(["", "", "1. ", "12. ", "(a) ", "（b）", "二. ", "A. ", "第三条", "¹ ",
                                   "2020 年 9 月 4 日", "第 63 次全体会议", "大会，", "\u3000\u3000"]))
    parts.append(prefix)
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 4)) == 0:
            text, gone = draw(markup())
            parts.append(text)
            removed.append(gone)
        else:
            parts.append(draw(PHRASE))
    parts.append(draw(st.sampled_from(["", "。", "，", "；", "：", "¹", "。²"])))
    return "".join(parts), "".join(removed)


@st.composite
def document(draw) -> tuple[str, str]:
    """A text shaped like the UN exports: paragraphs, hard line breaks, page-break cuts with
    footnote bodies in between, mixed line endings. Returns (text, markup removed by design)."""
    blocks, removed = [], []
    for _ in range(draw(st.integers(1, 8))):
        text, gone = draw(paragraph())
        removed.append(gone)
        cut = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["whole", "whole", "line-break", "page-break", "page-break-footnote"]))
        if kind == "line-break":
            text = text[:cut] + "\n" + text[cut:]
        elif kind == "page-break":
            text = text[:cut] + "\n\n" + text[cut:]
        elif kind == "page-break-footnote":
            note = draw(st.sampled_from(["¹ 第 60/1 号决议。", "² A/51/402，附件。", "³ 见 A/74/759。"]))
            text = text[:cut] + "\n\n" + note + "\n\n" + text[cut:]
        blocks.append(text)
    separator = draw(st.sampled_from(["\n\n", "\n\n\n", "\n \n", "\n\u3000\n"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return separator.join(blocks).replace("\n", newline), "".join(removed)


def control_characters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")


def check_document(text: str, removed_by_design: str, *, with_entities: bool) -> None:
    result = process_document(text, source_file="generated.txt", doc_id="generated", with_entities=with_entities)
    # The chain reads the text as a file: only a text that is not one is set aside, with its reason.
    aside = [w for w in result.warnings if w.startswith("quarantined (")]
    if aside:
        letters = [ch for ch in text if ch.isalnum()]
        assert (aside[0].startswith("quarantined (binary)") and ("\x00" in text or control_characters(text) > 8)
                or aside[0].startswith("quarantined (empty)") and not letters
                or aside[0].startswith("quarantined (not_chinese)") and not has_han(text)
                or aside[0].startswith("quarantined (markup)") and "<" in text), aside
        assert not (result.paragraphs or result.sentences or result.tokens or result.entities)
        return
    clean_text = result.doc["clean_text"]
    texts = {"generated": clean_text}

    # Nothing invented, and what went missing is only the markup that cleaning removes by design.
    source, cleaned = content(text), content(clean_text)
    assert not cleaned - source, f"characters added: {cleaned - source}"
    assert not (source - cleaned) - Counter(removed_by_design), f"characters lost: {(source - cleaned)}"

    # Every table keeps the offset invariant.
    tables = {"paragraphs": (result.paragraphs, PARAGRAPHS), "sentences": (result.sentences, SENTENCES),
              "tokens": (result.tokens, TOKENS), "entities": (result.entities, ENTITIES)}
    for name, (rows, schema) in tables.items():
        table = pa.Table.from_pylist(rows) if rows else None
        if table is not None:
            passed, details = invariants.offsets_hold(table, texts)
            assert passed, (name, details)

    # Segmentation loses nothing: paragraphs cover clean_text, sentences their paragraph,
    # tokens their sentence (white space aside).
    assert content("".join(p["text"] for p in result.paragraphs)) == cleaned
    for para in result.paragraphs:
        sentences = [s["text"] for s in result.sentences if s["para_id"] == para["para_id"]]
        assert content("".join(sentences)) == content(para["text"]), para["para_id"]
    by_sentence: dict[str, list[str]] = {}
    for token in result.tokens:
        by_sentence.setdefault(token["sent_id"], []).append(token["text"])
    for sent in result.sentences:
        assert content("".join(by_sentence.get(sent["sent_id"], []))) == content(sent["text"]), sent["sent_id"]
    assert invariants.unique(pa.Table.from_pylist(result.paragraphs or [{"para_id": "x"}]), "para_id")[0]
    assert invariants.unique(pa.Table.from_pylist(result.sentences or [{"sent_id": "x"}]), "sent_id")[0]


@PROPERTY
@given(document())
def test_generated_un_like_documents(doc):
    text, removed = doc
    check_document(text, removed, with_entities=True)


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_unicode_text(text):
    check_document(text, "", with_entities=False)


@settings(max_examples=20, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("联合国，。 \n\r\t\u3000\u200b*[]()#¹²1.(a)")), max_size=200))
def test_text_made_of_the_characters_cleaning_treats_specially(text):
    # Markup may be formed by chance here; its characters are the only ones allowed to go.
    check_document(text, "*" * text.count("*") + "[]()#" * len(text), with_entities=True)


# --- fuzzing ingestion with bytes -----------------------------------------------------------

@st.composite
def byte_inputs(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "random", "encoded", "encoded-cut", "magic", "bom"]))
    if kind == "random":
        return draw(st.binary(max_size=2000))
    text = draw(document())[0]
    if kind in ("encoded", "encoded-cut"):
        encoding = draw(st.sampled_from(["utf-8", "gb18030", "utf-16", "utf-16-le", "big5", "cp1252"]))
        data = text.encode(encoding, errors="ignore")
        if kind == "encoded-cut" and data:
            data = data[: draw(st.integers(0, len(data) - 1))]
        return data
    if kind == "magic":
        head = draw(st.sampled_from([b"%PDF-1.4", b"PK\x03\x04", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"\x1f\x8b"]))
        return head + draw(st.binary(max_size=500))
    bom = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]))
    return bom + draw(st.one_of(st.binary(max_size=500), st.just(text.encode("utf-8"))))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(byte_inputs())
def test_random_bytes_give_a_quarantine_entry_or_a_document(data):
    with tempfile.TemporaryDirectory() as tmp:
        seeds, work = Path(tmp) / "seeds", Path(tmp) / "data"
        seeds.mkdir()
        (seeds / "fuzz.txt").write_bytes(data)
        outcomes = runner.run_documents(["fuzz"], data_dir=work, seeds_dir=seeds)["fuzz"]
        # Either way every stage runs: nothing is raised, whatever the bytes.
        assert not [o.detail for o in outcomes.values() if o.status == "failed"]
        row = chain.read_raw(work, "fuzz", text=True)
        if row["status"] == "quarantined":
            assert row["reason"] in REASONS
            assert row["detail"].startswith("fuzz.txt: ")
            assert row["text"] == ""
        else:
            assert row["status"] == "ok" and row["reason"] is None
            assert row["encoding"] and 0 < row["encoding_confidence"] <= 1
            assert row["text"].strip(ZERO_WIDTH + " \t\r\n")
        # And the release assembles.
        stamps.write_stamp(work, "fuzz", chain.NAMES, "fuzz")
        corpus = assemble(work, ["fuzz"])
        assert not corpus.warnings
        tables = corpus.tables()
        if row["status"] == "quarantined":
            assert tables["quarantine"].num_rows == 1 and tables["documents"].num_rows == 0
            assert corpus.status.select(["status", "reason"]).to_pylist() == [
                {"status": "quarantined", "reason": row["reason"]}]
        else:
            assert tables["quarantine"].num_rows == 0 and tables["documents"].num_rows == 1
            assert corpus.status.column("status").to_pylist() == ["ok"]
            texts = {"fuzz": tables["documents"].read().column("clean_text")[0].as_py()}
            for name in ("paragraphs", "sentences", "tokens", "entities"):
                assert invariants.offsets_hold(tables[name].read(), texts)[0], name
