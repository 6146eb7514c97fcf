"""Readers of the formats the UN publishes in: PDF, Word (DOCX, and DOC through LibreOffice) and
HTML, chosen by the file's content (its magic bytes), never by its name.

Each reader gives what the text reader gives: the document's text, one paragraph a line with a
blank line between paragraphs, footnote markers as superscript digits (`成果》¹`) and each
footnote as a paragraph of its own that starts with its number (`¹ 第 60/1 号决议。`), so
cleaning, structure and everything after work unchanged and offsets still index `clean_text`.
Page furniture (running headers, page numbers, job-number footers, barcodes) is left out and
lines are joined into whole paragraphs by the reader, which sees the layout. With the text comes
a page map, `(start, end, page)` runs of text offsets, from which each paragraph's pages follow.
A plain text has one too when it holds form feeds (pdftotext writes one between pages).

A file that cannot be read is rejected with a reason (README, "When something goes wrong"):
`encrypted`, `no_text_layer` (a scan: OCR is out of scope), `corrupt`, `unsupported_format`
(a DOC without LibreOffice), `too_large` (over the page limit, or a DOCX that would inflate
beyond its cap).
"""
from __future__ import annotations

import bisect
import os
import re
import zipfile
from dataclasses import dataclass, field
from io import BytesIO

# The page limit, like the byte limit: a PDF of more pages is set aside unread (UNPARL_MAX_PAGES).
DEFAULT_MAX_PAGES = 2000
SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]"
                         rb"|<\?xml[^>]*>\s*(?:<!doctype\s+html|<html))", re.IGNORECASE | re.DOTALL)


class Unreadable(Exception):
    """A file a reader cannot read: `reason` is the quarantine's reason code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class Extracted:
    """A document's text as a reader gives it, with where each part of it was printed."""

    text: str
    source_format: str
    pages: int | None = None
    page_map: list[tuple[int, int, int]] | None = None  # (start, end, page) runs of offsets in text
    encoding: str = "utf-8"
    warnings: list[str] = field(default_factory=list)


def max_pages() -> int:
    value = os.environ.get("UNPARL_MAX_PAGES", "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else DEFAULT_MAX_PAGES


# Formats whose reader is native code running in the reading process (PDFium): a file that crashes
# it would take that process with it, so they are read in worker processes (lib/runner.py,
# ingest.read_natively).
NATIVE_FORMATS = ("pdf",)


def sniff(data: bytes) -> str:
    """The format of a file's bytes: pdf, docx, doc, html or txt (anything else, decoded as text,
    where a zip that is not Word or another binary gets its own reason)."""
    head = data[:1024]
    # The header may follow some bytes of junk, as readers allow: then the file must end as a PDF
    # does, so a text that mentions %PDF- near its start stays a text.
    if data.startswith(b"%PDF-") or (b"%PDF-" in head and b"%%EOF" in data[-2048:]):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                names = set(archive.namelist())
        except Exception:  # noqa: BLE001 - whatever a damaged zip raises (BadZipFile, NotImplementedError, …)
            # A zip whose directory is gone (cut off): Word if its first entries say so.
            return "docx" if b"[Content_Types].xml" in head or b"word/" in data[:65536] else "txt"
        return "docx" if "word/document.xml" in names else "txt"
    if data.startswith(_OLE):
        return "doc" if _WORD_STREAM in data[:1 << 20] else "txt"
    page_head = data[:4096]
    if page_head.startswith((b"\xff\xfe", b"\xfe\xff")):  # a page saved as UTF-16, with its byte-order mark
        page_head = page_head.decode("utf-16", "ignore").encode("utf-8")
    if _HTML_START.match(page_head):
        return "html"
    return "txt"


def read(fmt: str, data: bytes, *, label: str = "") -> Extracted:
    """The text of a file of format `fmt` (not txt); raises Unreadable."""
    if fmt == "pdf":
        from pipeline.lib.text.formats.pdf import read_pdf

        return read_pdf(data, label=label, max_pages=max_pages())
    if fmt == "docx":
        from pipeline.lib.text.formats.docx import read_docx

        return read_docx(data, label=label)
    if fmt == "doc":
        from pipeline.lib.text.formats.doc import read_doc

        return read_doc(data, label=label)
    if fmt == "html":
        from pipeline.lib.text.formats.html import read_html

        return read_html(data, label=label)
    raise ValueError(f"no reader for format {fmt!r}")


def _latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in ".,;:%)")


def join_lines(before: str, after: str) -> str:
    """The separator between two wrapped lines of one paragraph: none between Chinese
    characters (or where a space is already printed), one space between Latin words."""
    if not before or not after or before[-1] == " " or after[0] == " ":
        return ""
    return " " if _latin(before[-1]) and _latin(after[0]) else ""


_LAYOUT_WHITE_SPACE = re.compile(r"\s{2,}|[^\S ]|^ ")


def _one_line(text: str) -> str:
    """White space runs as one space, none in front; a space that ends the text is kept (it is the
    space between two words of wrapped lines)."""
    if not _LAYOUT_WHITE_SPACE.search(text):
        return text
    return " ".join(text.split()) + (" " if text[-1].isspace() else "")


class TextBuilder:
    """Paragraphs, each made of parts printed on known pages, into text and its page map."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.page_map: list[tuple[int, int, int]] = []

    def paragraph(self, parts: list[tuple[str, int | None]]) -> None:
        """One paragraph from its lines, (text, page) each, joined as wrapped lines are."""
        parts = [(_one_line(text), page) for text, page in parts if text and not text.isspace()]
        if not parts:
            return
        if self._parts:
            self._emit("\n\n", None)
        previous = ""
        for text, page in parts:
            sep = join_lines(previous, text)
            if sep:
                self._emit(sep, page)
            self._emit(text, page)
            previous = text

    def _emit(self, text: str, page: int | None) -> None:
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        if page is None:
            return
        if self.page_map and self.page_map[-1][2] == page and self.page_map[-1][1] == start:
            self.page_map[-1] = (self.page_map[-1][0], self._length, page)
        else:
            self.page_map.append((start, self._length, page))

    @property
    def text(self) -> str:
        return "".join(self._parts) + ("\n" if self._parts else "")


def form_feed_pages(text: str) -> tuple[int | None, list[tuple[int, int, int]] | None]:
    """A plain text's pages: one more than its form feeds (pdftotext puts one between pages);
    (None, None) when it holds none, as its pages are then unknown."""
    breaks = [m.start() for m in re.finditer("\f", text)]
    if not breaks:
        return None, None
    if not text[breaks[-1] + 1:].strip():  # a form feed that ends the text opens no page
        breaks.pop()
    bounds = [0, *(b + 1 for b in breaks), len(text)]
    return len(bounds) - 1, [(bounds[i], bounds[i + 1], i + 1) for i in range(len(bounds) - 1)]


def page_span(page_map: list[list[int]] | None, start: int | None, end: int | None) -> tuple[int | None, int | None]:
    """The first and last page of the text between offsets start and end (exclusive) of the
    read text: None, None when the pages are unknown."""
    if not page_map or start is None or end is None:
        return None, None
    starts = [run[0] for run in page_map]
    pages = []
    for offset in (start, max(start, end - 1)):
        i = bisect.bisect_right(starts, offset) - 1
        # An offset between runs (a separator) counts on the page of the run after it.
        if i < 0 or offset >= page_map[i][1]:
            i = min(i + 1, len(page_map) - 1)
        pages.append(page_map[i][2] if i >= 0 else None)
    first, last = pages
    if first is not None and last is not None and last < first:
        first, last = last, first
    return first, last
