"""UN document symbols and resolution numbers: the one definition of what they look like.

A document symbol is an organ's capital letters, then slash-separated parts:

    A/74/759            A/RES/74/304         A/74/L.85/Add.1      E/CN.6/2020/1
    A/HRC/38/25         A/ES-10/L.22         ICCD/COP(14)/23      FCCC/CP/2015/10/Add.1
    S/RES/2334(2016)    S/RES/2334 (2016)

- the organ: 1 to 10 capitals (A, S, E, ST, UNEP, FCCC, CEDAW, …);
- each part: runs of ASCII letters and digits joined by '.' or '-' (L.85, Add.1, ES-10,
  CN.6), so a part never ends in the full stop or hyphen of the sentence around it, and may
  carry a parenthesised number straight after it (COP(14), 2334(2016));
- a Security Council resolution's year may also follow its number after one space, as the UN
  prints it: S/RES/2334 (2016) (after another symbol, ' (2016)' is text about it, not part of it);
- a symbol holds at least one digit: A/HRC, UN/DESA or N/A name no document.

`SYMBOL` is the pattern as source text with no look-around, so Polars (Rust regex) can use it
as well as `re`; where a symbol is looked for is up to the caller: `SYMBOL_RE` finds symbols
in running text (`find_symbols`), `SYMBOL_LINE_RE` and `is_symbol` take a whole line or value.

A resolution's number is how Chinese text cites it: 第 72/278 号决议 (General Assembly,
session/number), 第 1540(2004)号决议 (Security Council, number and year).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

ORGAN = r"[A-Z]{1,10}"
"""The organ's letters that open a symbol: A, S, E, ST, UNEP, FCCC, CEDAW, …"""

PART = r"[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*(?:\(\d{1,4}\))?"
"""One slash-separated part: 74, RES, L.85, Add.1, CN.6, ES-10, COP(14), 2334(2016)."""

SC_RESOLUTION_SYMBOL = r"S/RES/\d{1,4} \(\d{4}\)"
"""A Security Council resolution's symbol as the UN prints it, its year after a space."""

SYMBOL = rf"(?:{SC_RESOLUTION_SYMBOL}|{ORGAN}(?:/{PART})+)"
"""A document symbol (see the module's docstring), as pattern source with no look-around and
no anchors. Whether it must hold a digit is checked on the match (`has_digit`), since neither
look-ahead nor a lookbehind is available to every engine that uses it."""

_NOT_AFTER = r"(?<![A-Za-z0-9/.])"  # not the tail of a longer symbol, a word or a URL's path

SYMBOL_RE = re.compile(_NOT_AFTER + SYMBOL)
"""A symbol inside running text: not glued to a letter, digit, '/' or '.' before it."""

SYMBOL_LINE_RE = re.compile(rf"^{SYMBOL}$")
"""A line that is a symbol and nothing else (a document's symbol in its front matter)."""

GA_RESOLUTION_NUMBER = r"\d{1,3}/\d{1,4}"
"""A General Assembly resolution's number, session/number: 72/278, 74/303."""

GA_RESOLUTION_PREFIX = "A/RES/"
"""What a General Assembly resolution's number is prefixed with to make its symbol."""

GA_RESOLUTION_HEADING = rf"({GA_RESOLUTION_NUMBER})\s*[.．]"
"""A resolution's own number as printed above its title: '74/303. 联合国与…'."""

TREATY_BODIES = r"(?:CP|CMP|CMA|COP|MOP)"
"""The conferences of the parties whose decisions are cited by number: 1/CP.21, 2/CMA.1."""

RESOLUTION_NUMBER = rf"\d{{1,4}}/(?:\d{{1,4}}|{TREATY_BODIES}\.\d{{1,2}})"
"""A cited resolution's or decision's number of any organ: 72/278 (General Assembly),
38/25 (Human Rights Council), 2019/15 (Economic and Social Council), 1/CP.21 (a treaty's
conference of the parties)."""

SC_RESOLUTION_CITATION = r"(\d{1,4})\s*[(（]\s*(\d{4})\s*[)）]\s*号\s*决议"
"""A Security Council resolution as Chinese text cites it: 1540(2004)号决议, number then year
(the 第 before it is the caller's to require or allow)."""

_SESSION_OF_SYMBOL = re.compile(r"^A/(?:RES/|DEC/)?(\d{1,3})/")
_TREATY_DECISION = re.compile(rf"{TREATY_BODIES}\.\d+")


def has_digit(symbol: str) -> bool:
    """Whether a match of SYMBOL names a document: every document symbol holds a number."""
    return any(ch.isdigit() for ch in symbol)


def is_symbol(text: str) -> bool:
    """Whether this line or value is one document symbol and nothing else."""
    return SYMBOL_LINE_RE.match(text) is not None and has_digit(text)


def find_symbols(text: str) -> Iterator[re.Match]:
    """The document symbols in running text, in order."""
    if "/" not in text:  # most paragraphs cite none, and `in` costs far less than a scan
        return iter(())
    return (m for m in SYMBOL_RE.finditer(text) if has_digit(m.group(0)))


def symbol_key(symbol: str) -> str:
    """A symbol as ids and keys spell it, without spaces: S/RES/2334 (2016) → S/RES/2334(2016)."""
    return re.sub(r"\s+", "", symbol)


def ga_resolution_symbol(number: str) -> str:
    """The symbol of General Assembly resolution `number`: 74/303 → A/RES/74/303."""
    return f"{GA_RESOLUTION_PREFIX}{number}"


def sc_resolution_symbol(number: str | int, year: str | int) -> str:
    """The symbol of a Security Council resolution, as the UN prints it: S/RES/2334 (2016)."""
    return f"S/RES/{number} ({year})"


def resolution_symbol(number: str, kind: str, context: str) -> str:
    """Symbol for a cited resolution or decision number (RESOLUTION_NUMBER).

    ``kind`` is 决议 (resolution) or 决定 (decision); ``context`` is the text just before the
    mention: the organ named there decides the series (Human Rights Council, Economic and
    Social Council); session/number without an organ is the General Assembly's numbering, a
    four-digit first part (2019/15) the Economic and Social Council's, and a treaty body's
    decision (1/CP.21) is its own symbol.
    """
    number = number.replace(" ", "")
    first, _, rest = number.partition("/")
    if _TREATY_DECISION.fullmatch(rest):
        return number
    suffix = "RES" if kind == "决议" else "DEC"
    if re.search(r"人权理事会\s*$", context):
        return f"A/HRC/{suffix}/{number}"
    if len(first) == 4 or re.search(r"(经济及社会理事会|经社理事会)\s*$", context):
        return f"E/{suffix}/{number}"
    return f"A/{suffix}/{number}"


def session_of_symbol(symbol: str | None) -> int | None:
    """The General Assembly session a symbol belongs to: A/74/759, A/RES/74/304 and
    A/DEC/74/555 → 74; None for another organ's symbol or one without a session."""
    m = _SESSION_OF_SYMBOL.match(symbol or "")
    return int(m.group(1)) if m else None
