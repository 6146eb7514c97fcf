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

from pipeline.lib.text import un_symbols
from pipeline.lib.text.clean import (
    ADDRESSEE, BRANCH_ITEM, CLOSING_DATE, CN_NUMBERED, LETTER_HEADING, LIST_ITEM, NUMBERED,
    ORDINAL_HEADING, PLENARY, SUPERSCRIPTS, Cleaned, is_heading_line,
)
from pipeline.schemas import METADATA_FIELDS

_CN_VALUES = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
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
    (re.compile(r"秘书长的报告|的报告$"), "report"),
    (re.compile(r"秘书长的说明|的说明$|^说明$"), "note"),
    (re.compile(r"的信$|信函$"), "letter"),
    (re.compile(r"决定$"), "decision"),
    (re.compile(r"决议$"), "resolution"),
)


def cn_to_int(text: str) -> int | None:
    """Chinese or Arabic numeral to int: 七十四 → 74, 一百一十 → 110, 二〇一九 → 2019, '63' → 63."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_VALUES and c not in _CN_UNITS for c in text):
        return None
    if not any(c in _CN_UNITS for c in text):  # digit by digit: 二〇一九 → 2019
        return int("".join(str(_CN_VALUES[c]) for c in text))
    total, current = 0, 0
    for ch in text:
        if ch in _CN_VALUES:
            current = _CN_VALUES[ch]
        else:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
    return total + current


@lru_cache(maxsize=1)
def operative_verbs() -> tuple[str, ...]:
    """Verbs from the gazetteer, longest first so 表示注意到 wins over 注意到."""
    text = resources.files("pipeline.gazetteers").joinpath("operative_verbs.tsv").read_text("utf-8")
    verbs = [line.split("\t")[0] for line in text.splitlines()
             if line and not line.startswith("#")]
    return tuple(sorted(set(verbs), key=len, reverse=True))


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
    """Metadata fields found in the text, and for each where it came from."""
    found: dict = {}
    prov: dict = {}

    def put(key, value, how="text"):
        if value is not None and key not in found:
            found[key] = value
            prov[key] = how

    lines = front + closing
    for line in front:
        if m := _SESSION.search(line):
            put("session", cn_to_int(m.group(1)))
        if m := _AGENDA.search(line):
            put("agenda_item", re.sub(r"\s+", "", m.group(1)))
        if m := _GA_RESOLUTION.match(line):
            put("resolution_number", m.group(1))
            put("title", m.group(2).strip())
            put("doc_type", "resolution")
        if m := _SC_RESOLUTION.match(line):
            put("resolution_number", f"{m.group(1)} ({m.group(2)})")
            put("doc_type", "resolution")
            put("symbol", un_symbols.sc_resolution_symbol(m.group(1), m.group(2)))
        if un_symbols.is_symbol(line):
            put("symbol", line)
        if "通过" in line and line.startswith(("[", "［")):
            drafts = [m.group(0) for m in un_symbols.find_symbols(line)]
            if drafts:
                put("draft_symbols", drafts)
        for pattern, kind in _KIND_LINES:
            if pattern.search(line) and len(line) <= 30:
                put("doc_type", kind)
                if (m := _DATE.search(line)) and kind in ("resolution", "decision"):
                    put("date", _iso_date(m))
    for line in closing:
        if m := CLOSING_DATE.match(line):
            put("date", _iso_date(m))
        if m := PLENARY.match(line):
            put("plenary_meeting", int(m.group(1)))
    if "title" not in found:
        title = _title(front)
        put("title", title)
    if "doc_type" not in found and body:
        verbs = sum(1 for line in body if NUMBERED.match(line) and operative_verb(line))
        numbered = sum(1 for line in body if NUMBERED.match(line))
        if numbered and verbs >= 0.6 * numbered:
            put("doc_type", "resolution", "inferred")
    if "resolution_number" in found and "symbol" not in found and "/" in found["resolution_number"]:
        if any("大会" in line for line in lines) or found.get("session"):
            put("symbol", un_symbols.ga_resolution_symbol(found["resolution_number"]), "inferred")
    return found, prov


def _title(front: list[str]) -> str | None:
    """The line before the document's kind (秘书长的报告), else the longest plain line."""
    for i, line in enumerate(front):
        if any(p.search(line) for p, _ in _KIND_LINES) and i > 0:
            return front[i - 1]
    if not any(_SESSION.search(line) or _AGENDA.search(line) for line in front):
        return None  # without a UN header there is no telling a title from a first line
    plain = [line for line in front if not (_SESSION.search(line) or _AGENDA.search(line)
             or _DATE.search(line) or un_symbols.is_symbol(line) or ADDRESSEE.match(line))]
    return min(plain, key=len) if plain else None


def _body_start(texts: list[str]) -> int | None:
    for i, text in enumerate(texts):
        if (NUMBERED.match(text) or ORDINAL_HEADING.match(text) or ADDRESSEE.match(text)
                or LIST_ITEM.match(text) or is_heading_line(text)):
            return i
    return None


def _markers(text: str) -> list[str]:
    return ["".join(str(SUPERSCRIPTS.index(c)) for c in m.group(0)) for m in _MARKER_RUN.finditer(text)]


# The warning that marks a document whose ids were qualified because another claims its symbol.
SHARED_SYMBOL_WARNING = "symbol also claimed by another document"


def citation_prefix(symbol: str | None, doc_id: str, claimed: Collection[str] = ()) -> str:
    """What a document's para_ids start with: its symbol, or its doc_id when it has none.

    When another document of the corpus already cites by the same symbol (two files
    claim A/74/759), this one cites as `A/74/759@<doc_id>`, so ids stay unique and
    still say which symbol the text claims.
    """
    cite = symbol or doc_id
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
    if start is None:
        warnings.append("no recognisable UN structure (no numbered paragraphs or headings): "
                        "paragraphs split at blank lines")
        start = 0
    closing_idx = {i for i, t in enumerate(texts) if i >= start and (CLOSING_DATE.match(t) or PLENARY.match(t))}
    found, prov = read_metadata(texts[:start], [texts[i] for i in sorted(closing_idx)], texts[start:])
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
    cite = metadata.get("symbol") or doc_id

    paragraphs: list[dict] = []
    used: set[str] = set()
    counters: dict[str, int] = {}
    state = {"section": None, "subsection": None, "heading": None, "number": None,
             "parent": None, "article": None, "phase": "preamble", "after": 0}

    def next_count(key: str) -> int:
        counters[key] = counters.get(key, 0) + 1
        return counters[key]

    def add(piece, kind, local, number=None, verb=None):
        pid = f"{cite}:{local}"
        if pid in used:
            pid = f"{pid}~{len(paragraphs)}"
            warnings.append(f"paragraph id {cite}:{local} repeats; the later one is {pid}")
        used.add(pid)
        paragraphs.append({
            "para_id": pid, "seq": len(paragraphs), "kind": kind, "number": number,
            "section": state["section"], "subsection": state["subsection"],
            "heading": state["heading"], "operative_verb": verb,
            "footnote_refs": [], "cited_by": None,
            "joined_page_break": piece.joined_page_break, "text": piece.text,
            "char_start": piece.char_start, "char_end": piece.char_end,
            "source_start": piece.source_start, "source_end": piece.source_end,
        })

    for i, piece in enumerate(body):
        text = piece.text
        if i < start or (ADDRESSEE.match(text) and not paragraphs_in_body(paragraphs)):
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
            add(piece, "preambular", f"pre{next_count('pre')}")
            continue
        # An unnumbered paragraph in the body: it continues the numbered one before it.
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
            if note["cited_by"] is None:
                note["cited_by"] = para["para_id"]
    for note in by_number.values():
        if note["cited_by"] is None:
            warnings.append(f"{note['para_id']}: no marker in the text cites this footnote")
    return Structure(metadata, provenance, symbol_in_text, paragraphs, warnings)


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
