"""Test documents laid out as the UN publishes them, made from a text seed with no network.

`seed_layout` reads a seed through the text chain's cleaning and structure, so the generated
documents hold exactly the seed's paragraphs; `typeset_pdf` prints them as a UN PDF with
reportlab and its built-in CID font STSong-Light (no font file): the masthead on the first page
(联合国 and the symbol, the organ and the UN emblem, `Distr.: General` and the date, `Chinese`
/ `Original: English`, the job number and barcode at its foot), a running header (the symbol)
and a footer (page `2/19` and the job number) on every other page, numbered paragraphs with their
first line indented, footnote markers raised in a smaller font and the footnotes at the foot of
their page below a rule, paragraphs cut by page breaks. `typeset_docx` writes the same as Word
(automatic paragraph numbering, real footnotes, the masthead as a table, the job number in the
first page's footer) and `typeset_html` as a web page (with a script, a style and navigation).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"


@dataclass(frozen=True)
class Masthead:
    symbol: str
    organ: str
    date: str  # as printed: "2 April 2020"
    job_number: str  # "20-05238"
    distribution: str = "General"
    original: str = "English"

    @property
    def barcode(self) -> str:
        return "*" + self.job_number.replace("-", "") + "*"


REPORT = Masthead("A/74/759", "大 会", "2 April 2020", "20-05238")
RESOLUTION = Masthead("A/RES/74/304", "大 会", "8 September 2020", "20-11589")


@dataclass(frozen=True)
class Para:
    kind: str
    text: str
    footnote: str | None = None  # a footnote's number


def seed_layout(path: Path) -> list[Para]:
    """The seed's paragraphs as the text chain finds them (front matter, body, footnotes)."""
    from pipeline.lib.text.clean import clean
    from pipeline.lib.text.structure import parse

    cleaned = clean(path.read_text("utf-8"))
    structure = parse(cleaned, doc_id="seed")
    # A paragraph the structure holds together over a line break (one numbered paragraph and its
    # unnumbered sequel) is printed as the paragraphs it is made of.
    return [Para(p["kind"], text, p["number"] if p["kind"] == "footnote" else None)
            for p in structure.paragraphs for text in p["text"].split("\n")]


def _plain_marker(text: str) -> str:
    return "".join(str(SUPERSCRIPTS.index(c)) for c in text)


def footnote_body(para: Para) -> str:
    return re.sub(f"^[{SUPERSCRIPTS}]+\\s*", "", para.text)


# --- PDF -------------------------------------------------------------------------------------

FONT = "STSong-Light"
PAGE_W, PAGE_H = 595.27, 841.89
LEFT, RIGHT = 72.0, 523.0
WIDTH = RIGHT - LEFT
BODY, LEADING, GAP, INDENT = 11.0, 16.0, 6.0, 22.0
NOTE, NOTE_LEADING = 9.0, 12.0
MARK, RISE = 6.5, 4.0
TOP, BOTTOM = 770.0, 80.0  # the body's first baseline on pages after the first, and its lowest


def _register() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _tokens(text: str) -> list[str]:
    """Units a line may not break inside: a Latin word, a space, a Chinese character; a footnote
    marker stays with what it follows."""
    tokens: list[str] = []
    for m in re.finditer(rf"[{SUPERSCRIPTS}]+|[!-~]+| +|.", text):
        token = m.group(0)
        if token[0] in SUPERSCRIPTS and tokens:
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def _width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    total = 0.0
    for m in re.finditer(rf"[{SUPERSCRIPTS}]+|[^{SUPERSCRIPTS}]+", text):
        part = m.group(0)
        if part[0] in SUPERSCRIPTS:
            total += stringWidth(_plain_marker(part), FONT, MARK)
        else:
            total += stringWidth(part, FONT, size)
    return total


_NO_LINE_START = set("。，、；：？！）)》”’」』】…")


def wrap(text: str, size: float, first: float, rest: float) -> list[str]:
    """Lines of at most `first` (then `rest`) points; a space at a break stays at the line's end."""
    lines, line, room = [], "", first
    for token in _tokens(text):
        w = _width(token, size)
        # Closing punctuation never starts a line (Chinese typesetting): it hangs in the margin.
        if token.isspace() or _width(line, size) + w <= room or (line and token[0] in _NO_LINE_START):
            if line or not token.isspace():
                line += token
            continue
        left = room - _width(line, size)
        if "/" in token and left > 4 * size:  # a long symbol breaks after a slash rather than leave a gap
            cut = max((i + 1 for i, c in enumerate(token) if c == "/" and _width(token[:i + 1], size) <= left),
                      default=0)
            if cut:
                line += token[:cut]
                token = token[cut:]
        lines.append(line)
        line, room = token, rest
    if line.strip():
        lines.append(line)
    return lines


def _draw_line(canvas, x: float, y: float, text: str, size: float) -> None:
    """A line whose footnote markers are raised digits in a smaller font."""
    obj = canvas.beginText(x, y)
    for m in re.finditer(rf"[{SUPERSCRIPTS}]+|[^{SUPERSCRIPTS}]+", text):
        part = m.group(0)
        if part[0] in SUPERSCRIPTS:
            obj.setFont(FONT, MARK)
            obj.setRise(RISE)
            obj.textOut(_plain_marker(part))
            obj.setRise(0)
        else:
            obj.setFont(FONT, size)
            obj.textOut(part)
    canvas.drawText(obj)


@dataclass
class _Line:
    x: float
    text: str
    size: float
    gap_before: float


def _body_lines(paras: list[Para]) -> list[tuple[_Line, list[str]]]:
    """Every line of the body with the footnote numbers whose markers it prints."""
    out = []
    for para in paras:
        if para.kind in ("footnote", "front_matter"):
            continue
        heading = para.kind == "heading"
        size = 12.0 if heading else BODY
        first_x = LEFT if heading else LEFT + INDENT
        for i, text in enumerate(wrap(para.text, size, RIGHT - first_x, WIDTH)):
            marks = [_plain_marker(m) for m in re.findall(f"[{SUPERSCRIPTS}]+", text)]
            out.append((_Line(first_x if i == 0 else LEFT, text, size, (GAP + (6 if heading else 0)) if i == 0 else 0),
                        marks))
    return out


def typeset_pdf(paras: list[Para], masthead: Masthead, path: Path) -> int:
    """Print the paragraphs as a UN PDF at `path`; returns its number of pages."""
    from reportlab.pdfgen.canvas import Canvas

    _register()
    notes = {p.footnote: footnote_body(p) for p in paras if p.kind == "footnote"}
    front = [p for p in paras if p.kind == "front_matter"]
    # Lay out first (the footer prints the number of pages), then draw.
    pages: list[dict] = []
    page = {"lines": [], "notes": []}
    y = 640.0 - LEADING * 2.2 * len(front)  # the first page's body starts below the masthead
    note_height = 0.0
    for line, marks in _body_lines(paras):
        new_notes = [m for m in marks if m in notes and all(m not in p["notes"] for p in pages + [page])]
        extra = sum(len(wrap(f"{m} {notes[m]}", NOTE, WIDTH, WIDTH)) * NOTE_LEADING for m in new_notes)
        needed = y - line.gap_before - LEADING
        if needed < BOTTOM + note_height + extra + (14 if note_height + extra else 0):
            pages.append(page)
            page, y, note_height = {"lines": [], "notes": []}, TOP + LEADING, 0.0
            needed = y - LEADING
        y = needed if page["lines"] else y - LEADING
        page["lines"].append((line, y))
        page["notes"].extend(new_notes)
        note_height += extra
    pages.append(page)

    canvas = Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1)
    total = len(pages)
    for number, page in enumerate(pages, 1):
        if number == 1:
            _masthead(canvas, masthead, front)
        else:
            canvas.setFont(FONT, 9)
            if number % 2:
                canvas.drawRightString(RIGHT, 800, masthead.symbol)
            else:
                canvas.drawString(LEFT, 800, masthead.symbol)
            canvas.setLineWidth(0.5)
            canvas.line(LEFT, 795, RIGHT, 795)
            canvas.setFont(FONT, 8)
            if number % 2:
                canvas.drawString(LEFT, 40, masthead.job_number)
                canvas.drawRightString(RIGHT, 40, f"{number}/{total}")
            else:
                canvas.drawString(LEFT, 40, f"{number}/{total}")
                canvas.drawRightString(RIGHT, 40, masthead.job_number)
        for line, y in page["lines"]:
            _draw_line(canvas, line.x, y, line.text, line.size)
        if page["notes"]:
            lines = [text for m in page["notes"] for text in wrap(f"{_sup(m)} {notes[m]}",
                                                                    NOTE, WIDTH, WIDTH)]
            y = BOTTOM + NOTE_LEADING * (len(lines) - 1)
            canvas.setLineWidth(0.5)
            canvas.line(LEFT, y + NOTE_LEADING + 2, LEFT + 100, y + NOTE_LEADING + 2)
            for text in lines:
                _draw_line(canvas, LEFT, y, text, NOTE)
                y -= NOTE_LEADING
        canvas.showPage()
    canvas.save()
    return total


def _sup(number: str) -> str:
    return "".join(SUPERSCRIPTS[int(d)] for d in number)


def _masthead(canvas, masthead: Masthead, front: list[Para]) -> None:
    canvas.setFont(FONT, 14)
    canvas.drawString(LEFT, 805, "联合国")
    canvas.drawRightString(RIGHT, 805, masthead.symbol)
    canvas.setLineWidth(1)
    canvas.line(LEFT, 795, RIGHT, 795)
    # The emblem: a drawing, with lettering too small to read.
    canvas.circle(LEFT + 14, 765, 14)
    canvas.setFont(FONT, 2.5)
    canvas.drawString(LEFT + 4, 764, "UNITED NATIONS")
    canvas.setFont(FONT, 16)
    canvas.drawString(LEFT + 40, 760, masthead.organ)
    canvas.setFont(FONT, 9)
    for i, text in enumerate((f"Distr.: {masthead.distribution}", masthead.date, "", "Chinese",
                              f"Original: {masthead.original}")):
        if text:
            canvas.drawString(420, 775 - 11 * i, text)
    canvas.line(LEFT, 715, RIGHT, 715)
    y = 690.0
    for para in front:
        size = 10.0 if len(para.text) < 16 else 12.0
        for line in wrap(para.text, size, WIDTH, WIDTH):
            canvas.setFont(FONT, size)
            canvas.drawString(LEFT, y, line)
            y -= LEADING
        y -= LEADING * 1.2
    canvas.setFont(FONT, 8)
    canvas.drawString(LEFT, 40, f"{masthead.job_number} (C)")
    canvas.drawString(LEFT, 28, masthead.barcode)
    canvas.drawString(RIGHT - 30, 40, "请回收")


# --- DOCX ------------------------------------------------------------------------------------

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NUMBERING_XML = (
    f'<w:abstractNum xmlns:w="{_W}" w:abstractNumId="90"><w:multiLevelType w:val="singleLevel"/>'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/>'
    '<w:lvlJc w:val="left"/></w:lvl></w:abstractNum>'
)


def typeset_docx(paras: list[Para], masthead: Masthead, path: Path) -> None:
    """Write the paragraphs as a Word document: numbered paragraphs by Word's own numbering,
    footnotes as footnotes, the masthead as a table, job number and barcode in the first page's
    footer, the symbol as the running header."""
    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    doc = Document()
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    section.header.paragraphs[0].text = masthead.symbol
    footer = section.first_page_footer
    footer.paragraphs[0].text = f"{masthead.job_number} (C)"
    footer.add_paragraph(masthead.barcode)

    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "联合国"
    table.cell(0, 1).text = masthead.symbol
    table.cell(1, 0).text = masthead.organ
    cell = table.cell(1, 1)
    cell.text = f"Distr.: {masthead.distribution}"
    for text in (masthead.date, "Chinese", f"Original: {masthead.original}"):
        cell.add_paragraph(text)

    # One decimal list for the numbered paragraphs ("%1."), continuing across headings.
    numbering = doc.part.numbering_part.element
    numbering.insert(0, parse_xml(_NUMBERING_XML))
    numbering.append(parse_xml(f'<w:num xmlns:w="{_W}" w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    next_number = 1

    notes = {p.footnote: footnote_body(p) for p in paras if p.kind == "footnote"}
    note_ids: dict[str, int] = {}
    for para in paras:
        if para.kind == "footnote":
            continue
        text = para.text
        numbered = re.match(r"^(\d{1,3})\.\s*", text)
        p = doc.add_paragraph()
        if numbered and int(numbered.group(1)) == next_number and para.kind in ("numbered", "operative"):
            next_number += 1
            text = text[numbered.end():]
            p_pr = p._p.get_or_add_pPr()
            p_pr.append(parse_xml(f'<w:numPr xmlns:w="{_W}"><w:ilvl w:val="0"/><w:numId w:val="90"/></w:numPr>'))
        for m in re.finditer(rf"[{SUPERSCRIPTS}]+|[^{SUPERSCRIPTS}]+", text):
            part = m.group(0)
            if part[0] not in SUPERSCRIPTS:
                run = p.add_run(part)
                if para.kind == "heading":
                    run.bold = True
                continue
            number = _plain_marker(part)
            if number not in notes or number in note_ids:
                # A footnote cited again is a superscript number (as Word's cross-reference to it prints).
                p.add_run(number).font.superscript = True
                continue
            note_ids[number] = len(note_ids) + 1
            run = p.add_run()
            run._r.append(parse_xml(f'<w:footnoteReference xmlns:w="{_W}" w:id="{note_ids[number]}"/>'))
            r_pr = run._r.get_or_add_rPr()
            r_pr.append(parse_xml(f'<w:vertAlign xmlns:w="{_W}" w:val="superscript"/>'))

    bodies = "".join(
        f'<w:footnote w:id="{i}"><w:p><w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteRef/></w:r>'
        f'<w:r><w:t xml:space="preserve"> {_xml(notes[n])}</w:t></w:r></w:p></w:footnote>'
        for n, i in note_ids.items())
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{_W}">'
           '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
           '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p>'
           f'</w:footnote>{bodies}</w:footnotes>')
    part = Part(PackURI("/word/footnotes.xml"),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
                xml.encode("utf-8"), doc.part.package)
    doc.part.relate_to(part, RT.FOOTNOTES)
    doc.save(str(path))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- HTML ------------------------------------------------------------------------------------

def typeset_html(paras: list[Para], masthead: Masthead, path: Path) -> None:
    """Write the paragraphs as a web page, with what a page holds besides the document."""
    def inline(text: str) -> str:
        return re.sub(rf"[{SUPERSCRIPTS}]+", lambda m: f"<sup>{_plain_marker(m.group(0))}</sup>", _xml(text))

    out = ["<!DOCTYPE html>", '<html lang="zh"><head><meta charset="utf-8"><title>', _xml(masthead.symbol),
           "</title><style>p { margin: 0 }</style><script>var x = '<p>不是正文</p>';</script></head><body>",
           '<nav><ul><li><a href="/zh">首页</a></li><li>文件</li></ul></nav>',
           f'<header><div>联合国</div><div>{masthead.symbol}</div><div>{masthead.organ}</div>',
           f"<div>Distr.: {masthead.distribution}</div><div>{masthead.date}</div><div>Chinese</div>",
           f"<div>Original: {masthead.original}</div></header><main>"]
    for para in paras:
        if para.kind == "footnote":
            continue
        tag = "h2" if para.kind == "heading" else "p"
        out.append(f"<{tag}>{inline(para.text)}</{tag}>\n")
    out.append('</main><section class="footnotes"><ol>')
    for para in paras:
        if para.kind == "footnote":
            out.append(f"<p><sup>{para.footnote}</sup> {_xml(footnote_body(para))}</p>")
    out.append("</ol></section><footer><script>track()</script></footer></body></html>")
    path.write_text("".join(out), encoding="utf-8")
