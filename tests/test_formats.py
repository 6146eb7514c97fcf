"""PDF, Word and HTML as the UN publishes them: read by content, their masthead into metadata,
page furniture out, paragraphs whole and the same as the text seeds', footnotes linked, and
bad files set aside with their reason. The documents are generated (tests/un_layout.py)."""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

import un_layout
from conftest import A_RES_61_211_FILE, REPORT_FILE, RESOLUTION_FILE
from pipeline.lib import chain, runner
from pipeline.lib.text import formats, masthead
from pipeline.lib.text.ingest import Rejected, decode_bytes
from pipeline.lib.workdir import read_work
from pipeline.schemas import SOURCE_FORMATS

WRITERS = {"pdf": un_layout.typeset_pdf, "docx": un_layout.typeset_docx, "html": un_layout.typeset_html}
SEEDS = {"report": (REPORT_FILE, un_layout.REPORT), "resolution": (RESOLUTION_FILE, un_layout.RESOLUTION)}
# What a paragraph is, beside its offsets: what must come out of every format as from the text.
SAME = ("local", "kind", "number", "section", "subsection", "heading", "operative_verb", "text", "refs", "cited_by")


def run_documents_stage(folder: Path, data: Path) -> dict[str, dict]:
    """The documents stage (the chain's own) on every file of a folder: by file name, the
    raw row, the documents row and the paragraphs."""
    located = chain.locate_sources(folder)
    runner.run_documents(sorted(located), ("documents",), data_dir=data, seeds_dir=folder)
    out = {}
    for doc_id, (source, _) in located.items():
        raw = read_work(data, "raw", doc_id).to_pylist()[0]
        docs = read_work(data, "documents", doc_id).to_pylist()
        paragraphs = read_work(data, "paragraphs", doc_id).to_pylist()
        out[source.path.name] = {"raw": raw, "doc": docs[0] if docs else None, "paragraphs": paragraphs}
    return out


def comparable(paragraphs: list[dict]) -> list[dict]:
    """The body and footnotes (front matter differs: a masthead is printed only in the formats)."""
    def local(para_id):  # an id without its document's prefix (a list of them too)
        if isinstance(para_id, list):
            return [local(one) for one in para_id]
        return para_id.split(":", 1)[1] if para_id else None

    return [{"local": local(p["para_id"]), "kind": p["kind"], "number": p["number"], "section": p["section"],
             "subsection": p["subsection"], "heading": p["heading"], "operative_verb": p["operative_verb"],
             "text": p["text"], "refs": local(p["footnote_refs"]), "cited_by": local(p["cited_by"])}
            for p in paragraphs if p["kind"] != "front_matter"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, dict]:
    """The report and the resolution as text (no sidecar) and as PDF, DOCX and HTML, through the
    documents stage."""
    folder = tmp_path_factory.mktemp("seeds")
    for name, (seed, head) in SEEDS.items():
        (folder / f"{name}.txt").write_bytes(seed.read_bytes())
        paras = un_layout.seed_layout(seed)
        for fmt, write in WRITERS.items():
            write(paras, head, folder / f"{name}.{fmt}")
    return run_documents_stage(folder, tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("fmt", ["pdf", "docx", "html"])
@pytest.mark.parametrize("name", ["report", "resolution"])
def test_every_format_gives_the_text_seeds_paragraphs(built, name, fmt):
    text, other = built[f"{name}.txt"], built[f"{name}.{fmt}"]
    assert other["raw"]["status"] == "ok", other["raw"]["detail"]
    assert other["doc"]["source_format"] == fmt
    assert comparable(other["paragraphs"]) == comparable(text["paragraphs"])
    kinds = [p["kind"] for p in other["paragraphs"]]
    if name == "report":
        numbered = [p["number"] for p in other["paragraphs"] if p["kind"] == "numbered" and p["number"]]
        assert numbered == [str(n) for n in range(1, 72)]
        assert kinds.count("heading") >= 5 + 10 and kinds.count("list_item") >= 6
    else:
        assert (kinds.count("preambular"), kinds.count("operative"), kinds.count("footnote")) == (18, 24, 9)
        assert all(p["cited_by"] for p in other["paragraphs"] if p["kind"] == "footnote")
    text_of = other["doc"]["clean_text"]
    assert all(text_of[p["char_start"]:p["char_end"]] == p["text"] for p in other["paragraphs"])


@pytest.mark.parametrize("fmt", ["pdf", "docx", "html"])
@pytest.mark.parametrize("name", ["report", "resolution"])
def test_the_masthead_gives_the_metadata_without_a_sidecar(built, name, fmt):
    doc = built[f"{name}.{fmt}"]["doc"]
    head = SEEDS[name][1]
    assert doc["symbol"] == head.symbol and doc["provenance"]["symbol"] == "text"
    assert (doc["session"], doc["agenda_item"]) == (74, "125")
    assert doc["date"] == ("2020-04-02" if name == "report" else "2020-09-04")  # a resolution's: its adoption
    assert (doc["distribution"], doc["original_language"]) == ("General", "en")
    assert doc["provenance"]["original_language"] == "text"
    if fmt != "html":  # the job number is printed on paper (the first page's foot), not on the web page
        assert doc["job_number"] == f"{head.job_number} (C)"
    assert doc["title"] and "互动" in doc["title"]
    assert doc["doc_type"] == name
    # The text seed itself prints no masthead: its symbol comes from nowhere without a sidecar.
    assert built[f"{name}.txt"]["doc"]["symbol"] in (None, "A/RES/74/303")


def test_page_furniture_is_gone_and_pages_are_recorded(built):
    pdf = built["report.pdf"]
    doc, paragraphs = pdf["doc"], pdf["paragraphs"]
    body = "\n".join(p["text"] for p in paragraphs if p["kind"] != "front_matter")
    pages = doc["pages"]
    assert pages > 5
    assert not re.search(r"\b\d{1,2}/%d\b" % pages, body), "a page number is left in the text"
    assert "20-05238" not in body and "*2005238*" not in body and "请回收" not in body
    assert "UNITED NATIONS" not in doc["clean_text"]  # the emblem's lettering
    assert doc["clean_text"].count("A/74/759") == 1  # the masthead's, not the running header's
    assert all(1 <= p["page_start"] <= p["page_end"] <= pages for p in paragraphs)
    split = [p for p in paragraphs if p["page_end"] > p["page_start"]]
    assert split, "the layout cuts paragraphs at page breaks: they come back whole, over two pages"
    assert all(p["joined_page_break"] for p in split)
    # Footnotes are printed at the foot of the page that cites them.
    resolution = {p["para_id"]: p for p in built["resolution.pdf"]["paragraphs"]}
    for note in (p for p in resolution.values() if p["kind"] == "footnote"):
        cited_by = note["cited_by"] if isinstance(note["cited_by"], list) else [note["cited_by"]]
        citing = resolution[cited_by[0]]
        assert citing["page_start"] <= note["page_start"] <= citing["page_end"]


def test_formats_without_fixed_pages_and_texts_without_form_feeds_have_none(built):
    for name in ("report.txt", "report.docx", "report.html"):
        assert built[name]["doc"]["pages"] is None
        assert {p["page_start"] for p in built[name]["paragraphs"]} == {None}
    assert built["report.txt"]["doc"]["source_format"] == "txt"


def test_form_feeds_give_a_texts_pages(tmp_path):
    """pdftotext writes a form feed between pages: a text with them has pages too."""
    pages = ["第七十四届会议\n\n1. 欢迎各国议会联盟的工作，并", "鼓励其继续努力。\n\n2. 请秘书长提交报告。\n"]
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "paged.txt").write_text("\f".join(pages) + "\f", encoding="utf-8")
    result = run_documents_stage(tmp_path / "seeds", tmp_path / "data")["paged.txt"]
    assert result["doc"]["pages"] == 2
    spans = {p["number"]: (p["page_start"], p["page_end"]) for p in result["paragraphs"] if p["number"]}
    assert spans == {"1": (1, 2), "2": (2, 2)}


def test_a_sidecar_still_wins_and_a_disagreement_is_a_warning(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    un_layout.typeset_pdf(un_layout.seed_layout(REPORT_FILE), un_layout.REPORT, seeds / "report.pdf")
    (seeds / "report.meta.json").write_text(json.dumps({"date": "2020-04-03", "source": "a test"}), "utf-8")
    doc = run_documents_stage(seeds, tmp_path / "data")["report.pdf"]["doc"]
    assert doc["date"] == "2020-04-03" and doc["provenance"]["date"] == "sidecar"
    assert doc["symbol"] == "A/74/759" and doc["provenance"]["symbol"] == "text"
    assert any("date" in w and "2020-04-02" in w for w in doc["warnings"])


def test_real_pdf_extracted_text_and_its_pdf_agree(tmp_path):
    """A/RES/61/211's operative part: real PDF-extracted text (hard line breaks, footnote numbers
    stuck to words) gives the same 19 operative paragraphs as a PDF printed from it."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "sample.txt").write_bytes(A_RES_61_211_FILE.read_bytes())
    head = un_layout.Masthead("A/RES/61/211", "大 会", "21 March 2007", "06-50558")
    un_layout.typeset_pdf(un_layout.seed_layout(A_RES_61_211_FILE), head, seeds / "sample.pdf")
    result = run_documents_stage(seeds, tmp_path / "data")
    text, pdf = result["sample.txt"], result["sample.pdf"]
    operative = [p for p in pdf["paragraphs"] if p["number"]]
    assert [p["number"] for p in operative] == [str(n) for n in range(1, 20)]
    assert "报告；6" in operative[0]["text"]  # the stuck footnote number, as the source prints it
    assert comparable(pdf["paragraphs"]) == comparable(text["paragraphs"])
    assert pdf["doc"]["symbol"] == "A/RES/61/211" and pdf["doc"]["date"] == "2007-03-21"


def test_formats_are_told_by_content_not_by_name(tmp_path):
    paras = un_layout.seed_layout(RESOLUTION_FILE)
    un_layout.typeset_pdf(paras, un_layout.RESOLUTION, tmp_path / "a.txt")
    un_layout.typeset_docx(paras, un_layout.RESOLUTION, tmp_path / "b.pdf")
    un_layout.typeset_html(paras, un_layout.RESOLUTION, tmp_path / "c.docx")
    found = {name: decode_bytes((tmp_path / name).read_bytes(), name=name).source_format
             for name in ("a.txt", "b.pdf", "c.docx")}
    assert found == {"a.txt": "pdf", "b.pdf": "docx", "c.docx": "html"}
    assert formats.sniff(RESOLUTION_FILE.read_bytes()) == "txt"
    assert set(found.values()) | {"txt"} <= set(SOURCE_FORMATS)


def test_html_drops_scripts_styles_and_navigation(built):
    text = built["resolution.html"]["doc"]["clean_text"]
    assert "不是正文" not in text and "首页" not in text and "track()" not in text and "margin" not in text


def test_a_web_page_in_its_declared_encoding_with_tables_and_line_breaks():
    page = ("<!-- 联合国 --><html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">"
            "<title>标题</title></head><body><nav><a>首页</a></nav><div><h1>秘书长的报告</h1>"
            "<p>1. 大会欢迎<b>各国议会</b>联盟的工作，<br>并鼓励其继续努力。<sup>1</sup></p>"
            "<table><tr><td>会员国</td><td>议会</td></tr></table><p><sup>1</sup> 第 72/278 号决议。</p></div></body></html>")
    decoded = decode_bytes(page.encode("gb18030"), name="page.htm")
    assert (decoded.source_format, decoded.encoding) == ("html", "gb18030")
    assert decoded.text.split("\n\n") == ["秘书长的报告", "1. 大会欢迎各国议会联盟的工作， 并鼓励其继续努力。¹", "会员国",
                                          "议会", "¹ 第 72/278 号决议。\n"]


def test_the_masthead_reader():
    lines = ["联合国", "A/74/759", "大 会", "Distr.: General", "2 April 2020", "Chinese", "Original: French",
             "第七十四届会议", "20-05238 (C)    090420    090420", "*2005238*"]
    assert masthead.read(lines) == {"symbol": "A/74/759", "organ": "大会", "distribution": "General",
                                    "date": "2020-04-02", "original_language": "fr", "job_number": "20-05238 (C)"}
    assert masthead.read(["*2005238*"]) == {"job_number": "20-05238"}
    assert masthead.read(["31 February 2020", "Original: Klingon"]) == {}
    assert all(masthead.is_masthead_line(line) for line in lines if line != "第七十四届会议" and line != "A/74/759")
    assert not masthead.is_masthead_line("联合国与各国议会和各国议会联盟之间的互动")


def test_a_title_is_never_a_masthead_line(tmp_path):
    """A document with no kind line (秘书长的报告) takes its shortest plain front line as title:
    never 联合国, Chinese or another line only the masthead prints."""
    paras = [p for p in un_layout.seed_layout(REPORT_FILE) if p.text != "秘书长的报告"]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    un_layout.typeset_pdf(paras, un_layout.REPORT, seeds / "report.pdf")
    doc = run_documents_stage(seeds, tmp_path / "data")["report.pdf"]["doc"]
    assert doc["title"] == "联合国与各国议会和各国议会联盟之间的互动"


def test_word_numbering_is_written_out_as_printed(tmp_path):
    """Word's automatic numbers are not in a paragraph's text: the reader writes them out as Word
    prints them, levels restarting under a new item (1. (a) (b) 2. (a)), in Chinese counting too."""
    from docx import Document
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    doc = Document()
    numbering = doc.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {w} w:abstractNumId="77"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
        '<w:lvlText w:val="%1."/></w:lvl><w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/>'
        '<w:lvlText w:val="(%2)"/></w:lvl></w:abstractNum>'))
    numbering.insert(1, parse_xml(
        f'<w:abstractNum {w} w:abstractNumId="78"><w:lvl w:ilvl="0"><w:start w:val="11"/>'
        '<w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {w} w:numId="77"><w:abstractNumId w:val="77"/></w:num>'))
    numbering.append(parse_xml(f'<w:num {w} w:numId="78"><w:abstractNumId w:val="78"/></w:num>'))
    for level, num, text in ((0, 77, "大会欢迎报告。"), (1, 77, "第一项；"), (1, 77, "第二项。"), (0, 77, "请秘书长报告。"),
                             (1, 77, "另一项。"), (0, 78, "十一条。"), (0, 78, "十二条。")):
        p = doc.add_paragraph(text)
        p._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {w}><w:ilvl w:val="{level}"/><w:numId w:val="{num}"/></w:numPr>'))
    doc.save(str(tmp_path / "numbered.docx"))
    text = decode_bytes((tmp_path / "numbered.docx").read_bytes(), name="numbered.docx").text
    assert text.split("\n\n") == ["1. 大会欢迎报告。", "(a) 第一项；", "(b) 第二项。", "2. 请秘书长报告。", "(a) 另一项。",
                                  "十一、 十一条。", "十二、 十二条。\n"]


# --- bad input ---------------------------------------------------------------------------------

def _image_only_pdf(path: Path) -> None:
    """A scan: pages that hold an image and no text."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    image = Image.new("L", (200, 280), 255)
    for x in range(20, 180):
        for y in range(40, 44):
            image.putpixel((x, y), 0)
    canvas = Canvas(str(path), pagesize=(595, 842))
    for _ in range(2):
        canvas.drawImage(ImageReader(image), 50, 50, 495, 742)
        canvas.showPage()
    canvas.save()


def _encrypted_pdf(path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen.canvas import Canvas

    un_layout._register()
    canvas = Canvas(str(path), encrypt=StandardEncryption("secret", canPrint=0))
    canvas.setFont(un_layout.FONT, 11)
    canvas.drawString(72, 700, "1. 欢迎各国议会联盟的工作。")
    canvas.save()


def _many_pages_pdf(path: Path, pages: int) -> None:
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=(595, 842), pageCompression=1)
    for n in range(pages):
        canvas.drawString(72, 700, str(n))
        canvas.showPage()
    canvas.save()


def _zip_bomb_docx(path: Path, good: bytes) -> None:
    """A real DOCX with one more entry that inflates to 300 MB of zeros (a few hundred KB packed)."""
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            bomb.writestr(item, source.read(item))
        with bomb.open("word/media/image1.bin", "w", force_zip64=True) as entry:
            chunk = bytes(1 << 20)
            for _ in range(300):
                entry.write(chunk)


def _old_word_file(path: Path) -> None:
    """The start of a Word 97-2003 file: an OLE compound file holding a WordDocument stream."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "WordDocument".encode("utf-16-le") + bytes(2000))


def test_bad_files_are_set_aside_with_their_reason_and_stop_nothing(tmp_path, monkeypatch):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    paras = un_layout.seed_layout(RESOLUTION_FILE)
    un_layout.typeset_pdf(paras, un_layout.RESOLUTION, seeds / "good.pdf")
    un_layout.typeset_docx(paras, un_layout.RESOLUTION, seeds / "good.docx")
    good_pdf, good_docx = (seeds / "good.pdf").read_bytes(), (seeds / "good.docx").read_bytes()
    _encrypted_pdf(seeds / "encrypted.pdf")
    _image_only_pdf(seeds / "scan.pdf")
    (seeds / "cut.pdf").write_bytes(good_pdf[: len(good_pdf) // 2])
    (seeds / "damaged.pdf").write_bytes(good_pdf[:2000] + bytes(len(good_pdf) - 2000))
    (seeds / "cut.docx").write_bytes(good_docx[: len(good_docx) // 2])
    _zip_bomb_docx(seeds / "bomb.docx", good_docx)
    _many_pages_pdf(seeds / "thick.pdf", formats.DEFAULT_MAX_PAGES + 1)
    result = run_documents_stage(seeds, tmp_path / "data")
    # Without PDFs a batch this small is read in this process, which sees this PATH with no
    # LibreOffice (worker processes keep the environment their fork server started with).
    words = tmp_path / "words"
    words.mkdir()
    _old_word_file(words / "old.doc")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    result |= run_documents_stage(words, tmp_path / "data")
    reasons = {name: (r["raw"]["reason"], r["raw"]["detail"]) for name, r in result.items()}
    expected = {"good.pdf": None, "good.docx": None, "encrypted.pdf": "encrypted", "scan.pdf": "no_text_layer",
                "cut.pdf": "corrupt", "damaged.pdf": "corrupt", "cut.docx": "corrupt", "bomb.docx": "too_large",
                "thick.pdf": "too_large", "old.doc": "unsupported_format"}
    assert {name: reason for name, (reason, _) in reasons.items()} == expected
    for name, (reason, detail) in reasons.items():
        if reason:
            assert detail.startswith(name), detail  # the detail names the file
    assert "OCR" in reasons["scan.pdf"][1] and "LibreOffice" in reasons["old.doc"][1]
    assert "pages" in reasons["thick.pdf"][1] and "inflate" in reasons["bomb.docx"][1]
    assert len([p for p in result["good.pdf"]["paragraphs"] if p["kind"] == "operative"]) == 24


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    """The cap is checked on the zip's directory: the 300 MB entry is never inflated."""
    paras = un_layout.seed_layout(RESOLUTION_FILE)
    un_layout.typeset_docx(paras, un_layout.RESOLUTION, tmp_path / "good.docx")
    _zip_bomb_docx(tmp_path / "bomb.docx", (tmp_path / "good.docx").read_bytes())
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(Rejected) as caught:
        decode_bytes((tmp_path / "bomb.docx").read_bytes(), name="bomb.docx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert caught.value.reason == "too_large"
    assert peak < 50 * 1024 * 1024


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_damaged_bytes_are_read_or_set_aside_never_an_error(tmp_path, fmt):
    """Bytes changed at random in a good PDF or DOCX: each is read, or set aside with a reason."""
    import random

    WRITERS[fmt](un_layout.seed_layout(RESOLUTION_FILE), un_layout.RESOLUTION, tmp_path / f"good.{fmt}")
    good = (tmp_path / f"good.{fmt}").read_bytes()
    rng = random.Random(16)
    outcomes = set()
    for _ in range(25):
        damaged = bytearray(good)
        for _ in range(rng.choice([1, 5, 50])):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            outcomes.add(decode_bytes(bytes(damaged), name=f"damaged.{fmt}").source_format)
        except Rejected as exc:
            outcomes.add(exc.reason)
    assert outcomes <= {fmt, "corrupt", "too_large", "binary", "empty", "undecodable", "not_chinese", "no_text_layer"}, outcomes
    assert "corrupt" in outcomes


@pytest.mark.slow
def test_a_doc_is_read_through_libreoffice_when_it_is_installed(tmp_path, monkeypatch):
    """With `soffice` on PATH, a DOC is converted to DOCX and read as one (here a stand-in
    soffice that writes the DOCX LibreOffice would, so the test needs no office suite)."""
    seeds, tools = tmp_path / "seeds", tmp_path / "bin"
    seeds.mkdir()
    tools.mkdir()
    paras = un_layout.seed_layout(RESOLUTION_FILE)
    un_layout.typeset_docx(paras, un_layout.RESOLUTION, tmp_path / "converted.docx")
    _old_word_file(seeds / "old.doc")
    soffice = tools / "soffice"
    soffice.write_text("#!/bin/sh\n# soffice --headless … --convert-to docx --outdir DIR FILE\n"
                       "while [ $# -gt 2 ]; do [ \"$1\" = --outdir ] && out=$2; shift; done\n"
                       f"cp '{tmp_path / 'converted.docx'}' \"$out/document.docx\"\n")
    soffice.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    result = run_documents_stage(seeds, tmp_path / "data")["old.doc"]
    assert result["raw"]["status"] == "ok", result["raw"]["detail"]
    assert result["doc"]["source_format"] == "doc"
    assert len([p for p in result["paragraphs"] if p["kind"] == "operative"]) == 24


@pytest.mark.slow
def test_make_run_on_a_pdf_and_a_docx_gives_the_text_seeds_paragraphs(tmp_path):
    """What `make run` does (`unparl build`), on a folder holding the report as PDF and the
    resolution as DOCX and no sidecar: the release holds the text seeds' paragraphs, and the
    symbol, date and session that the mastheads print."""
    import os
    import subprocess
    import sys

    from conftest import REPO
    from pipeline.lib.release.cut import read_table

    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    un_layout.typeset_pdf(un_layout.seed_layout(REPORT_FILE), un_layout.REPORT, seeds / "A_74_759_C.pdf")
    un_layout.typeset_docx(un_layout.seed_layout(RESOLUTION_FILE), un_layout.RESOLUTION, seeds / "A_RES_74_304_C.docx")
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "report.txt").write_bytes(REPORT_FILE.read_bytes())
    (texts / "resolution.txt").write_bytes(RESOLUTION_FILE.read_bytes())
    expected = run_documents_stage(texts, tmp_path / "text-data")

    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    env.pop("UNPARL_SEEDS_DIR", None)
    env.pop("UNPARL_DATA_DIR", None)
    result = subprocess.run([sys.executable, "-m", "pipeline", "build", "--seeds", str(seeds), "--data", str(data)],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    release = (data / "releases" / (data / "LATEST").read_text().strip()).resolve()
    documents = {d["source_file"]: d for d in read_table(release, "documents").to_pylist()}
    paragraphs = read_table(release, "paragraphs").to_pylist()
    for name, text_name, head in (("A_74_759_C.pdf", "report.txt", un_layout.REPORT),
                                  ("A_RES_74_304_C.docx", "resolution.txt", un_layout.RESOLUTION)):
        doc = documents[name]
        assert (doc["symbol"], doc["session"]) == (head.symbol, 74)
        assert doc["provenance"]["symbol"] == "text"
        assert doc["source_format"] == name.rsplit(".", 1)[1]
        mine = sorted((p for p in paragraphs if p["doc_id"] == doc["doc_id"]), key=lambda p: p["seq"])
        assert comparable(mine) == comparable(expected[text_name]["paragraphs"])
    assert documents["A_74_759_C.pdf"]["date"] == "2020-04-02"
    assert documents["A_RES_74_304_C.docx"]["date"] == "2020-09-04"


@pytest.mark.slow
@pytest.mark.skipif(not __import__("shutil").which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_a_real_word_97_file_gives_the_text_seeds_paragraphs(tmp_path):
    """With LibreOffice installed: the resolution saved as Word 97-2003 by LibreOffice itself, then
    read back (converted to DOCX and read as one), gives the text seed's paragraphs."""
    import subprocess

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    un_layout.typeset_docx(un_layout.seed_layout(RESOLUTION_FILE), un_layout.RESOLUTION, tmp_path / "resolution.docx")
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "doc", "--outdir", str(seeds), str(tmp_path / "resolution.docx")],
                   capture_output=True, timeout=300, check=True)
    (seeds / "resolution.txt").write_bytes(RESOLUTION_FILE.read_bytes())
    result = run_documents_stage(seeds, tmp_path / "data")
    assert formats.sniff((seeds / "resolution.doc").read_bytes()) == "doc"
    doc = result["resolution.doc"]
    assert doc["raw"]["status"] == "ok", doc["raw"]["detail"]
    assert doc["doc"]["source_format"] == "doc" and doc["doc"]["symbol"] == "A/RES/74/304"
    assert comparable(doc["paragraphs"]) == comparable(result["resolution.txt"]["paragraphs"])


@pytest.mark.slow
def test_the_formats_benchmark_runs(capsys):
    """`make bench`'s formats section: PDF reading against the tokenizer, printed as a ratio."""
    from benchmarks import formats as bench

    result = bench.measure(copies=1)
    bench.print_result(result)
    assert [r["document"] for r in result["documents"]] == ["report", "resolution"]
    assert all(r["pages"] > 1 and r["read_seconds"] > 0 and r["tokenizer_seconds"] > 0 for r in result["documents"])
    assert result["read_vs_tokenizer"] > 0
    assert "reading (extraction and furniture removal) / tokenizer = " in capsys.readouterr().out
