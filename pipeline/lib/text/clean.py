"""Cleaning: from decoded source text to `clean_text`, split into paragraph pieces.

What cleaning does, in order:
1. Splits lines (LF, CRLF, CR), drops zero-width characters, turns layout spaces
   (NBSP, ideographic space, tabs) into plain spaces and notes indentation.
2. Groups lines into pieces: a blank line ends a piece; inside a block, a line
   that starts a paragraph (a number, a list label, a heading, a footnote, a
   closing line, an indented line) starts a new piece, any other line continues
   the one before (hard line breaks of PDF exports).
3. Removes the export's markup (`**…**`, `[…](…)`) and keeps the words.
4. Normalises white space: runs collapse to one space; a space between two
   Chinese characters is layout and goes; spaces next to Latin words and
   numbers stay. Full-width digits and Latin letters become ASCII.
5. Moves footnote bodies (`¹ …`) out of the running text to the end.
6. Rejoins paragraphs cut by page breaks (see `_is_page_break_cut`).

Every character of `clean_text` keeps the offset of the source character it came
from, so offsets can be traced back to the source file (`source_map`). A piece keeps
those offsets as spans, `(source offset, length)` runs of consecutive source
characters, so that nothing is done character by character in Python: characters
are mapped with `str.translate`, found with regular expressions and cut out by range.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_LAYOUT_SPACES = "\u00a0\u2002\u2003\u2009\u202f\u3000\t\f\v"
_FULLWIDTH_ALNUM = {
    **{0xFF10 + i: 0x30 + i for i in range(10)},
    **{0xFF21 + i: 0x41 + i for i in range(26)},
    **{0xFF41 + i: 0x61 + i for i in range(26)},
}

CN_DIGITS = "〇零一二三四五六七八九十百千两"
NUMBERED = re.compile(r"^([0-9]{1,3})[.．](?:\s+|(?=[\u4e00-\u9fff*《“(（\[]))")
LIST_ITEM = re.compile(r"^[(（]([a-z]{1,2}|[ivxl]{1,5})[)）]\s*")
BRANCH_ITEM = re.compile(r"^[(（]([子丑寅卯辰巳午未申酉戌亥])[)）]\s*")
CN_NUMBERED = re.compile(r"^([一二三四五六七八九十百]+)[、.．]\s*")
LETTER_HEADING = re.compile(r"^([A-Z])[.．]\s+(?=\S)")
ORDINAL_HEADING = re.compile(r"^第([" + CN_DIGITS + r"0-9]+)([章条节编篇]|部分)(?:[：:\s]|$)")
FOOTNOTE = re.compile(r"^([" + SUPERSCRIPTS + r"]+)\s*")
CLOSING_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
PLENARY = re.compile(r"^第\s*(\d+)\s*次全体会议$")
ADDRESSEE = re.compile(r"^(大会|安全理事会|经济及社会理事会|人权理事会|托管理事会)[，,]$")
_MARKUP = re.compile(r"\*\*(.+?)\*\*|\[([^\[\]]+?)\]\([^()\s]*\)")
_FINAL = set("。！？!?；;：:…")
_SOFT = set("，,、")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u2018-\u201f《》「」『』【】]")
# One pass over a line: zero-width characters go, layout spaces become spaces, full-width
# digits and letters become ASCII.
_LINE_TABLE = {**_ZERO_WIDTH, **dict.fromkeys(map(ord, _LAYOUT_SPACES), " "), **_FULLWIDTH_ALNUM}
_TO_MAP = re.compile("[" + re.escape("".join(map(chr, _LINE_TABLE))) + "]")  # most lines have none
_VISIBLE_RUN = re.compile("[^" + "".join(map(chr, _ZERO_WIDTH)) + "]+")
# The spaces `_normalise_spaces` drops: at either end, before another space (a run keeps
# its last one), or between two Chinese characters.
# (Written to start with the space itself, so the regex engine can skip ahead to spaces.)
_SPACE_TO_DROP = re.compile(rf" (?:(?<=\A )|(?=\Z| )|(?<={_CJK.pattern} )(?={_CJK.pattern}))")


Span = tuple[int, int]  # (source offset of the first character, number of characters)


@dataclass
class Piece:
    """A paragraph-to-be: its characters and, as spans, the source offsets they came from."""

    text: str
    spans: list[Span]
    blank_before: bool = True
    indented: bool = False
    footnote: str | None = None
    joined_page_break: bool = False

    @property
    def offsets(self) -> list[int]:
        """The source offset of every character (for inspection; the code works on spans)."""
        return [src + i for src, n in self.spans for i in range(n)]

    def append(self, other: Piece, sep: str = "", sep_offset: int | None = None) -> None:
        if sep:
            self.text += sep
            if sep_offset is None:
                src, n = self.spans[-1]
                sep_offset = src + n - 1
            self.spans.append((sep_offset, 1))
        self.text += other.text
        self.spans.extend(other.spans)


@dataclass
class CleanPiece:
    text: str
    char_start: int
    char_end: int
    source_start: int
    source_end: int
    footnote: str | None
    joined_page_break: bool
    indented: bool


@dataclass
class Cleaned:
    clean_text: str
    pieces: list[CleanPiece]
    source_map: list[list[int]] = field(default_factory=list)

    def source_map_json(self) -> str:
        return json.dumps(self.source_map, separators=(",", ":"))


def starts_paragraph(line: str) -> bool:
    return bool(
        NUMBERED.match(line) or LIST_ITEM.match(line) or BRANCH_ITEM.match(line)
        or CN_NUMBERED.match(line) or LETTER_HEADING.match(line) or ORDINAL_HEADING.match(line)
        or FOOTNOTE.match(line) or CLOSING_DATE.match(line) or PLENARY.match(line)
        or ADDRESSEE.match(line)
    )


def is_heading_line(line: str) -> bool:
    """A line that is a heading on its own: a chapter or article, or a short numbered title."""
    if ORDINAL_HEADING.match(line) and len(line) <= 40 and line[-1] not in _FINAL | _SOFT:
        return True
    for pattern in (CN_NUMBERED, LETTER_HEADING):
        m = pattern.match(line)
        if m and len(line) <= 60 and line[-1] not in _FINAL | _SOFT and "。" not in line:
            return pattern is LETTER_HEADING or line[m.end() - 1 : m.end()] in ".．" or len(line) <= 30
    return False


def clean(source: str) -> Cleaned:
    pieces = _pieces(source)
    for piece in pieces:
        _strip_markup(piece)
        _normalise_spaces(piece)
    pieces = [p for p in pieces if p.text]
    body: list[Piece] = []
    footnotes: list[Piece] = []
    for piece in pieces:
        m = FOOTNOTE.match(piece.text)
        if m:
            piece.footnote = _superscript_number(m.group(1))
            footnotes.append(piece)
        else:
            body.append(piece)
    body = _rejoin_page_breaks(body)
    return _assemble(body + footnotes)


def _superscript_number(marks: str) -> str:
    return "".join(str(SUPERSCRIPTS.index(c)) for c in marks)


def _lines(source: str):
    """(text, offset of first char, offset just after the line) for every line."""
    for m in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n|$)", source):
        if m.start() == m.end() == len(source) and m.start() > 0:
            break
        raw = m.group(0).rstrip("\r\n")
        yield raw, m.start(), m.start() + len(raw)


def _pieces(source: str) -> list[Piece]:
    pieces: list[Piece] = []
    current: Piece | None = None
    blank_seen = True
    previous_line = ""
    for raw, start, end in _lines(source):
        text = raw.translate(_LINE_TABLE) if _TO_MAP.search(raw) else raw
        if len(text) == len(raw):  # no zero-width character: one contiguous range
            spans = [(start, len(raw))]
        else:
            spans = [(start + m.start(), m.end() - m.start()) for m in _VISIBLE_RUN.finditer(raw)]
        indented = raw.startswith("\u3000") or raw.startswith("  ") or raw.startswith("\t")
        lead = len(text) - len(text.lstrip())
        text_stripped = text.strip()
        if not text_stripped:
            current = None
            blank_seen = True
            continue
        if len(text_stripped) != len(text):
            spans = _select(spans, [(lead, lead + len(text_stripped))])
        line = Piece(text_stripped, spans, blank_before=blank_seen, indented=indented)
        # Layout spaces go before the line is classified: "第 63 次\u3000全体会议" is a closing line.
        _normalise_spaces(line)
        new_paragraph = (
            current is None or starts_paragraph(line.text) or indented
            or is_heading_line(previous_line) or ORDINAL_HEADING.match(previous_line) is not None
            or FOOTNOTE.match(current.text) is not None
        )
        if new_paragraph:
            current = line
            pieces.append(current)
        else:
            # A hard line break inside a paragraph: Chinese needs no space, Latin words do.
            sep = " " if _latin(current.text[-1]) and _latin(line.text[0]) else ""
            current.append(line, sep, end)
        previous_line = line.text
        blank_seen = False
    return pieces


def _latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in ".,;:%)")


def _select(spans: list[Span], ranges: list[tuple[int, int]]) -> list[Span]:
    """The spans of the characters at the text positions in `ranges` (sorted, not overlapping)."""
    out: list[Span] = []
    i, at = 0, 0  # spans[i] covers text positions at .. at + its length
    for a, b in ranges:
        while a < b:
            src, n = spans[i]
            if a >= at + n:
                i += 1
                at += n
                continue
            end = min(b, at + n)
            first = src + a - at
            if out and out[-1][0] + out[-1][1] == first:
                out[-1] = (out[-1][0], out[-1][1] + end - a)
            else:
                out.append((first, end - a))
            a = end
    return out


def _keep(piece: Piece, ranges: list[tuple[int, int]]) -> None:
    """Keep the characters at the text positions in `ranges`, drop the rest."""
    piece.text = "".join(piece.text[a:b] for a, b in ranges)
    piece.spans = _select(piece.spans, ranges)


def _strip_markup(piece: Piece) -> None:
    text = piece.text
    if "**" not in text and "](" not in text:
        return
    ranges: list[tuple[int, int]] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        group = 1 if m.group(1) is not None else 2
        ranges += [(pos, m.start()), m.span(group)]
        pos = m.end()
    if ranges:
        ranges.append((pos, len(text)))
        _keep(piece, ranges)


def _normalise_spaces(piece: Piece) -> None:
    """Runs of spaces collapse to their last one, none at the ends, and a space between two
    Chinese characters is layout only (see `_SPACE_TO_DROP`)."""
    text = piece.text
    if " " not in text:
        return
    ranges: list[tuple[int, int]] = []
    pos = 0
    for m in _SPACE_TO_DROP.finditer(text):
        ranges.append((pos, m.start()))
        pos = m.end()
    if ranges:
        ranges.append((pos, len(text)))
        _keep(piece, ranges)


def _ends_open(text: str) -> bool:
    """True when the text stops mid-sentence at a word, not at punctuation."""
    text = text.rstrip(SUPERSCRIPTS + " ")  # a footnote marker after the stop is not a word
    last = text[-1] if text else "。"
    return last not in _FINAL and last not in _SOFT


def _is_page_break_cut(before: Piece, after: Piece, in_body: bool) -> bool:
    """A page break cut a paragraph in two when the second part starts no paragraph of its own
    and the first stops mid-sentence: at a word, or at a comma of a numbered paragraph.
    A resolution's preambular paragraphs end in '，' and are unnumbered, so they stay apart.
    """
    if not in_body or not after.blank_before or starts_paragraph(after.text) or after.indented:
        return False
    if is_heading_line(before.text) or ORDINAL_HEADING.match(before.text) or ADDRESSEE.match(before.text):
        return False
    if CLOSING_DATE.match(before.text) or PLENARY.match(before.text):
        return False
    if _ends_open(before.text):
        return True
    numbered = bool(NUMBERED.match(before.text) or LIST_ITEM.match(before.text))
    return numbered and before.text.rstrip(SUPERSCRIPTS + " ")[-1] in _SOFT


def _rejoin_page_breaks(body: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    in_body = False
    for piece in body:
        if out and _is_page_break_cut(out[-1], piece, in_body):
            before = out[-1]
            sep = " " if _latin(before.text[-1]) and _latin(piece.text[0]) else ""
            before.append(piece, sep, piece.spans[0][0])
            before.joined_page_break = True
            continue
        if (NUMBERED.match(piece.text) or ORDINAL_HEADING.match(piece.text)
                or ADDRESSEE.match(piece.text) or is_heading_line(piece.text)):
            in_body = True
        out.append(piece)
    return out


def _assemble(pieces: list[Piece]) -> Cleaned:
    parts: list[str] = []
    clean_pieces: list[CleanPiece] = []
    runs: list[list[int]] = []
    pos = 0
    for piece in pieces:
        if parts:
            parts.append("\n")
            pos += 1
        start = pos
        parts.append(piece.text)
        pos += len(piece.text)
        first_run = len(runs)  # the "\n" between pieces is unmapped: runs never cross it
        at = start
        for src, n in piece.spans:
            if len(runs) > first_run and runs[-1][1] + runs[-1][2] == src:
                runs[-1][2] += n
            else:
                runs.append([at, src, n])
            at += n
        clean_pieces.append(CleanPiece(
            text=piece.text, char_start=start, char_end=pos,
            source_start=min(src for src, _ in piece.spans),
            source_end=max(src + n for src, n in piece.spans),
            footnote=piece.footnote, joined_page_break=piece.joined_page_break,
            indented=piece.indented,
        ))
    return Cleaned("".join(parts), clean_pieces, runs)


def source_offset(source_map: list[list[int]], clean_offset: int) -> int:
    """The source offset a clean_text offset came from (nearest preceding mapped character)."""
    lo, hi = 0, len(source_map) - 1
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        if source_map[mid][0] <= clean_offset:
            best = source_map[mid]
            lo = mid + 1
        else:
            hi = mid - 1
    if best is None:
        return 0
    return best[1] + min(clean_offset - best[0], best[2])
