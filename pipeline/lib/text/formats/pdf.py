"""PDF through pypdfium2 (PDFium): every text run (a text object: one font, one position) with
its position and font size, so the layout says what the text alone cannot. PDFium is asked a few
things per run, never per character: that is most of the reader's speed.

- Lines are the runs on one baseline; a smaller run raised a little above it (a footnote marker)
  belongs to it. A wide gap splits a line into segments (the masthead's two columns).
- Page furniture goes: lettering too small to read (the emblem's), and in the top and bottom
  bands of a page the running header (the symbol), page numbers (`2/19`), job numbers
  (`20-05238 (C)`), barcodes (`*2005238*`), the recycling note and any line repeated on three
  pages or more. The first page's job number and barcode are the masthead's: they are kept, first.
- Footnotes are the lines below the footnote rule (a short horizontal line low on the page); each
  starts with its (smaller, raised) number and becomes a footnote paragraph (`¹ …`) at the end of
  the text.
- Paragraphs: a line starts one when it is indented, in another font size, after a wider gap
  than the lines' pitch, beside another segment, or after a line that stops well short of the
  right margin; otherwise it continues the one before, across a page break too. Lines are
  joined as wrapped lines are (`join_lines`).
- Digits smaller than their line (a footnote marker) become superscript digits.
"""
from __future__ import annotations

import ctypes
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from statistics import median

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.lib.text import un_symbols
from pipeline.lib.text.formats import SUPERSCRIPT_DIGITS, Extracted, TextBuilder, Unreadable

MIN_FONT_SIZE = 4.5  # points: smaller lettering (the emblem's) is not text to read
BAND = 0.075  # the top and bottom bands of a page where furniture is printed, as a share of its height
SMALLER = 0.85  # a run below this share of its line's size is a marker
_PAGE_NUMBER = re.compile(r"^\d{1,4}\s*/\s*\d{1,4}$|^\d{1,4}$|^-\s*\d{1,4}\s*-$")
_JOB_NUMBER = re.compile(r"^\d{2}-\d{5}\s*(?:\([A-Z]\))?(?:\s+\d{6}){0,2}$")
_BARCODE = re.compile(r"^\*\d{6,8}\*$")
_RECYCLE = re.compile(r"^(?:请回收|Please recycle)\W*$", re.IGNORECASE)
_FOOTNOTE_START = re.compile(r"^([⁰¹²³⁴⁵⁶⁷⁸⁹]+|\d{1,3}(?=\s))\s*")


@dataclass
class Segment:
    """Runs on one baseline, with no wide gap between them."""

    page: int
    y: float  # baseline, points from the page's foot
    x0: float
    x1: float
    size: float  # the font size of its largest run (its body text's)
    text: str
    small_digits_first: bool = False  # starts with a raised smaller number (a footnote's)


@dataclass
class Page:
    number: int
    height: float
    width: float
    segments: list[Segment] = field(default_factory=list)
    rule_y: float | None = None  # the footnote rule


def read_pdf(data: bytes, *, label: str = "", max_pages: int) -> Extracted:
    name = f"{label}: " if label else ""
    if b"%%EOF" not in data[-2048:]:
        raise Unreadable("corrupt", f"{name}the PDF is cut off (no %%EOF at its end): copy or download it again")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise Unreadable("encrypted", f"{name}the PDF is encrypted and needs a password to open: "
                             "save an unprotected copy") from exc
        raise Unreadable("corrupt", f"{name}not a readable PDF ({exc})") from exc
    try:
        count = len(pdf)
        if count == 0:
            raise Unreadable("corrupt", f"{name}the PDF has no pages")
        if count > max_pages:
            raise Unreadable("too_large", f"{name}{count:,} pages is over the limit of {max_pages:,} pages "
                             "(UNPARL_MAX_PAGES): not read")
        pages = []
        for i in range(count):
            try:
                page = pdf[i]
            except pdfium.PdfiumError as exc:
                raise Unreadable("corrupt", f"{name}page {i + 1} of the PDF cannot be read ({exc})") from exc
            try:
                pages.append(_read_page(page, i + 1))
            finally:
                page.close()
    finally:
        pdf.close()
    empty = [p.number for p in pages if not p.segments]
    if len(empty) == len(pages):
        raise Unreadable("no_text_layer", f"{name}the PDF has no text layer on any of its {count} pages (a scan): "
                         "OCR is not done here; get a PDF with text, or the text itself")
    extracted = _assemble(pages)
    if empty:
        extracted.warnings.append(f"pages without text (scanned?): {', '.join(map(str, empty[:20]))}"
                                  f"{' …' if len(empty) > 20 else ''}")
    return extracted


def _read_page(page: pdfium.PdfPage, number: int) -> Page:
    width, height = page.get_size()
    result = Page(number, height, width)
    textpage = page.get_textpage()
    try:
        runs, rules = _runs(page.raw, textpage.raw)
    finally:
        textpage.close()
    result.segments = _segments(runs, number)
    result.rule_y = _footnote_rule(rules, width, height)
    return result


Run = tuple[str, float, float, float, float]  # (text, x0, x1, baseline y, font size in points)


def _runs(page, textpage) -> tuple[list[Run], list[tuple[float, float, float, float]]]:
    """Every text object of the page (one run of one font at one position), with its text: a
    few calls to PDFium per run, not per character; and the bounds of its flat lines (rules)."""
    size, matrix = ctypes.c_float(), pdfium_c.FS_MATRIX()
    left, bottom, right, top = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    bounds = (ctypes.byref(left), ctypes.byref(bottom), ctypes.byref(right), ctypes.byref(top))
    buffer = (ctypes.c_ushort * 1024)()
    runs: list[Run] = []
    rules = []
    pending = [(page, i, False) for i in range(pdfium_c.FPDFPage_CountObjects(page))]
    pending.reverse()
    while pending:
        parent, index, in_form = pending.pop()
        obj = (pdfium_c.FPDFFormObj_GetObject if in_form else pdfium_c.FPDFPage_GetObject)(parent, index)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM:  # a form XObject's own objects, in order
            count = pdfium_c.FPDFFormObj_CountObjects(obj)
            pending.extend((obj, i, True) for i in reversed(range(max(count, 0))))
            continue
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            pdfium_c.FPDFPageObj_GetBounds(obj, *bounds)
            if top.value - bottom.value <= 2:
                rules.append((left.value, bottom.value, right.value, top.value))
            continue
        if kind != pdfium_c.FPDF_PAGEOBJ_TEXT:
            continue
        needed = pdfium_c.FPDFTextObj_GetText(obj, textpage, None, 0)
        if needed <= 2:
            continue
        if needed > 2 * len(buffer):
            buffer = (ctypes.c_ushort * (needed // 2 + 1))()
        pdfium_c.FPDFTextObj_GetText(obj, textpage, buffer, needed)
        text = ctypes.string_at(buffer, needed - 2).decode("utf-16-le", "replace")
        pdfium_c.FPDFTextObj_GetFontSize(obj, size)
        pdfium_c.FPDFPageObj_GetMatrix(obj, matrix)
        pdfium_c.FPDFPageObj_GetBounds(obj, *bounds)
        points = size.value * (math.hypot(matrix.c, matrix.d) or 1.0)
        runs.append((text, left.value, right.value, matrix.f, points))
    return runs, rules


def _segments(runs: list[Run], page: int) -> list[Segment]:
    """Group runs into lines by baseline (a smaller run raised a little above a line is its
    marker), then split lines at wide gaps."""
    lines: list[list[Run]] = []
    for run in runs:
        text, x0, x1, y, size = run
        if size < MIN_FONT_SIZE or not text.strip():
            continue
        placed = False
        for line in reversed(lines[-3:]):  # the line being written, or one just before it
            line_y, line_size = line[0][3], line[0][4]  # its largest run first
            dy = y - line_y
            if size >= SMALLER * line_size:
                same = abs(dy) <= 0.3 * max(size, line_size) or (
                    line_size < SMALLER * size and -0.75 * size <= dy <= 0.05 * size)  # the line so far: a marker
            else:  # a smaller run: on the line when raised a little above its baseline
                same = -0.3 * line_size <= dy <= 0.75 * line_size
            if same:
                line.append(run)
                if size > line_size:  # the line's baseline is its body text's
                    line.sort(key=lambda r: -r[4])
                placed = True
                break
        if not placed:
            lines.append([run])
    segments: list[Segment] = []
    for line in lines:
        body_size = max(r[4] for r in line)
        line.sort(key=lambda r: r[1])
        group: list[Run] = []
        for run in line:
            if group and run[1] - group[-1][2] > 3 * body_size:
                segments.append(_segment(group, page))
                group = []
            group.append(run)
        segments.append(_segment(group, page))
    return segments


def _segment(group: list[Run], page: int) -> Segment:
    size = max(r[4] for r in group)
    y = next(r[3] for r in group if r[4] == size)
    parts: list[str] = []
    previous = None
    for text, x0, x1, _, run_size in group:
        if run_size < SMALLER * size and text.strip().isdigit():
            text = text.strip().translate(SUPERSCRIPT_DIGITS)  # a footnote marker
        elif previous is not None and x0 - previous > 0.2 * size and parts and not parts[-1].endswith(" ") \
                and not text.startswith(" "):
            parts.append(" ")  # words placed apart, with no space printed between them
        parts.append(text)
        previous = x1
    raw = "".join(parts)
    text = " ".join(raw.split()) + (" " if raw[-1:].isspace() else "")  # a space that ends a line is kept
    first = group[0]
    small_first = first[4] < SMALLER * size and first[0].strip().isdigit()
    return Segment(page, y, group[0][1], max(r[2] for r in group), size, text, small_first)


def _footnote_rule(rules: list[tuple[float, float, float, float]], width: float, height: float) -> float | None:
    """The y of the footnote rule: the lowest short horizontal line in the page's lower part."""
    found = None
    for left, bottom, right, top in rules:
        if 30 <= right - left <= 0.6 * width and BAND * height < top < 0.6 * height:
            found = top if found is None else min(found, top)
    return found


def _furniture(page: Page, segment: Segment, repeated: set[str]) -> str | None:
    """'drop', 'masthead' (the first page's job number and barcode) or None (text)."""
    in_band = segment.y > (1 - BAND) * page.height or segment.y < BAND * page.height
    if not in_band:
        return None
    text = segment.text.strip()
    if _JOB_NUMBER.match(text) or _BARCODE.match(text):
        return "masthead" if page.number == 1 else "drop"
    if page.number > 1 and (_PAGE_NUMBER.match(text) or un_symbols.is_symbol(text) or _mask(text) in repeated):
        return "drop"
    if _RECYCLE.match(text) or (page.number == 1 and _PAGE_NUMBER.match(text)):
        return "drop"
    return None


def _mask(text: str) -> str:
    return re.sub(r"\d+", "#", text)


def _assemble(pages: list[Page]) -> Extracted:
    # Lines printed in a band on three pages or more (digits aside) are running headers or footers.
    seen = Counter()
    for page in pages:
        for segment in page.segments:
            if segment.y > (1 - BAND) * page.height or segment.y < BAND * page.height:
                seen[_mask(segment.text.strip())] += 1
    repeated = {text for text, count in seen.items() if count >= 3}

    masthead: list[Segment] = []
    body: list[Segment] = []
    notes: list[list[Segment]] = []
    for page in pages:
        page.segments.sort(key=lambda s: (-round(s.y, 0), s.x0))
        for segment in page.segments:
            kind = _furniture(page, segment, repeated)
            if kind == "drop":
                continue
            if kind == "masthead":
                masthead.append(segment)
            elif page.rule_y is not None and segment.y < page.rule_y:
                if _FOOTNOTE_START.match(segment.text) and (segment.small_digits_first or not notes or
                                                            segment.x0 <= notes[-1][0].x0 + 1):
                    notes.append([segment])
                elif notes:
                    notes[-1].append(segment)
                else:
                    body.append(segment)
            else:
                body.append(segment)

    builder = TextBuilder()
    for segment in masthead:
        builder.paragraph([(segment.text, segment.page)])
    for paragraph in _paragraphs(body):
        builder.paragraph([(s.text, s.page) for s in paragraph])
    for note in notes:
        first = note[0]
        marker = _FOOTNOTE_START.match(first.text)
        number = marker.group(1).translate(SUPERSCRIPT_DIGITS)
        parts = [(f"{number} {first.text[marker.end():]}", first.page), *((s.text, s.page) for s in note[1:])]
        builder.paragraph(parts)
    return Extracted(builder.text, "pdf", len(pages), builder.page_map, encoding=None)


def _paragraphs(body: list[Segment]) -> list[list[Segment]]:
    if not body:
        return []
    sizes = [round(s.size, 1) for s in body]
    size_chars = Counter()
    for s, size in zip(body, sizes):
        size_chars[size] += len(s.text)
    body_size = size_chars.most_common(1)[0][0]
    in_body_size = [s for s, size in zip(body, sizes) if size == body_size]
    left = Counter(round(s.x0) for s in in_body_size).most_common(1)[0][0]
    gaps = [a.y - b.y for a, b, sa, sb in zip(body, body[1:], sizes, sizes[1:])
            if a.page == b.page and sa == sb == body_size and 0 < a.y - b.y < 3 * body_size]
    pitch = median(gaps) if gaps else 1.5 * body_size
    ends = sorted(s.x1 for s in in_body_size)
    right = ends[int(0.95 * (len(ends) - 1))]
    paragraphs: list[list[Segment]] = []
    for segment in body:
        if paragraphs:
            before = paragraphs[-1][-1]
            continues = (
                segment.x0 <= left + 0.5 * segment.size
                and abs(segment.size - before.size) <= 0.5
                and abs(segment.y - before.y) > 0.3 * segment.size  # not beside it on the same line
                and (segment.page != before.page or before.y - segment.y <= 1.25 * pitch)
                and before.x0 <= left + 12 * segment.size  # not a right-hand column line
                and before.x1 >= right - 4 * before.size  # a short line ends its paragraph
            )
            if continues:
                paragraphs[-1].append(segment)
                continue
        paragraphs.append([segment])
    return paragraphs
