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

from pipeline.lib.text.numerals import cn_to_int

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
_OLD_SESSION_OF_SYMBOL = re.compile(r"^A/RES/\d{1,4}\s*\(([IVXL]+)\)")
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
    """A symbol as ids and keys spell it, without spaces: S/RES/2334 (2016) → S/RES/2334(2016);
    a letter l printed for the digit 1 after Rev., Add. or Corr. is read as 1 (A/54/L.81/Rev.l)."""
    return re.sub(r"\b(Rev|Add|Corr)\.l\b", r"\1.1", re.sub(r"\s+", "", symbol))


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


CN_NUMERAL = "[〇零一二两三四五六七八九十百千]+"
"""A number in Chinese numerals, counted (四十六) or digit by digit (一八二一)."""

SC_RESOLUTION_ITEM = r"(\d{1,4})\s*[(（]\s*(\d{4})\s*[)）]\s*号"
"""One Security Council resolution of a list as Chinese text cites it: 338(1973)号 (number and
year; the 决议 that ends the list follows its last item)."""

SC_RESOLUTION_LIST_SEPARATOR = (r"\s*(?:、|，|,|和|及|与|以及|至)\s*"
                                rf"(?:(?:(?:[〇零一二三四五六七八九]{{4}}|\d{{4}})\s*年\s*)?"
                                rf"(?:{CN_NUMERAL}|\d{{1,2}})\s*月\s*(?:{CN_NUMERAL}|\d{{1,2}})\s*日\s*(?:的)?\s*)?"
                                r"(?:第\s*)?")
"""What stands between two items of such a list: a comma or a conjunction, and maybe the
date of adoption of the next item (十月二十五日第340(1973)号, 一九七四年四月八日第346(1974)号)."""

_OLD_NUMBER = r"[〇零0一二两三四五六七八九十百千]+|\d{1,4}"
_OLD_YEAR_OR_SESSION = r"[〇零0一二三四五六七八九]{4}|\d{4}|[一二三四五六七八九十]{1,3}|\d{1,2}"
OLD_RESOLUTION = (rf"决议案\s*({_OLD_NUMBER})\s*[(（]\s*({_OLD_YEAR_OR_SESSION})\s*[)）]"
                  rf"|({_OLD_NUMBER})\s*[(（]\s*({_OLD_YEAR_OR_SESSION})\s*[)）]\s*(?:号\s*)?决议案")
"""Resolutions as texts before the 1970s cite them: the Security Council's with their year,
决议案四十六(一九四八), 四十八(一九四八)决议案 (46 (1948) in the English texts); the General
Assembly's with their session, 决议案三九六(五), 决议案二0二五(二十) (396 (V), 2025 (XX))."""

OLD_RESOLUTION_HEADING = rf"^\s*({_OLD_NUMBER})\s*[(（]\s*({_OLD_YEAR_OR_SESSION})\s*[)）]\s*[.．、]"
"""Such a resolution's own number above its title: 四十八(一九四八).一九四八年…决议案,
二一五九(二十一)、中国在联合国之代表权问题."""


def _old_number(text: str) -> int | None:

    return cn_to_int(text.replace("0", "〇"))


def to_roman(number: int) -> str:
    """2159 (XXI): a General Assembly session as its old symbols print it."""
    out = []
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def old_resolution_symbol(number: str, year_or_session: str) -> str | None:
    """The symbol of an old-style citation: a four-digit year makes it the Security Council's
    (四十六, 一九四八 → S/RES/46 (1948)), a session number the General Assembly's (三九六, 五 →
    A/RES/396 (V)); None when the numbers cannot be read."""
    n, second = _old_number(number), _old_number(year_or_session)
    if not n or not second:
        return None
    if 1945 <= second <= 2100:
        return sc_resolution_symbol(n, second)
    if second <= 80:
        return f"A/RES/{n} ({to_roman(second)})"
    return None

CORRIGENDA = r"\s*(?:和|及|、|,|，)\s*(Corr|Add|Rev)\.(\d{1,2})((?:\s*(?:和|及|、|,|，)\s*\d{1,2})*)"
"""Corrigenda and addenda printed after a symbol: S/11670和Corr.1和2 (S/11670, S/11670/Corr.1
and S/11670/Corr.2)."""

MEETING = rf"第\s*(\d{{1,5}}|{CN_NUMERAL})\s*次\s*(全体)?会议"
"""A numbered meeting of an organ: 第4872次会议, 第一八二一次会议, 第63次全体会议."""


def meeting_record(organ: str, number: int, session: int | None = None) -> str | None:
    """The symbol of a meeting's verbatim record, which names the meeting: the Security
    Council's 4872nd meeting is S/PV.4872, the General Assembly's 63rd plenary meeting of its
    74th session A/74/PV.63 (None without the session)."""
    if organ == "S":
        return f"S/PV.{number}"
    if organ == "A" and session is not None:
        return f"A/{session}/PV.{number}"
    return None


def organ_of_symbol(symbol: str | None) -> str | None:
    """The organ letters a symbol opens with, for the organs whose meetings are numbered:
    'S' (Security Council) or 'A' (General Assembly); None otherwise."""
    head = (symbol or "").split("/", 1)[0]
    return head if head in ("S", "A") and "/" in (symbol or "") else None


def session_of_symbol(symbol: str | None) -> int | None:
    """The General Assembly session a symbol belongs to: A/74/759, A/RES/74/304 and
    A/DEC/74/555 → 74; None for another organ's symbol or one without a session."""
    m = _SESSION_OF_SYMBOL.match(symbol or "")
    if m:
        return int(m.group(1))
    m = _OLD_SESSION_OF_SYMBOL.match(symbol or "")  # A/RES/2159 (XXI) → 21
    if m:
        return next(n for n in range(1, 90) if to_roman(n) == m.group(1))
    return None
