"""Structure: classify cleaned pieces into paragraphs, give them citation-style ids,
link footnotes, and read the document's metadata from its text and sidecar.

The conventions are those of UN documents at large: front matter (session, agenda
item, title, kind of document), sections (一. 二. …, or 第一章) and subsections
(A. B. …, or 第一条), numbered paragraphs with lettered items, a resolution's
preambular and operative paragraphs, footnotes and closing lines. A document with
none of these still gets its paragraphs, split where the source has blank lines.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from pipeline.lib.text import masthead, un_symbols
from pipeline.lib.text.numerals import cn_to_int
from pipeline.lib.text.clean import (
    ADDRESSEE, BRANCH_ITEM, CLOSING_DATE, CN_NUMBERED, LETTER_HEADING, LIST_ITEM, NUMBERED,
    ORDINAL_HEADING, PLENARY, SUPERSCRIPTS, Cleaned, is_heading_line,
)
from pipeline.schemas import METADATA_FIELDS

# Adverbs that mark an operative verb as repeated or extended (又鼓励 "also encourages", 再次重申
# "again reaffirms"): the verb after them is the same act. Longest first, so 再次 wins over a
# shorter adverb it starts with. stats.VERB_PREFIX is derived from this list.
REPETITION_ADVERBS = tuple(sorted(("进一步", "再次", "又", "还", "并", "也"), key=len, reverse=True))
_MARKER_RUN = re.compile(f"[{SUPERSCRIPTS}]+")
_SESSION = re.compile(r"第\s*([〇零一二三四五六七八九十百]+|\d+)\s*届(?:会议|常会|特别会议)")
_AGENDA = re.compile(r"议程项目\s*([0-9]+(?:\s*[(（][a-z][)）])?)")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_GA_RESOLUTION = re.compile(rf"^{un_symbols.GA_RESOLUTION_HEADING}\s*(.+)$")
_SC_RESOLUTION = re.compile(rf"^第\s*{un_symbols.SC_RESOLUTION_CITATION}")
_KIND_LINES = (
    (re.compile(r"^安全理事会主席(?:的)?声明$"), "presidential_statement"),
    (re.compile(r"秘书长的报告|的报告$"), "report"),
    (re.compile(r"秘书长的说明|的说明$|^说明$"), "note"),
    (re.compile(r"的信$|信函$|电文$"), "letter"),
    (re.compile(r"决定$"), "decision"),
    (re.compile(r"决议$"), "resolution"),
)

# --- Document kinds: what each kind of UN document prints about itself --------------------
# An operative verb standing alone over lettered items: 决定: (a)… (b)…
_OPERATIVE_CHAPEAU = re.compile(r"^[\u4e00-\u9fff]{1,8}[:：]$")
# Kinds whose paragraphs the UN does not number: split at blank lines, they are as printed.
UNNUMBERED_KINDS = ("presidential_statement", "letter")
# The organs a document can come from, as the `organ` column names them.
GENERAL_ASSEMBLY, SECURITY_COUNCIL, SECRETARY_GENERAL = "General Assembly", "Security Council", "Secretary-General"
_ORGAN_NAMES = {"大会": GENERAL_ASSEMBLY, "安全理事会": SECURITY_COUNCIL, "秘书长": SECRETARY_GENERAL,
                "经济及社会理事会": "Economic and Social Council", "人权理事会": "Human Rights Council",
                "托管理事会": "Trusteeship Council"}
# The organ a symbol's series belongs to, and the kind of document the series holds.
_SYMBOL_SERIES = (("S/PRST/", SECURITY_COUNCIL, "presidential_statement"), ("S/RES/", SECURITY_COUNCIL, "resolution"),
                  ("A/RES/", GENERAL_ASSEMBLY, "resolution"), ("A/DEC/", GENERAL_ASSEMBLY, "decision"))
# An addressee line in either script (大会， / 安全理事會，): the organ a resolution speaks for.
_ADDRESSEE = re.compile(r"^(大[会會]|安全理事[会會]|[经經]济及社[会會]理事[会會]|人[权權]理事[会會]|[托託]管理事[会會])[，,]$")
_YEAR = r"\d{4}|[〇零一二三四五六七八九0]{4}"
_MONTH_DAY = r"\d{1,2}|[一二三四五六七八九十廿卅]{1,3}"
_ANY_DATE = rf"({_YEAR})\s*年\s*({_MONTH_DAY})\s*月\s*({_MONTH_DAY})\s*日"
"""A date in Arabic or Chinese numerals: 2002年12月17日, 一九七五年四月十七日, 一九四六年一月廿六日."""
_NUMBER = rf"(\d{{1,5}}|{un_symbols.CN_NUMERAL})"
_DATE_LINE = re.compile(rf"^{_ANY_DATE}\s*[,，。.]?$")
_SIGNED_DATE = re.compile(rf"^{_ANY_DATE}\s*[于於]\s*\S{{1,12}}$")  # a letter's 1950年7月6日于北京
_YEAR_LINE = re.compile(rf"^({_YEAR})\s*年$")
_DAY_MONTH_LINE = re.compile(rf"^({_MONTH_DAY})\s*月\s*({_MONTH_DAY})\s*日$")
# 安全理事会主席在2002年12月17日安全理事会第4670次会议上…: a presidential statement opens so.
_PRST_OPENING = re.compile(rf"^安全理事会主席[在于]\s*{_ANY_DATE}\s*(?:举行的)?\s*安全理事会\s*第\s*{_NUMBER}\s*次会议上")
# 2011年6月10日安全理事会第6553次会议通过 / 2000年5月31日安全理事会第4148次会议 (a masthead line).
_MEETING_LINE = re.compile(rf"^(?:{_ANY_DATE})?\s*(安全理事会|大会)\s*第\s*{_NUMBER}\s*次(全体)?会议(?:上)?(?:通过)?[。.]?$")
# Closing lines: 第1821次会议以十三票对零票通过。 第2833次会议一致通过。 第一四八一次全体会议 第十八次全会.
_ADOPTED_AT = re.compile(rf"^第\s*{_NUMBER}\s*次(全体)?会议(?:[^。]*?)通过")
_PLENARY_LINE = re.compile(rf"^(?:{_ANY_DATE}\s*[,，、]?\s*)?第\s*{_NUMBER}\s*次全体?会(?:议)?\s*[.。,，]?$")
# Old-style numbers above a resolution: 四十八(一九四八).一九四八年四月二十三日决议案 (Security
# Council: number and year), 二一五九(二十一)、中国在联合国之代表权问题 (General Assembly: number
# and session, the session in Chinese or roman numerals).
_OLD_STYLE_NUMBER = re.compile(rf"^({un_symbols.CN_NUMERAL}|\d{{1,4}})\s*[(（]\s*({un_symbols.CN_NUMERAL}|\d{{1,4}}|[IVXLC]+)"
                               r"\s*[)）]\s*[.．、]\s*(.*)$")
_ROMAN = (("M", 1000), ("CM", 900), ("D", 500), ("CD", 400), ("C", 100), ("XC", 90), ("L", 50), ("XL", 40),
          ("X", 10), ("IX", 9), ("V", 5), ("IV", 4), ("I", 1))


def roman(n: int) -> str:
    """A General Assembly session as old resolution symbols print it: 21 → XXI."""
    out = []
    for letters, value in _ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def from_roman(text: str) -> int | None:
    """XXI → 21; None when the text is not a roman numeral."""
    total, rest = 0, text
    for letters, value in _ROMAN:
        while rest.startswith(letters):
            total, rest = total + value, rest[len(letters):]
    return total if text and not rest else None


@lru_cache(maxsize=1)
def _to_simplified():
    import opencc  # OpenCC's own tables (t2s): a text in traditional script reads as simplified

    return opencc.OpenCC("t2s").convert


@lru_cache(maxsize=4096)
def plain(line: str) -> str:
    """A line in simplified script, as the metadata patterns read it (安全理事會 → 安全理事会)."""
    return _to_simplified()(line) if any(ord(c) > 0x2FFF for c in line) else line


def date_from(year: str, month: str, day: str) -> str | None:
    """ISO 8601 for a date in Arabic or Chinese numerals; None for no such day."""
    import datetime

    y, m, d = cn_to_int(year), cn_to_int(month), cn_to_int(day)
    if None in (y, m, d):
        return None
    try:
        return datetime.date(y, m, d).isoformat()
    except ValueError:
        return None


def _symbol_year(symbol: str | None) -> int | None:
    """The year a symbol carries: S/RES/368 (1975), S/2010/281, S/PRST/2002/37 → its year."""
    if not symbol:
        return None
    if m := re.search(r"\((\d{4})\)\s*$", symbol):
        return int(m.group(1))
    if m := re.match(r"^S/(?:PRST/)?(\d{4})/", symbol):
        return int(m.group(1))
    return None


def is_closing_line(text: str) -> bool:
    """A closing line of a resolution, statement or letter: its date, the meeting that adopted
    it, the place and date a letter was signed."""
    if CLOSING_DATE.match(text) or PLENARY.match(text):
        return True
    if len(text) > 120 or text[0] not in "第0123456789〇零一二三四五六七八九" or NUMBERED.match(text):
        return False
    line = plain(text)
    return bool(_DATE_LINE.match(line) or _SIGNED_DATE.match(line) or _ADOPTED_AT.match(line)
                or _PLENARY_LINE.match(line))


@lru_cache(maxsize=1)
def operative_verbs() -> tuple[str, ...]:
    """Verbs from the gazetteer, longest first so 表示注意到 wins over 注意到."""
    text = resources.files("pipeline.gazetteers").joinpath("operative_verbs.tsv").read_text("utf-8")
    verbs = [line.split("\t")[0] for line in text.splitlines()
             if line and not line.startswith("#")]
    return tuple(sorted(set(verbs), key=len, reverse=True))


@lru_cache(maxsize=1)
def preambular_verbs() -> tuple[str, ...]:
    """Preambular verbs from the gazetteer, longest first so 满意地注意到 wins over 注意到."""
    text = resources.files("pipeline.gazetteers").joinpath("preambular_verbs.tsv").read_text("utf-8")
    verbs = [line.split("\t")[0] for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(sorted(set(verbs), key=len, reverse=True))


# A manner phrase before the verb: 深感不安地注意到, 关切地注意到 ("noting with deep concern").
_MANNER = re.compile(r"^[\u4e00-\u9fff]{1,6}地")
# The object first, then the verb: 对该地区目前的紧张状态表示关切 ("expressing concern at …").
_OBJECT_FIRST = re.compile(r"^对[^，,。；;]{1,40}?(表示关切|深表关切|表示满意|表示遗憾|表示赞赏|表示感谢|表示欢迎)")


def preambular_verb(text: str) -> str | None:
    """The verb that opens a preambular paragraph (回顾, 又回顾, 深感不安地注意到), if any."""
    body = text.lstrip()
    prefix = ""
    for adverb in REPETITION_ADVERBS:
        if body.startswith(adverb) and any(body[len(adverb):].startswith(v) for v in preambular_verbs()):
            prefix, body = adverb, body[len(adverb):]
            break
    for verb in preambular_verbs():
        if body.startswith(verb):
            return prefix + verb
    if (m := _MANNER.match(body)) and any(body[m.end():].startswith(v) for v in preambular_verbs()):
        verb = next(v for v in preambular_verbs() if body[m.end():].startswith(v))
        return prefix + body[:m.end()] + verb
    if m := _OBJECT_FIRST.match(body):  # 对该地区目前的紧张状态表示关切: the verb follows its object
        return prefix + m.group(1)
    return None


def operative_verb(text: str) -> str | None:
    """The verb that opens an operative paragraph, with its adverb (又鼓励), if any."""
    body = NUMBERED.sub("", text, count=1).lstrip()
    prefix = ""
    for adverb in REPETITION_ADVERBS:
        if body.startswith(adverb) and any(body[len(adverb):].startswith(v) for v in operative_verbs()):
            prefix, body = adverb, body[len(adverb):]
            break
    for verb in operative_verbs():
        if body.startswith(verb):
            return prefix + verb
    return None


@dataclass
class Structure:
    metadata: dict
    provenance: dict
    symbol_in_text: str | None
    paragraphs: list[dict]
    warnings: list[str] = field(default_factory=list)


def _iso_date(m: re.Match) -> str:
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"


def read_metadata(front: list[str], closing: list[str], body: list[str]) -> tuple[dict, dict]:
    """Metadata fields found in the text, and for each where it came from.

    The kinds of UN document each print their metadata their own way (README, "What is read
    from a document"): a resolution its number above the title or as 第368(1975)号决议, an old
    one as 四十八(一九四八).一九四八年四月二十三日决议案, its date and meeting in its closing
    lines; a presidential statement opens with the date and meeting; a report or letter has
    its symbol and date in the masthead. Lines in traditional script are read as simplified.
    """
    found: dict = {}
    prov: dict = {}

    def put(key, value, how="text"):
        if value is not None and key not in found:
            found[key] = value
            prov[key] = how

    printed_front = front  # titles are kept as printed; the patterns read the simplified lines
    front = [plain(line) for line in front]
    closing = [plain(line) for line in closing]
    printed = masthead.read(front)  # the first page's masthead (PDF, Word, HTML): README, "Formats"
    for key in ("symbol", "distribution", "original_language", "job_number"):
        put(key, printed.get(key))
    lines = front + closing
    # Where no structure was recognised (a statement, a letter), its first lines are its head.
    head = front + [plain(line) for line in body[:3]]
    # Without front matter, the first lines may still say the kind (a letter's 致…电文), but a
    # numbered paragraph that cites one (1. 注意到秘书长的报告) is no title.
    kind_lines = front or [line for line in head if not (NUMBERED.match(line) or LIST_ITEM.match(line))]
    years: list[int] = []
    for line in kind_lines:
        for pattern, kind in _KIND_LINES:
            if pattern.search(line) and len(line) <= 40:
                put("doc_type", kind)
                if kind in ("report", "note") and "秘书长" in line:
                    put("organ", SECRETARY_GENERAL)
                if kind == "letter" and line.startswith("秘书长"):
                    put("organ", SECRETARY_GENERAL)
                if kind == "presidential_statement":
                    put("organ", SECURITY_COUNCIL)
                if (m := _DATE.search(line)) and kind in ("resolution", "decision"):
                    put("date", _iso_date(m))
    top = front or kind_lines
    printed_top = printed_front if front else [line for line in body[:3]
                                               if not (NUMBERED.match(line) or LIST_ITEM.match(line))]
    for i, line in enumerate(top):
        as_printed = printed_top[i] if i < len(printed_top) and len(printed_top[i]) == len(line) else line
        if m := _SESSION.search(line):
            put("session", cn_to_int(m.group(1)))
        if m := _AGENDA.search(line):
            put("agenda_item", re.sub(r"\s+", "", m.group(1)))
        if m := _GA_RESOLUTION.match(line):
            decision = found.get("doc_type") == "decision"
            put("resolution_number", m.group(1))
            put("title", as_printed[m.start(2):].strip())
            put("doc_type", "resolution")
            if decision and any("大会" in other for other in top):
                put("symbol", un_symbols.resolution_symbol(m.group(1), "决定", ""), "inferred")
        if m := _SC_RESOLUTION.match(line):
            put("resolution_number", f"{m.group(1)} ({m.group(2)})")
            put("doc_type", "resolution")
            put("symbol", un_symbols.sc_resolution_symbol(m.group(1), m.group(2)))
            put("organ", SECURITY_COUNCIL)
        if m := _OLD_STYLE_NUMBER.match(line):
            _old_style(m, put, as_printed)
        if un_symbols.is_symbol(line):
            put("symbol", line)
        if "通过" in line and line.startswith(("[", "［")):
            drafts = [m.group(0) for m in un_symbols.find_symbols(line)]
            if drafts:
                put("draft_symbols", drafts)
        if m := _DATE_LINE.match(line):
            put("date", date_from(*m.groups()))
        if m := _YEAR_LINE.match(line):
            years.append(cn_to_int(m.group(1)))
            if i + 1 < len(top) and (md := _DAY_MONTH_LINE.match(top[i + 1])):
                put("date", date_from(m.group(1), *md.groups()))  # 2003年 / 8月28日, one masthead date
    for line in head:
        if m := _PRST_OPENING.match(line):
            put("doc_type", "presidential_statement")
            put("organ", SECURITY_COUNCIL)
            put("date", date_from(*m.groups()[:3]))
            put("meeting", cn_to_int(m.group(4)))
        if m := _MEETING_LINE.match(line):
            put("organ", _ORGAN_NAMES[m.group(4)])
            if m.group(1):
                put("date", date_from(*m.groups()[:3]))
            put("meeting", cn_to_int(m.group(5)))
        if m := _ADDRESSEE.match(line):
            put("organ", _ORGAN_NAMES.get(m.group(1)))
    for line in closing:
        if m := CLOSING_DATE.match(line):
            put("date", _iso_date(m))
        if m := PLENARY.match(line):
            put("plenary_meeting", int(m.group(1)))
        if m := (_DATE_LINE.match(line) or _SIGNED_DATE.match(line)):
            put("date", date_from(*m.groups()[:3]))
        if m := _ADOPTED_AT.match(line):
            put("meeting", cn_to_int(m.group(1)))
            if m.group(2):
                put("plenary_meeting", cn_to_int(m.group(1)))
        if m := _PLENARY_LINE.match(line):
            if m.group(1):
                put("date", date_from(*m.groups()[:3]))
            put("plenary_meeting", cn_to_int(m.group(4)))
            put("organ", GENERAL_ASSEMBLY)
    if "title" not in found:
        title = _title(printed_front)
        put("title", title)
    if "doc_type" not in found and body:
        verbs = sum(1 for line in body if NUMBERED.match(line) and operative_verb(line))
        numbered = sum(1 for line in body if NUMBERED.match(line))
        if numbered and verbs >= 0.6 * numbered:
            put("doc_type", "resolution", "inferred")
    if "resolution_number" in found and "symbol" not in found and "/" in found["resolution_number"]:
        if (any("大会" in line for line in lines) or found.get("session")
                or found.get("organ") == GENERAL_ASSEMBLY):
            put("symbol", un_symbols.ga_resolution_symbol(found["resolution_number"]), "inferred")
    put("date", printed.get("date"))  # the masthead's is the issue date: after an adoption date
    put("organ", _ORGAN_NAMES.get(printed.get("organ", "")))
    for prefix, organ, kind in _SYMBOL_SERIES:
        if (found.get("symbol") or "").startswith(prefix):
            put("organ", organ, "inferred")
            put("doc_type", kind, "inferred")
    if found.get("organ") == GENERAL_ASSEMBLY and "plenary_meeting" in found:
        put("meeting", found["plenary_meeting"], prov["plenary_meeting"])
    if "date" not in found:
        _day_month(top, years, found.get("symbol"), put)
    return found, prov


def _old_style(m: re.Match, put, as_printed: str) -> None:
    """An old-style resolution number line: the Security Council's number(year) or the
    General Assembly's number(session), with the date or the title after it."""
    number = cn_to_int(m.group(1))
    second = m.group(2)
    value = cn_to_int(second) if not second.isalpha() or not second.isascii() else from_roman(second)
    rest = m.group(3)
    if number is None or value is None:
        return
    if value >= 1900:  # a year: a Security Council resolution, 四十八(一九四八)
        if "决议案" not in rest and "决议" not in rest:
            return
        put("resolution_number", f"{number} ({value})")
        put("symbol", un_symbols.sc_resolution_symbol(number, value))
        put("doc_type", "resolution")
        put("organ", SECURITY_COUNCIL)
        if d := re.search(_ANY_DATE, rest):
            put("date", date_from(*d.groups()))
    elif value <= 100 and rest:  # a session: a General Assembly resolution, 二一五九(二十一)
        put("resolution_number", f"{number} ({roman(value)})")
        put("symbol", f"{un_symbols.GA_RESOLUTION_PREFIX}{number}({roman(value)})")
        put("doc_type", "resolution")
        put("organ", GENERAL_ASSEMBLY)
        put("session", value)
        put("title", as_printed[m.start(3):].strip())


def _day_month(front: list[str], years: list[int], symbol: str | None, put) -> None:
    """A masthead date printed without its year (8月28日) takes the document's own year, when
    the document names one year only (a 2003年 line, or its symbol's year)."""
    own = set(y for y in years if y) | ({_symbol_year(symbol)} - {None})
    if len(own) != 1:
        return
    for line in front:
        if m := _DAY_MONTH_LINE.match(line):
            put("date", date_from(str(own.pop()), *m.groups()), "inferred")
            return


def _title(front: list[str]) -> str | None:
    """The line before the document's kind (秘书长的报告), else the longest plain line."""
    for i, line in enumerate(front):
        if any(p.search(line) for p, _ in _KIND_LINES) and i > 0:
            return front[i - 1]
    if not any(_SESSION.search(line) or _AGENDA.search(line) for line in front):
        return None  # without a UN header there is no telling a title from a first line
    plain = [line for line in front if not (_SESSION.search(line) or _AGENDA.search(line)
             or _DATE.search(line) or un_symbols.is_symbol(line) or ADDRESSEE.match(line)
             or masthead.is_masthead_line(line))]
    return min(plain, key=len) if plain else None


def _body_start(texts: list[str]) -> int | None:
    for i, text in enumerate(texts):
        if (NUMBERED.match(text) or ORDINAL_HEADING.match(text) or _ADDRESSEE.match(text)
                or LIST_ITEM.match(text) or is_heading_line(text)):
            return i
    return None


def _markers(text: str) -> list[str]:
    return ["".join(str(SUPERSCRIPTS.index(c)) for c in m.group(0)) for m in _MARKER_RUN.finditer(text)]


# The warning that marks a document whose ids were qualified because another claims its symbol.
SHARED_SYMBOL_WARNING = "symbol also claimed by another document"


def citation_prefix(symbol: str | None, doc_id: str, claimed: Collection[str] = ()) -> str:
    """What a document's para_ids start with: its symbol as keys spell it (no spaces:
    S/RES/368(1975):op1), or its doc_id when it has none.

    When another document of the corpus already cites by the same symbol (two files
    claim A/74/759), this one cites as `A/74/759@<doc_id>`, so ids stay unique and
    still say which symbol the text claims.
    """
    cite = un_symbols.symbol_key(symbol) if symbol else doc_id  # S/RES/368 (1975) → S/RES/368(1975)
    return f"{cite}@{doc_id}" if cite in claimed else cite


def shared_symbol_warning(base: str, cite: str, claimed_by: str | None) -> str:
    by = f"document {claimed_by}" if claimed_by else "another document"
    return (f"{SHARED_SYMBOL_WARNING}: {base} is also the symbol of {by}, which cites by it; "
            f"this document's ids read {cite}:…")


def parse(cleaned: Cleaned, *, doc_id: str, sidecar: dict | None = None) -> Structure:
    sidecar = sidecar or {}
    warnings: list[str] = []
    body = [p for p in cleaned.pieces if p.footnote is None]
    notes = [p for p in cleaned.pieces if p.footnote is not None]
    texts = [p.text for p in body]
    start = _body_start(texts)
    unstructured = start is None
    start = start or 0
    closing_idx = {i for i, t in enumerate(texts) if i >= start and is_closing_line(t)}
    found, prov = read_metadata(texts[:start], [texts[i] for i in sorted(closing_idx)], texts[start:])
    if unstructured and found.get("doc_type") not in UNNUMBERED_KINDS:
        warnings.append("no recognisable UN structure (no numbered paragraphs or headings): "
                        "paragraphs split at blank lines")
    symbol_in_text = found.get("symbol")
    metadata, provenance = dict(found), dict(prov)
    for key in METADATA_FIELDS:
        if key in sidecar and sidecar[key] is not None:
            declared = sidecar[key]
            if key in found and found[key] == declared:
                continue  # the sidecar repeats what the text says: the text is the source
            if key in found:
                warnings.append(f"declared {key} {declared!r} (sidecar) differs from the text's "
                                f"{found[key]!r}; the declared value is used")
            metadata[key] = declared
            provenance[key] = "sidecar"
    is_resolution = metadata.get("doc_type") in ("resolution", "decision")
    cite = citation_prefix(metadata.get("symbol"), doc_id)

    paragraphs: list[dict] = []
    used: set[str] = set()
    counters: dict[str, int] = {}
    state = {"section": None, "subsection": None, "heading": None, "number": None,
             "parent": None, "article": None, "phase": "preamble", "after": 0}

    def next_count(key: str) -> int:
        counters[key] = counters.get(key, 0) + 1
        return counters[key]

    def add(piece, kind, local, number=None, verb=None, pre_verb=None):
        pid = f"{cite}:{local}"
        if pid in used:
            pid = f"{pid}~{len(paragraphs)}"
            warnings.append(f"paragraph id {cite}:{local} repeats; the later one is {pid}")
        used.add(pid)
        paragraphs.append({
            "para_id": pid, "seq": len(paragraphs), "kind": kind, "number": number,
            "section": state["section"], "subsection": state["subsection"],
            "section_order": label_order(state["section"]), "subsection_order": label_order(state["subsection"]),
            "heading": state["heading"], "operative_verb": verb, "preambular_verb": pre_verb,
            "footnote_refs": [], "cited_by": [] if kind == "footnote" else None,
            "joined_page_break": piece.joined_page_break, "continuation_seams": [], "text": piece.text,
            "char_start": piece.char_start, "char_end": piece.char_end,
            "source_start": piece.source_start, "source_end": piece.source_end,
        })

    for i, piece in enumerate(body):
        text = piece.text
        if i < start or (_ADDRESSEE.match(text) and not paragraphs_in_body(paragraphs)):
            add(piece, "front_matter", f"fm{next_count('fm')}")
            continue
        if i in closing_idx:
            add(piece, "closing", f"cl{next_count('cl')}")
            continue
        if m := ORDINAL_HEADING.match(text):
            label, unit = m.group(1), m.group(2)
            n = cn_to_int(label)
            title = text[m.end():].strip(" ：:") or None
            if unit == "条":
                state.update(subsection=f"第{label}条", article=n, heading=title or state["heading"],
                             number=None, parent=None, after=0)
                add(piece, "heading", f"art{n}")
            else:
                state.update(section=f"第{label}{unit}", subsection=None, article=None,
                             heading=title, number=None, parent=None, after=0)
                key = {"章": "ch", "编": "part", "篇": "part", "部分": "part", "节": "sec"}[unit]
                add(piece, "heading", f"{key}{n}")
            continue
        if (m := CN_NUMBERED.match(text)) and (piece.indented or state["article"] is not None):
            # Inside an article, 一、二、 number its paragraphs, however short.
            n = cn_to_int(m.group(1))
            prefix = f"art{state['article']}." if state["article"] is not None else ""
            state.update(number=m.group(1), parent=f"{prefix}p{n}", after=1)
            add(piece, "numbered", f"{prefix}p{n}", m.group(1))
            continue
        if _is_topic_heading(text, texts[i + 1] if i + 1 < len(texts) else None):
            state.update(heading=text, number=None, parent=None, after=0)
            add(piece, "heading", f"h{next_count('h')}")
            continue
        if is_heading_line(text):
            m = CN_NUMBERED.match(text)
            if m:
                state.update(section=m.group(1), subsection=None, heading=text[m.end():].strip(), after=0)
                add(piece, "heading", f"s{cn_to_int(m.group(1))}")
            else:
                m = LETTER_HEADING.match(text)
                state.update(subsection=m.group(1), heading=text[m.end():].strip(), after=0)
                sec = cn_to_int(state["section"] or "") if state["section"] else None
                add(piece, "heading", f"s{sec}.{m.group(1)}" if sec else f"h{next_count('h')}")
            continue
        if m := NUMBERED.match(text):
            number = m.group(1)
            prefix = f"art{state['article']}." if state["article"] is not None else ""
            state.update(number=number, parent=f"{prefix}p{number}", after=1)
            if is_resolution:
                state["phase"] = "operative"
                add(piece, "operative", f"op{number}", number, operative_verb(text))
            else:
                add(piece, "numbered", f"{prefix}p{number}", number)
            continue
        if (m := LIST_ITEM.match(text)) or (m := BRANCH_ITEM.match(text)):
            label = f"({m.group(1)})"
            parent = state["parent"] or (f"art{state['article']}" if state["article"] is not None else "")
            add(piece, "list_item", f"{parent}{label}", label)
            continue
        if is_resolution and state["phase"] == "preamble":
            if _OPERATIVE_CHAPEAU.match(text) and operative_verb(text):
                # 决定: over lettered items (Security Council, 1970s): the unnumbered operative
                # part, cited as op, its items op(a), op(b) …
                state.update(phase="operative", number=None, parent="op", after=0)
                add(piece, "operative", "op", None, operative_verb(text))
                continue
            add(piece, "preambular", f"pre{next_count('pre')}", pre_verb=preambular_verb(text))
            continue
        # An unnumbered block right after a numbered paragraph is that paragraph's continuation
        # (UN texts number every body paragraph; the block was cut off by a page): it joins the
        # paragraph, whose text then runs over both, and the seam is recorded. A short line
        # without a final stop there is a heading over what follows.
        last = paragraphs[-1] if paragraphs else None
        if (state["parent"] and state["number"] is not None and last is not None
                and last["kind"] in ("numbered", "operative") and last["number"] == state["number"]):
            if _reads_as_heading(text):
                state.update(heading=text, number=None, parent=None, after=0)
                add(piece, "heading", f"h{next_count('h')}")
                continue
            last["continuation_seams"].append(piece.char_start)
            last["char_end"], last["source_end"] = piece.char_end, piece.source_end
            last["text"] = cleaned.clean_text[last["char_start"]:last["char_end"]]
            last["joined_page_break"] = last["joined_page_break"] or piece.joined_page_break
            continue
        # Any other unnumbered paragraph in the body (after a list item, say) is numbered after
        # the paragraph it follows: p70.2.
        if state["parent"] and state["number"] is not None:
            state["after"] += 1
            add(piece, "numbered", f"{state['parent']}.{state['after']}")
        elif state["article"] is not None:
            article = state["article"]
            add(piece, "numbered", f"art{article}.t{next_count(f'art{article}')}")
        else:
            add(piece, "numbered", f"t{next_count('t')}")

    by_number: dict[str, dict] = {}
    for piece in notes:
        state.update(section=None, subsection=None, heading=None)
        add(piece, "footnote", f"fn{piece.footnote}", piece.footnote)
        by_number[piece.footnote] = paragraphs[-1]
    for para in paragraphs:
        if para["kind"] == "footnote":
            continue
        for number in _markers(para["text"]):
            note = by_number.get(number)
            if note is None:
                warnings.append(f"{para['para_id']}: footnote marker {number} has no footnote text")
                continue
            if note["para_id"] not in para["footnote_refs"]:
                para["footnote_refs"].append(note["para_id"])
            if para["para_id"] not in note["cited_by"]:
                note["cited_by"].append(para["para_id"])
    for note in by_number.values():
        if not note["cited_by"]:
            warnings.append(f"{note['para_id']}: no marker in the text cites this footnote")
    return Structure(metadata, provenance, symbol_in_text, paragraphs, warnings)


_FINAL_STOP = "。；;：:！？!?…”’」）)"


def _reads_as_heading(text: str) -> bool:
    """A short line with no stop at its end and no sentence inside: a title, not a continuation."""
    return len(text) <= 40 and text[-1] not in _FINAL_STOP and "。" not in text


_LABEL_NUMBER = re.compile(r"^第?([" + "〇零一二三四五六七八九十百千两" + r"0-9]+)[章条节编篇部分]*$")


@lru_cache(maxsize=1024)  # a document has a handful of labels, each on many paragraphs
def label_order(label: str | None) -> int | None:
    """A section's or subsection's label as a number to sort by: 三 → 3, 第十九章 → 19,
    IV → 4, A → 1 (one capital is a letter: C → 3), 2 → 2; None for no label or one that is
    none of these."""
    if not label:
        return None
    if m := _LABEL_NUMBER.match(label):
        return cn_to_int(m.group(1))
    if re.fullmatch(r"[A-Z]", label):  # one capital is a letter (C → 3), not a roman numeral
        return ord(label) - ord("A") + 1
    if re.fullmatch(r"[IVXLC]+", label) and (n := from_roman(label)):
        return n
    if re.fullmatch(r"[a-z]", label):
        return ord(label) - ord("a") + 1
    return None


_PUNCTUATION = re.compile(r"[，。、；：！？,.;:!?（）()《》“”\"'\[\]]")


def _is_topic_heading(text: str, following: str | None) -> bool:
    """A short unpunctuated line standing over a heading or numbered paragraph (组织 over 第九条)."""
    if len(text) > 12 or _PUNCTUATION.search(text) or following is None:
        return False
    if CLOSING_DATE.match(text) or PLENARY.match(text) or ADDRESSEE.match(text) or _DATE.search(text):
        return False
    return bool(ORDINAL_HEADING.match(following) or is_heading_line(following) or NUMBERED.match(following))


def paragraphs_in_body(paragraphs: list[dict]) -> bool:
    return any(p["kind"] not in ("front_matter",) for p in paragraphs)
