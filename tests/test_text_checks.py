"""Text that is not what it claims (issue 14, item 10), sentences of bounded length, inputs
escaped in the data card, release notes bounded per document.

Unit tier: each case decodes bytes (pipeline.lib.text.ingest.decode_bytes) or runs the real
per-document stages (pipeline.lib.runner) on a tmp folder; the card is rendered from a hand-made
context (tests/test_release_metadata.py's card_context).
"""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest
from markdown_it import MarkdownIt

from pipeline import schemas
from pipeline.lib import chain, runner
from pipeline.lib.text import tokens as tokens_lib
from pipeline.lib.text.ingest import Rejected, decode_bytes
from pipeline.lib.release.provenance import NOTES_PER_DOCUMENT, release_notes
from pipeline.lib.release.card import data_card
from pipeline.lib.text.sentences import MAX_SENTENCE_CHARS, split_sentences
from pipeline.lib.workdir import read_work
from conftest import REPORT_FILE
from test_release_metadata import card_context

# The opening of a UN report in traditional characters (as Taiwan and Hong Kong write them).
TRADITIONAL = (
    "聯合國大會\n\n第七十四屆會議\n\n議程項目125\n\n"
    "聯合國與各國議會和各國議會聯盟之間的互動\n\n秘書長的報告\n\n"
    "1. 大會在第72/278號決議中，鼓勵聯合國與各國議會聯盟之間進一步合作，"
    "並請秘書長向大會第七十四屆會議提交報告。\n"
)
SIMPLIFIED = REPORT_FILE.read_text("utf-8")[:1500]


def run(tmp_path: Path, files: dict[str, bytes], stages=chain.NAMES[:1]) -> dict[str, dict]:
    """Run the stages on a seeds folder of `files`: {file name: its raw row and documents row}."""
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    for name, content in files.items():
        (seeds / name).write_bytes(content)
    located = chain.locate_sources(seeds)
    outcomes = runner.run_documents(list(located), stages, data_dir=data, seeds_dir=seeds)
    assert not [o.detail for by_stage in outcomes.values() for o in by_stage.values() if o.status == "failed"]
    out = {}
    for doc_id, (source, _) in located.items():
        out[source.path.name] = {"raw": chain.read_raw(data, doc_id),
                                 "doc": read_work(data, "documents", doc_id).to_pylist()[0],
                                 "sentences": read_work(data, "sentences", doc_id).num_rows}
    return out


# --- language from the text ------------------------------------------------------------------

def test_language_is_the_script_of_the_text_and_a_sidecar_still_wins(tmp_path):
    got = run(tmp_path, {
        "big5.txt": TRADITIONAL.encode("big5"),
        "traditional_utf8.txt": TRADITIONAL.encode("utf-8"),
        "simplified.txt": SIMPLIFIED.encode("utf-8"),
        "declared.txt": TRADITIONAL.encode("utf-8") + "\n2. 附加。\n".encode(),
        "declared.meta.json": json.dumps({"language": "zh-TW"}).encode(),
    })
    assert {name: row["doc"]["language"] for name, row in got.items()} == {
        "big5.txt": "zh-Hant",  # decoded from Big5: traditional by construction
        "traditional_utf8.txt": "zh-Hant",  # its characters say so
        "simplified.txt": "zh-Hans",
        "declared.txt": "zh-TW",  # the sidecar's
    }
    assert all(row["raw"]["status"] == "ok" for row in got.values())


def test_a_simplified_text_quoting_a_traditional_name_stays_simplified():
    from pipeline.lib.text.ingest import text_language

    # 們/們, 國/国… count; characters both scripts write alike (的, 大, 台) count for neither.
    assert text_language(SIMPLIFIED + "（台灣的「國立故宮博物院」）") == "zh-Hans"
    assert text_language("大会的台") == "zh-Hans"  # no evidence either way: the corpus's default
    assert text_language("聯合國大會") == "zh-Hant"
    assert text_language("大会的台", "big5") == "zh-Hant"


# --- no Chinese, no words, markup -----------------------------------------------------------

def test_a_file_without_chinese_is_set_aside_as_not_chinese(tmp_path):
    english = b"United Nations General Assembly\n\n1. Welcomes the report of the Secretary-General.\n"
    with pytest.raises(Rejected) as info:
        decode_bytes(english, name="english.txt")
    assert info.value.reason == "not_chinese"
    assert info.value.detail.startswith("english.txt: ") and "no Chinese characters" in info.value.detail
    got = run(tmp_path, {"english.txt": english, "chinese.txt": SIMPLIFIED.encode()})
    assert (got["english.txt"]["raw"]["status"], got["english.txt"]["raw"]["reason"]) == ("quarantined", "not_chinese")
    assert got["english.txt"]["sentences"] == 0
    assert got["chinese.txt"]["raw"]["status"] == "ok" and got["chinese.txt"]["sentences"] > 10


def test_a_file_of_punctuation_only_is_empty_not_4001_sentences(tmp_path):
    with pytest.raises(Rejected) as info:
        decode_bytes("。".encode() * 4001, name="stops.txt")
    assert info.value.reason == "empty" and info.value.detail.startswith("stops.txt: ")
    got = run(tmp_path, {"stops.txt": "。".encode() * 4001, "mixed.txt": "，。…——！？“”\n《》、；：\n".encode() * 50})
    for row in got.values():
        assert (row["raw"]["status"], row["raw"]["reason"], row["sentences"]) == ("quarantined", "empty", 0)


HTML_PAGE = ("<!DOCTYPE html>\n<html lang=\"zh\"><head><title>报告</title></head><body>\n"
             + "".join(f"<p>{i}. 大会欢迎秘书长的报告。</p>\n" for i in range(1, 6)) + "</body></html>\n")


@pytest.mark.parametrize("text", [
    pytest.param(HTML_PAGE, id="doctype"),
    pytest.param(HTML_PAGE.split("\n", 1)[1], id="html-element"),
])
def test_a_web_page_saved_as_text_is_read_as_html(text):
    # By content, not by name: a whole page (a doctype or an <html> element) is read as HTML,
    # its paragraphs kept and its head (the <title>) left out.
    decoded = decode_bytes(text.encode(), name="page.txt")
    assert decoded.source_format == "html"
    assert decoded.text == "\n\n".join(f"{i}. 大会欢迎秘书长的报告。" for i in range(1, 6)) + "\n"


@pytest.mark.parametrize("text, found", [
    pytest.param("".join(f"<div class=\"para\"><span>{i}. 大会欢迎报告。</span></div>\n" for i in range(8)),
                 "at least 10 HTML tags, the first <div>", id="many-tags"),
    pytest.param("<p>大会欢迎报告。</p><p>请秘书长。</p>", "4 HTML tags, the first <p>", id="short-fragment"),
])
def test_an_html_fragment_saved_as_text_is_set_aside_as_markup(text, found):
    with pytest.raises(Rejected) as info:
        decode_bytes(text.encode(), name="page.txt")
    assert info.value.reason == "markup"
    assert info.value.detail == (f"page.txt: HTML ({found}), not plain text: "
                                 "save the whole web page (it is read as HTML), or export the text")


def test_a_text_that_mentions_a_tag_or_two_is_not_markup():
    text = SIMPLIFIED + "\n\n2. 在网页中，换行写作 <br>，段落写作 <p>。\n"
    assert decode_bytes(text.encode(), name="report.txt").text == text


# --- sentences of bounded length ---------------------------------------------------------------

def test_a_long_line_is_cut_at_comma_like_marks_else_at_the_limit():
    line = ("各国议会联盟" * 30 + "，") * 20 + "联合国" * 2000  # commas every 181 characters, then none
    text = "前言。\n" + line
    paragraphs = [{"para_id": "d:p1", "char_start": 0, "char_end": 3},
                  {"para_id": "d:p2", "char_start": 4, "char_end": len(text)}]
    sentences = split_sentences(text, paragraphs)
    assert sentences[0]["text"] == "前言。" and sentences[0]["sent_id"] == "d:p1.s1"
    long = sentences[1:]
    assert all(len(s["text"]) <= MAX_SENTENCE_CHARS for s in long)
    assert all(text[s["char_start"]:s["char_end"]] == s["text"] for s in sentences)
    assert "".join(s["text"] for s in long) == line  # nothing lost, nothing repeated
    # Where there is a comma within reach, a piece ends on it; after the last, at the limit.
    with_commas = [s for s in long if s["char_end"] - 4 <= line.rindex("，") + 1]
    assert all(s["text"].endswith("，") for s in with_commas) and len(with_commas) == 4
    assert [len(s["text"]) for s in long[len(with_commas):]] == [1000] * 6
    assert [s["sent_id"] for s in long] == [f"d:p2.s{k}" for k in range(1, len(long) + 1)]


def test_a_sentence_at_the_limit_is_not_cut():
    text = "联" * (MAX_SENTENCE_CHARS - 1) + "。" + "合国。"
    sentences = split_sentences(text, [{"para_id": "d:t1", "char_start": 0, "char_end": len(text)}])
    assert [len(s["text"]) for s in sentences] == [MAX_SENTENCE_CHARS, 3]


def test_a_two_million_character_line_never_reaches_the_tokenizer_whole(tmp_path, monkeypatch):
    calls: list[int] = []

    def recording_tagger(backend=None):
        def tag(text):
            calls.append(len(text))
            return [(text, "x")]  # one token a sentence: the test is about the calls
        return tag

    monkeypatch.setattr(tokens_lib, "tagger", recording_tagger)
    line = "联合国大会" * 400_000  # 2,000,000 characters, no punctuation
    got = run(tmp_path, {"long.txt": (line + "\n").encode()}, stages=chain.NAMES[:2])["long.txt"]
    assert got["raw"]["status"] == "ok"
    assert got["sentences"] == len(calls) == 2000
    assert max(calls) == MAX_SENTENCE_CHARS and sum(calls) == len(line)


# --- the data card escapes everything from the inputs ------------------------------------------

class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


HOSTILE_TITLE = "<script>alert(1)</script>报告\x00\x07 **粗体** [点击](javascript:alert(1)) ~删除~ `代码`"
HOSTILE_SYMBOL = "<img src=x onerror=alert(1)>"


def test_values_from_the_inputs_are_escaped_in_the_data_card():
    context = card_context(busy=True)
    documents = context["documents"]
    documents[0].update(title=HOSTILE_TITLE, symbol=HOSTILE_SYMBOL, doc_type="# heading |")
    documents.append({"doc_id": "002_c", "symbol": "A/1](javascript:alert(1))", "title": None})
    context["examples"]["stats_sdgs"] = {"goal": 1, "title_zh": "```\n<script>alert(1)</script>\u202e"}
    context["settings"]["maintainers"] = ["<b>Ann</b>", "[x](http://evil)"]
    context["settings"]["contact"] = "<img src=x onerror=alert(1)>"
    context["inputs"].append({"source_file": "<b>`x`</b>\x00.txt", "sha256": "a" * 64, "bytes": 3})
    context["notes"] = [f"{HOSTILE_SYMBOL}: declared title {HOSTILE_TITLE!r} differs", "- [x](http://evil)"]
    context["changes"]["documents"]["added"][0]["symbol"] = "<iframe src=//evil>"
    card = data_card(context)
    assert "\x00" not in card and "\x07" not in card
    for raw in ("<script", "<img", "<iframe"):
        assert raw not in card
    # Rendered by a renderer that passes raw HTML through (GitHub's sanitises; others do not;
    # markdown-it-py comes with Dagster, through rich):
    # no element from the inputs, and their text shown as it was written.
    html = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(card)
    parsed = _Elements()
    parsed.feed(html)
    tags = {tag for tag, _ in parsed.elements}
    assert "script" not in tags and "iframe" not in tags and "del" not in tags and "s" not in tags
    assert all(attrs.get("src", "").startswith("charts/") for tag, attrs in parsed.elements if tag == "img")
    # The only links are those the card makes: the UN's copy of each document, its symbol escaped.
    links = [attrs["href"] for tag, attrs in parsed.elements if tag == "a"]
    assert links == ["https://undocs.org/zh/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E",
                     "https://undocs.org/zh/A/1%5D%28javascript%3Aalert%281%29%29"]
    shown = "".join(parsed.text)
    # An example record is a code block of JSON: < > and the invisible override as JSON escapes.
    assert '"title_zh": "```\\n\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u202e"' in shown
    assert "<script>alert(1)</script>报告 **粗体** [点击](javascript:alert(1)) ~删除~ `代码`" in shown
    assert HOSTILE_SYMBOL in shown and "<iframe src=//evil>" in shown and "# heading |" in shown
    assert "<b>`x`</b>.txt" in shown
    assert "Maintained by <b>Ann</b>, [x](http://evil)." in shown and "<img src=x onerror=alert(1)>." in shown


# --- release notes bounded per document -------------------------------------------------------

def _documents(rows: list[dict]) -> pa.Table:
    schema = pa.schema([schemas.DOCUMENTS.field(n) for n in ("doc_id", "symbol", "warnings")])
    return pa.Table.from_pylist(rows, schema=schema)


def test_release_notes_are_bounded_per_document():
    repeats = [f"paragraph id A/74/759:p{i} repeats; the later one is A/74/759:p{i}~{i + 7}" for i in range(30_000)]
    documents = _documents([
        {"doc_id": "big", "symbol": "A/74/759", "warnings": repeats + ["A/74/759:fn3: no marker in the text cites "
                                                                       "this footnote"]},
        {"doc_id": "small", "symbol": None, "warnings": ["no recognisable UN structure", "another"]},
    ])
    quarantine = pa.Table.from_pylist([{"source_file": "x.txt", "reason": "empty", "detail": "x.txt: empty"}])
    notes = release_notes(documents, quarantine)
    big = [n for n in notes if n.startswith("A/74/759: ")]
    assert big[:NOTES_PER_DOCUMENT] == [f"A/74/759: {w}" for w in repeats[:NOTES_PER_DOCUMENT]]
    assert big[NOTES_PER_DOCUMENT:] == [
        "A/74/759: … and 29,995 more of the same kind: paragraph id … repeats; the later one is …",
        "A/74/759: … and 1 more of the same kind: … no marker in the text cites this footnote"]
    assert [n for n in notes if n.startswith("small: ")] == ["small: no recognisable UN structure", "small: another"]
    assert notes[-1] == "quarantined x.txt (empty): x.txt: empty"
    context = card_context(busy=True)
    context["notes"] = notes
    assert len(data_card(context).encode()) < len(data_card(card_context(busy=True)).encode()) + 2_000
