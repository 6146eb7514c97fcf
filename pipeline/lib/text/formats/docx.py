"""Word (DOCX) through python-docx: the body's paragraphs and tables in order, with Word's own
paragraph numbering written out (`1.`, `(a)`, `一、`), footnote references as superscript
numbers and the footnotes as paragraphs at the end; the first page's header and footer (where
the masthead's job number and barcode are) come first. Running headers of the other pages are
furniture and left out. A DOCX has no fixed pages: its page map is empty.

A DOCX is a zip: its entries' uncompressed sizes are checked against a cap before anything is
inflated (a zip bomb is refused unread; zipfile never inflates an entry beyond its declared size).
"""
from __future__ import annotations

import zipfile
from io import BytesIO

from pipeline.lib.text.formats import SUPERSCRIPT_DIGITS, Extracted, TextBuilder, Unreadable

# What the entries of one DOCX may inflate to, in all, and how many entries it may hold.
MAX_UNCOMPRESSED = 256 * 1024 * 1024
MAX_ENTRIES = 10_000
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_FOOTNOTES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
_ROMAN = (("m", 1000), ("cm", 900), ("d", 500), ("cd", 400), ("c", 100), ("xc", 90), ("l", 50), ("xl", 40),
          ("x", 10), ("ix", 9), ("v", 5), ("iv", 4), ("i", 1))
_CN = "〇一二三四五六七八九"


def check_zip(data: bytes, name: str) -> None:
    """Refuse a zip whose entries would inflate beyond MAX_UNCOMPRESSED, before inflating any."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            entries = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - whatever a damaged zip raises (BadZipFile, NotImplementedError, …)
        raise Unreadable("corrupt", f"{name}not a readable Word file: the zip is damaged or cut off ({exc})") from exc
    total = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ENTRIES or total > MAX_UNCOMPRESSED:
        raise Unreadable("too_large", f"{name}the Word file would inflate to {total:,} bytes in {len(entries):,} "
                         f"entries, over the cap of {MAX_UNCOMPRESSED:,} bytes (a zip bomb?): not inflated")


def read_docx(data: bytes, *, label: str = "") -> Extracted:
    name = f"{label}: " if label else ""
    check_zip(data, name)
    import docx

    try:
        document = docx.Document(BytesIO(data))
        reader = _Reader(document)
        texts = [*reader.first_page_furniture(), *reader.body(), *reader.footnotes()]
    except Exception as exc:  # noqa: BLE001 - a damaged part: the package, lxml's XMLSyntaxError, zipfile's errors
        raise Unreadable("corrupt", f"{name}not a readable Word file ({type(exc).__name__}: {exc})") from exc
    builder = TextBuilder()
    for text in texts:
        builder.paragraph([(text, None)])
    return Extracted(builder.text, "docx", None, None, encoding=None)


class _Reader:
    def __init__(self, document) -> None:
        self.document = document
        self.note_numbers: dict[str, int] = {}  # footnote id → its number, by first reference
        self.counters: dict[tuple[str, int], int] = {}
        self.levels = self._numbering()

    # --- numbering: Word's automatic paragraph numbers, as printed -----------------------------
    def _numbering(self) -> dict[str, dict[int, tuple[int, str, str]]]:
        """numId → level → (start, format, level text such as '%1.')."""
        try:
            root = self.document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return {}
        abstract = {}
        for node in root.iter(f"{_W}abstractNum"):
            levels = {}
            for lvl in node.iter(f"{_W}lvl"):
                start = lvl.find(f"{_W}start")
                fmt = lvl.find(f"{_W}numFmt")
                text = lvl.find(f"{_W}lvlText")
                levels[int(lvl.get(f"{_W}ilvl", "0"))] = (
                    int(start.get(f"{_W}val", "1")) if start is not None else 1,
                    fmt.get(f"{_W}val", "decimal") if fmt is not None else "decimal",
                    text.get(f"{_W}val", "") if text is not None else "")
            abstract[node.get(f"{_W}abstractNumId")] = levels
        nums = {}
        for num in root.iter(f"{_W}num"):
            ref = num.find(f"{_W}abstractNumId")
            if ref is not None and ref.get(f"{_W}val") in abstract:
                nums[num.get(f"{_W}numId")] = abstract[ref.get(f"{_W}val")]
        return nums

    def _label(self, p) -> str:
        num_pr = p.find(f"{_W}pPr/{_W}numPr")
        if num_pr is None:
            return ""
        num_id = num_pr.find(f"{_W}numId")
        ilvl = num_pr.find(f"{_W}ilvl")
        num = num_id.get(f"{_W}val") if num_id is not None else None
        level = int(ilvl.get(f"{_W}val", "0")) if ilvl is not None else 0
        levels = self.levels.get(num)
        if not levels or level not in levels:
            return ""
        for key in [k for k in self.counters if k[0] == num and k[1] > level]:
            del self.counters[key]  # a deeper level starts again under a new item
        start = levels[level][0]
        self.counters[(num, level)] = self.counters.get((num, level), start - 1) + 1
        text = levels[level][2]
        for i in range(level + 1):
            if i in levels:
                value = self.counters.get((num, i), levels[i][0])
                text = text.replace(f"%{i + 1}", _format(value, levels[i][1]))
        if levels[level][1] == "bullet" or not text:
            return ""
        return text + " "

    # --- runs -----------------------------------------------------------------------------------
    def _text(self, p, *, in_note: bool = False) -> str:
        out = []
        for node in p.iter(f"{_W}r"):  # deleted text is w:delText, never w:t: it is left out
            r_pr = node.find(f"{_W}rPr")
            align = r_pr.find(f"{_W}vertAlign") if r_pr is not None else None
            superscript = align is not None and align.get(f"{_W}val") == "superscript"
            for child in node:
                tag = child.tag
                if tag == f"{_W}t":
                    text = child.text or ""
                    out.append(text.translate(SUPERSCRIPT_DIGITS) if superscript and text.strip().isdigit() else text)
                elif tag in (f"{_W}tab", f"{_W}ptab"):
                    out.append("\t")
                elif tag in (f"{_W}br", f"{_W}cr"):
                    out.append("\n")
                elif tag == f"{_W}noBreakHyphen":
                    out.append("-")
                elif tag == f"{_W}footnoteReference" and not in_note:
                    note = child.get(f"{_W}id")
                    number = self.note_numbers.setdefault(note, len(self.note_numbers) + 1)
                    out.append(str(number).translate(SUPERSCRIPT_DIGITS))
        return "".join(out)

    def _paragraph(self, p) -> str:
        return self._label(p) + self._text(p)

    # --- the parts ------------------------------------------------------------------------------
    def first_page_furniture(self) -> list[str]:
        """The first page's header and footer lines (the masthead's job number and barcode)."""
        sections = self.document.sections
        if not sections:
            return []
        section = sections[0]
        first = section.different_first_page_header_footer
        out = []
        for part in ((section.first_page_header, section.first_page_footer) if first
                     else (section.header, section.footer)):
            if part.is_linked_to_previous and not first:
                continue
            out.extend(self._text(p._p) for p in part.paragraphs)
        return [text for text in out if text.strip()]

    def body(self) -> list[str]:
        return self._blocks(self.document.element.body)

    def _blocks(self, parent) -> list[str]:
        """Paragraphs, each cell's paragraphs of a table (a nested table's too) and what content
        controls hold, in reading order."""
        out = []
        for child in parent.iterchildren():
            if child.tag == f"{_W}p":
                out.append(self._paragraph(child))
            elif child.tag == f"{_W}tbl":
                for row in child.iterchildren(f"{_W}tr"):
                    for cell in row.iterchildren(f"{_W}tc"):
                        out.extend(self._blocks(cell))
            elif child.tag == f"{_W}sdt":
                content = child.find(f"{_W}sdtContent")
                if content is not None:
                    out.extend(self._blocks(content))
        return out

    def footnotes(self) -> list[str]:
        """The footnotes, in the order of their first reference, each opening with its number."""
        part = next((rel.target_part for rel in self.document.part.rels.values()
                     if rel.reltype == _FOOTNOTES and not rel.is_external), None)
        if part is None or not self.note_numbers:
            return []
        from docx.oxml import parse_xml

        root = parse_xml(part.blob)
        bodies = {}
        for note in root.iterchildren(f"{_W}footnote"):
            if note.get(f"{_W}type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            text = " ".join(self._text(p, in_note=True).strip() for p in note.iter(f"{_W}p"))
            bodies[note.get(f"{_W}id")] = text.strip()
        out = []
        for note, number in sorted(self.note_numbers.items(), key=lambda item: item[1]):
            if note in bodies:
                out.append(f"{str(number).translate(SUPERSCRIPT_DIGITS)} {bodies[note]}")
        return out


def _format(value: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = ""
        while value > 0:
            value, rest = divmod(value - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters.upper() if fmt == "upperLetter" else letters
    if fmt in ("lowerRoman", "upperRoman"):
        out = []
        for letters, size in _ROMAN:
            while value >= size:
                out.append(letters)
                value -= size
        return "".join(out).upper() if fmt == "upperRoman" else "".join(out)
    if fmt.startswith(("chineseCounting", "ideographTraditional", "taiwaneseCounting", "japaneseCounting")):
        return _chinese(value)
    return str(value)


def _chinese(value: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 25 → 二十五 (Word's chineseCounting, up to 99)."""
    if value < 10:
        return _CN[value]
    tens, ones = divmod(value, 10)
    return (("" if tens == 1 else _CN[tens]) + "十" + (_CN[ones] if ones else "")) if value < 100 else str(value)
