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
from, so offsets can be traced back to the source file (`source_map`).
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


@dataclass
class Piece:
    """A paragraph-to-be: its characters and, for each, the source offset it came from."""

    text: str
    offsets: list[int]
    blank_before: bool = True
    indented: bool = False
    footnote: str | None = None
    joined_page_break: bool = False

    def append(self, other: Piece, sep: str = "", sep_offset: int | None = None) -> None:
        if sep:
            self.text += sep
            self.offsets.append(sep_offset if sep_offset is not None else self.offsets[-1])
        self.text += other.text
        self.offsets.extend(other.offsets)


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
        chars: list[str] = []
        offsets: list[int] = []
        for i, ch in enumerate(raw):
            if ch.translate(_ZERO_WIDTH) == "":
                continue
            if ch in _LAYOUT_SPACES:
                ch = " "
            chars.append(chr(_FULLWIDTH_ALNUM.get(ord(ch), ord(ch))))
            offsets.append(start + i)
        text = "".join(chars)
        indented = raw.startswith("\u3000") or raw.startswith("  ") or raw.startswith("\t")
        lead = len(text) - len(text.lstrip())
        text_stripped = text.strip()
        if not text_stripped:
            current = None
            blank_seen = True
            continue
        offsets = offsets[lead : lead + len(text_stripped)]
        line = Piece(text_stripped, offsets, blank_before=blank_seen, indented=indented)
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


def _keep(piece: Piece, keep: list[bool]) -> None:
    piece.text = "".join(c for c, k in zip(piece.text, keep) if k)
    piece.offsets = [o for o, k in zip(piece.offsets, keep) if k]


def _strip_markup(piece: Piece) -> None:
    keep = [True] * len(piece.text)
    for m in _MARKUP.finditer(piece.text):
        group = 1 if m.group(1) is not None else 2
        for i in range(m.start(), m.end()):
            if not (m.start(group) <= i < m.end(group)):
                keep[i] = False
    _keep(piece, keep)


def _normalise_spaces(piece: Piece) -> None:
    text = piece.text
    keep = [True] * len(text)
    for i, ch in enumerate(text):
        if ch != " ":
            continue
        prev = text[i - 1] if i else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == " " or not prev or not nxt:
            keep[i] = False  # runs collapse to their last space; none at the ends
        elif _CJK.match(prev) and _CJK.match(nxt):
            keep[i] = False  # a space between two Chinese characters is layout only
    _keep(piece, keep)


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
            before.append(piece, sep, piece.offsets[0])
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
        for i, off in enumerate(piece.offsets):
            clean_at = start + i
            if runs and runs[-1][0] + runs[-1][2] == clean_at and runs[-1][1] + runs[-1][2] == off:
                runs[-1][2] += 1
            else:
                runs.append([clean_at, off, 1])
        clean_pieces.append(CleanPiece(
            text=piece.text, char_start=start, char_end=pos,
            source_start=min(piece.offsets), source_end=max(piece.offsets) + 1,
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
