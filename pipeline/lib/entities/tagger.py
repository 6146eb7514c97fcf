"""Entity tagging for UN documents in Chinese.

Mentions are proposed by four kinds of finder and then one resolver picks a
non-overlapping set:

* ``gazetteer``: one Aho-Corasick automaton (pyahocorasick) over every name and
  alias in the data files of ``pipeline/gazetteers/`` (UN Member and observer
  States with ISO 3166-1 alpha-3 codes, regions and places, UN system entities,
  parliamentary and regional bodies, instruments, publications, recurring
  events, the UN's collective and office actors: 会员国, 各国议会, 秘书长,
  联合国系统 … as ACTOR, 可持续发展目标 as sdg:all). Categories and words that
  hold a name without naming it (发展中国家, 葡萄牙语国家, 副秘书长) are in the
  automaton too, as blockers: a blocker that wins a span suppresses every
  shorter entity inside it and is itself not emitted.
* ``pattern``: regular expressions for document symbols (with their corrigenda),
  resolution and decision numbers (each item of a list; the old styles
  决议案四十六(一九四八) and 决议案三九六(五)), numbered meetings (named by their
  verbatim record, event:S/PV.4872), titles in 《》 (nesting handled; LAW for an
  instrument's title, PUBLICATION for any other, a country's own law carrying
  the country), SDG goals, dates, percentages, numbered sessions and
  conferences, named national parliaments (a country or place followed by its
  chamber), UN-prefixed body names and transliterated personal names written
  with the middle dot.
* ``abbreviation``: definitions of the form ``FULL(SHORT)`` / ``FULL（SHORT）``
  are learned per document; the short form inherits the full form's entity id
  and every later occurrence of it in the document is tagged.
* ``pos``: jieba part-of-speech tags as a last, conservative fallback for
  organisations and places the other finders miss.

Overlaps are resolved greedily: the longest span wins; between spans of equal
length the type priority decides, DOC > LAW > PUBLICATION > EVENT > ORG >
ACTOR > GPE > PERSON > SDG > DATE > PERCENT, then the method priority gazetteer > pattern >
abbreviation > pos. So a country inside an organisation's name
(联合国马里多层面综合稳定团) or a date inside a title (《2030 年议程》) is
part of the longer mention and is not emitted on its own. Short names of two
characters or fewer must also line up with word boundaries (jieba), which keeps
中国 out of 发展中国家 and 加纳 out of 增加纳入.

The tagger tells apart the classes of ``schemas.ENTITY_CLASSES``; a row of the entities table
carries the contract's type (ACTOR is an ORG, PUBLICATION a DOC) and the finer class in
``subtype``.

Entities are found paragraph by paragraph, so a mention never crosses a
paragraph boundary; offsets are code points into the document's clean_text. In
an operative paragraph, the mentions its verbs address (促请会员国…) get the role
'addressee' (``_mark_addressees``).
"""
from __future__ import annotations

import bisect
import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from itertools import compress
from pathlib import Path

from pipeline.lib.text import un_symbols
from pipeline.lib.text.numerals import cn_to_int
from pipeline.lib.text.un_symbols import resolution_symbol
from pipeline.schemas import ENTITY_ROLES, entity_subtype, entity_type

import ahocorasick
import pyarrow as pa

GAZETTEER_DIR = Path(__file__).resolve().parents[2] / "gazetteers"
GAZETTEER_FILES = (
    "countries.tsv", "places.tsv", "un_entities.tsv", "other_orgs.tsv",
    "instruments.tsv", "events.tsv", "generic_groups.tsv", "actors.tsv", "publications.tsv",
    "sdg_all.tsv",
)
SDG_FILE = "sdg_goals.tsv"

TYPE_PRIORITY = ("DOC", "LAW", "PUBLICATION", "EVENT", "ORG", "ACTOR", "GPE", "PERSON", "SDG", "DATE",
                 "PERCENT")
METHOD_PRIORITY = ("gazetteer", "pattern", "abbreviation", "pos")
_TYPE_RANK = {type_: rank for rank, type_ in enumerate(TYPE_PRIORITY)}
_METHOD_RANK = {method: rank for rank, method in enumerate(METHOD_PRIORITY)}
BLOCKER = "-"

HAN = r"\u3400-\u9fff"
_HAN_RE = re.compile(f"[{HAN}]")
_HAN_FIRST, _HAN_LAST = "\u3400", "\u9fff"  # the same range, for comparing one character
_SPACE_RE = re.compile(r"\s+")


def _finditer(regex: re.Pattern, text: str, needs: str | tuple[str, ...]) -> Iterator[re.Match]:
    """``regex.finditer(text)``, skipped when ``text`` holds none of ``needs``,
    literals one of which every match contains: most paragraphs hold no date,
    symbol or percentage, and a scan for one costs far more than ``in``."""
    present = needs in text if isinstance(needs, str) else any(map(text.__contains__, needs))
    return regex.finditer(text) if present else iter(())


# --------------------------------------------------------------------------- gazetteers

@dataclass(frozen=True)
class GazetteerEntry:
    entity_id: str
    type: str
    name_zh: str
    name_en: str | None
    aliases: tuple[str, ...]
    iso3: str | None = None
    series_id: str | None = None
    # False for a series name that is no mention by itself (议联大会 the organ
    # is an ORG; 第 141 届各国议会联盟大会 is the event)
    bare_mention: bool = True


@dataclass
class Gazetteer:
    entries: dict[str, GazetteerEntry]
    automaton: ahocorasick.Automaton
    # normalised title -> entity id, for titles in 《》 and abbreviations
    law_titles: dict[str, str]
    # event series alias -> series id, for numbered sessions
    event_series: dict[str, str]
    # any normalised name -> (entity_id, type), for linking learned forms
    by_name: dict[str, tuple[str, str]]
    sdg: dict[str, tuple[str, str]] = field(default_factory=dict)
    # 第 N 届 + series name, series name + 第 N 届会议 (see _numbered_series_candidates)
    series_patterns: tuple[re.Pattern, re.Pattern] | None = None


def _read_table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    return [
        {key: (value or "").strip() for key, value in row.items()}
        for row in csv.DictReader(lines, delimiter="\t")
    ]


def _split_aliases(value: str) -> list[str]:
    return [alias.strip() for alias in value.split(";") if alias.strip()]


def normalise_name(text: str) -> str:
    """Key for comparing spellings: no spaces, ASCII brackets, no 《》 shell."""
    text = _SPACE_RE.sub("", text)
    text = text.replace("（", "(").replace("）", ")").replace("〈", "《").replace("〉", "》")
    text = text.replace("－", "-").replace("–", "-").replace("—", "-")
    if text.startswith("《") and text.endswith("》"):
        text = text[1:-1]
    return text


def _surface_variants(name: str) -> set[str]:
    """Spellings a name takes in running text: with and without the space UN
    Chinese texts put between digits and Han characters, ASCII or full-width
    brackets."""
    compact = normalise_name(name)
    spaced = re.sub(rf"(?<=\d)(?=[{HAN}])|(?<=[{HAN}])(?=\d)", " ", compact)
    variants = set()
    for base in (compact, spaced):
        variants.add(base)
        variants.add(base.replace("(", "（").replace(")", "）"))
    return variants


def _load_entries() -> tuple[list[GazetteerEntry], list[str]]:
    entries: list[GazetteerEntry] = []
    for row in _read_table(GAZETTEER_DIR / "countries.tsv"):
        aliases = [row["short_zh"], row["formal_zh"], *_split_aliases(row["aliases"])]
        entries.append(GazetteerEntry(
            f"gpe:{row['iso3']}", "GPE", row["short_zh"], row["name_en"],
            tuple(dict.fromkeys(a for a in aliases if a != row["short_zh"])), iso3=row["iso3"],
        ))
    for file_name, type_ in (("places.tsv", "GPE"), ("un_entities.tsv", "ORG"),
                             ("other_orgs.tsv", "ORG"), ("instruments.tsv", "LAW"),
                             ("events.tsv", "EVENT"), ("actors.tsv", "ACTOR"),
                             ("publications.tsv", "PUBLICATION"), ("sdg_all.tsv", "SDG")):
        for row in _read_table(GAZETTEER_DIR / file_name):
            entries.append(GazetteerEntry(
                row["entity_id"], type_, row["name_zh"], row.get("name_en") or None,
                tuple(_split_aliases(row.get("aliases", ""))),
                series_id=row.get("series_id") or None,
                bare_mention=row.get("bare", "yes") != "no",
            ))
    blockers = [row["phrase"] for row in _read_table(GAZETTEER_DIR / "generic_groups.tsv")]
    return entries, blockers


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Build the automaton once per process; every document reuses it."""
    entries, blockers = _load_entries()
    surface: dict[str, list[tuple[str, str]]] = defaultdict(list)
    law_titles: dict[str, str] = {}
    event_series: dict[str, str] = {}
    by_name: dict[str, tuple[str, str]] = {}
    for entry in entries:
        for name in (entry.name_zh, *entry.aliases):
            by_name.setdefault(normalise_name(name), (entry.entity_id, entry.type))
            if entry.type == "LAW":
                law_titles.setdefault(normalise_name(name), entry.entity_id)
            if entry.series_id:
                event_series[normalise_name(name)] = entry.series_id
            if not entry.bare_mention:
                continue
            for variant in _surface_variants(name):
                if (entry.entity_id, entry.type) not in surface[variant]:
                    surface[variant].append((entry.entity_id, entry.type))
    for phrase in blockers:
        surface[phrase].append(("", BLOCKER))
    automaton = ahocorasick.Automaton()
    for key, values in surface.items():
        automaton.add_word(key, (key, tuple(values)))
    automaton.make_automaton()
    sdg: dict[str, tuple[str, str]] = {}
    sdg_path = GAZETTEER_DIR / SDG_FILE
    if sdg_path.exists():
        for row in _read_table(sdg_path):
            sdg[row["entity_id"]] = (row.get("short_zh") or "", row.get("short_en") or "")
    return Gazetteer(
        {e.entity_id: e for e in entries}, automaton, law_titles, event_series, by_name, sdg,
        _series_patterns(event_series),
    )


def gazetteer_version() -> str:
    """sha256 over the gazetteer files the tagger reads, for code versioning."""
    digest = hashlib.sha256()
    for name in (*GAZETTEER_FILES, SDG_FILE):
        path = GAZETTEER_DIR / name
        if path.exists():
            digest.update(name.encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- numbers

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMBER = "[〇零一二两三四五六七八九十百千]+"


def parse_number(text: str) -> int | None:
    """Arabic or Chinese numerals (七十四, 一百四十一, 二〇一九) to int."""
    return cn_to_int(text)


# --------------------------------------------------------------------------- candidates

@dataclass
class Candidate:
    start: int  # offsets relative to the paragraph while finding, then absolute
    end: int
    type: str
    entity_id: str
    method: str
    value: str | None = None
    role: str | None = None  # 'addressee' (see _mark_addressees)

    def key(self) -> tuple:
        return (
            -(self.end - self.start),
            _TYPE_RANK.get(self.type, -1),
            _METHOD_RANK[self.method],
            self.start,
        )


def resolve_overlaps(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Longest span first, then type priority, then method priority."""
    # the spans taken so far, by start; they never overlap, so they are in end order too
    taken_starts: list[int] = []
    taken_ends: list[int] = []
    kept: list[Candidate] = []
    for cand in sorted(candidates, key=Candidate.key):
        if cand.end <= cand.start:
            continue
        # of the spans starting before this one ends, the last ends latest
        index = bisect.bisect_left(taken_starts, cand.end)
        if index and taken_ends[index - 1] > cand.start:
            continue
        index = bisect.bisect_left(taken_starts, cand.start)
        taken_starts.insert(index, cand.start)
        taken_ends.insert(index, cand.end)
        if cand.type != BLOCKER:
            kept.append(cand)
    return sorted(kept, key=lambda c: (c.start, c.end))


# --------------------------------------------------------------------------- tokens

@lru_cache(maxsize=1)
def _verbs_jieba_mistags() -> frozenset[str]:
    """Verbs that open resolution paragraphs (gazetteers/operative_verbs.tsv, 铭记, 注意到 …) and
    verbs jieba tags as nouns or adjectives before an object (尊重, 复查)."""
    from pipeline.lib.text.structure import operative_verbs

    return frozenset(operative_verbs()) | {"尊重", "复查", "覆按"}


TOKEN_COLUMNS = ("text", "pos", "char_start", "char_end")


@dataclass
class ParagraphTokens:
    """The jieba tokens of one paragraph as parallel columns, offsets relative to it."""
    text: list[str]
    pos: list[str | None]
    start: list[int]
    end: list[int]

    @cached_property
    def noun_ends(self) -> set[int]:
        """Where a noun or an adjective of two characters or more ends on a Han character (not
        a verbal noun, nor a verb jieba tags as a noun or an adjective: 铭记大会, 尊重大会 are
        verb and object; nor one character, a preposition jieba tags as a noun: 经大会)."""
        verbs = _verbs_jieba_mistags()
        return {end for end, pos, word in zip(self.end, self.pos, self.text)
                if (pos or "")[:1] in ("n", "a") and pos != "vn" and len(word) > 1 and word not in verbs
                and _HAN_FIRST <= word[-1:] <= _HAN_LAST}


class DocumentTokens:
    """A document's tokens as parallel columns in char_start order, cut into
    paragraphs by bisection."""

    def __init__(self, text: list[str], pos: list[str | None], start: list[int], end: list[int]):
        if start != sorted(start):  # a stable sort, so tokens at one offset keep their order
            order = sorted(range(len(start)), key=start.__getitem__)
            text, pos, start, end = ([column[i] for i in order] for column in (text, pos, start, end))
        self.text, self.pos, self.start, self.end = text, pos, start, end

    @classmethod
    def of(cls, tokens) -> DocumentTokens | None:
        """From rows (dicts with the TOKEN_COLUMNS keys), from columns (a mapping
        of those names to sequences) or from an Arrow table with those columns
        (kept as Arrow: a paragraph's tokens become Python values only when it is
        tagged); None when there are no tokens."""
        if tokens is None:
            return None
        if isinstance(tokens, pa.Table):
            return ArrowDocumentTokens(tokens) if tokens.num_rows else None
        if not tokens:
            return None
        if isinstance(tokens, Mapping):
            start = list(tokens["char_start"])
            pos = tokens.get("pos")
            columns = (list(tokens["text"]), list(pos) if pos is not None else [None] * len(start),
                       start, list(tokens["char_end"]))
        else:
            columns = ([t["text"] for t in tokens], [t.get("pos") for t in tokens],
                       [t["char_start"] for t in tokens], [t["char_end"] for t in tokens])
        return cls(*columns) if columns[2] else None

    def _bounds(self, start: int, end: int) -> tuple[int, int]:
        """The positions of the tokens that start inside [start, end)."""
        return bisect.bisect_left(self.start, start), bisect.bisect_left(self.start, end)

    def _columns(self, lo: int, hi: int) -> tuple[list, list, list, list]:
        return self.text[lo:hi], self.pos[lo:hi], self.start[lo:hi], self.end[lo:hi]

    def paragraph(self, start: int, end: int) -> ParagraphTokens | None:
        """The tokens that start and end inside [start, end), or None when there are none."""
        text, pos, starts, ends = self._columns(*self._bounds(start, end))
        if ends and max(ends) > end:
            # a token running past the paragraph's end is none of its tokens
            keep = [i for i, token_end in enumerate(ends) if token_end <= end]
            text, pos, starts, ends = ([column[i] for i in keep] for column in (text, pos, starts, ends))
        if not starts:
            return None
        return ParagraphTokens(text, pos, [s - start for s in starts], [e - start for e in ends])


class ArrowDocumentTokens(DocumentTokens):
    """The same, its columns kept as Arrow and NumPy arrays: a long document's
    millions of tokens as Python objects would cost gigabytes (issue 14)."""

    def __init__(self, table: pa.Table):
        import numpy as np

        def plain(name: str):
            column = table.column(name)
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            return column.combine_chunks()

        start = table.column("char_start").to_numpy()
        end = table.column("char_end").to_numpy()
        text = plain("text")
        pos = plain("pos") if "pos" in table.column_names else pa.nulls(table.num_rows, pa.string())
        if len(start) > 1 and bool((start[1:] < start[:-1]).any()):
            order = np.argsort(start, kind="stable")  # stable, as sorted() above
            start, end = start[order], end[order]
            text, pos = text.take(pa.array(order)), pos.take(pa.array(order))
        self.text, self.pos, self.start, self.end = text, pos, start, end

    def _bounds(self, start: int, end: int) -> tuple[int, int]:
        search = self.start.searchsorted  # two scalar searches cost less than one of a list
        return int(search(start)), int(search(end))

    def _columns(self, lo: int, hi: int) -> tuple[list, list, list, list]:
        n = max(0, hi - lo)
        return (self.text.slice(lo, n).to_pylist(), self.pos.slice(lo, n).to_pylist(),
                self.start[lo:hi].tolist(), self.end[lo:hi].tolist())


def _boundaries(text: str, tokens: ParagraphTokens | None) -> set[int]:
    edges = {0, len(text)}
    if tokens is None:
        import jieba

        pos = 0
        for word in jieba.cut(text):
            edges.add(pos)
            pos += len(word)
            edges.add(pos)
        return edges
    edges.update(tokens.start)
    edges.update(tokens.end)
    return edges


# Short titles that are common nouns outside 《》 (a programme, a charter); a longer name
# (开罗宣言, 巴黎协定) is the instrument wherever it is printed
GENERIC_SHORT_TITLES = frozenset({"行动纲要", "行动纲领", "行动计划", "行动议程"})

# Gazetteer names that are also common head nouns: a name only when no word
# qualifies them, i.e. at the start or after punctuation or a function word.
HEAD_NOUN_NAMES = frozenset({"秘书处"})
FREE_LEFT = set("在和及与或向由对经并同从为请将把以于至使让") | set("，。；、：“‘（( \n")


def _gazetteer_candidates(text: str, edges: set[int],
                          tokens: ParagraphTokens | None = None) -> list[Candidate]:
    gaz = load_gazetteer()
    found = []
    for end_index, (key, values) in gaz.automaton.iter(text):
        end = end_index + 1
        start = end - len(key)
        short = len(key) <= 2
        for entity_id, type_ in values:
            if short and type_ != BLOCKER:
                # short names are common substrings: demand word boundaries
                if start not in edges or (type_ != "ORG" and end not in edges
                                          and not (type_ == "GPE" and _GLUED_AFTER_PLACE.match(text, end))):
                    continue
                # 议会大会, 平等大会: a short organ name right after a noun or
                # adjective is the head of a compound, not the organ
                if type_ == "ORG" and tokens is not None and start in tokens.noun_ends:
                    continue
            if key in HEAD_NOUN_NAMES and start > 0 and text[start - 1] not in FREE_LEFT:
                # 秘书处 alone is the UN Secretariat; 国民议会秘书处, 联合秘书处,
                # 《公约》秘书处 are other secretariats
                continue
            if type_ == "LAW" and (len(normalise_name(key)) <= 2 or key in GENERIC_SHORT_TITLES):
                # 宪章, 行动纲要: short titles are titles only inside 《》
                continue
            found.append(Candidate(start, end, type_, entity_id, "gazetteer"))
    return found


# DOC ---------------------------------------------------------------------------

# Symbols themselves (A/74/759, S/RES/1325(2000)) are found by un_symbols.find_symbols; these
# are the Chinese citations by number, whose numbers un_symbols also defines.
RES_NUMBER = un_symbols.RESOLUTION_NUMBER
RES_LIST_RE = re.compile(
    rf"(第\s*)?({RES_NUMBER}(?:\s*(?:、|和|及|与)\s*{RES_NUMBER})*)\s*号\s*(决议|决定)"
)
SC_ITEM_RE = re.compile(un_symbols.SC_RESOLUTION_ITEM)
# 第338(1973)号、十月二十五日第340(1973)号和第362(1974)号等决议: one list, every item its own DOC
SC_RES_RE = re.compile(
    rf"(第\s*)?{un_symbols.SC_RESOLUTION_ITEM}"
    rf"(?:{un_symbols.SC_RESOLUTION_LIST_SEPARATOR}{un_symbols.SC_RESOLUTION_ITEM})*\s*(?:等\s*)?决议(?!案)"
)
OLD_RES_RE = re.compile(un_symbols.OLD_RESOLUTION)
OLD_HEADING_RE = re.compile(un_symbols.OLD_RESOLUTION_HEADING)
CORRIGENDA_RE = re.compile(un_symbols.CORRIGENDA)
OWN_NUMBER_RE = re.compile(rf"^\s*{un_symbols.GA_RESOLUTION_HEADING}")
_ORGAN_BEFORE = 12


def _doc(start: int, end: int, symbol: str, method: str = "pattern") -> Candidate:
    symbol = un_symbols.symbol_key(symbol)  # S/RES/2334 (2016) is doc:S/RES/2334(2016)
    return Candidate(start, end, "DOC", f"doc:{symbol}", method, symbol)


def _doc_candidates(text: str, *, para_kind: str | None, own_symbol: str | None,
                    doc_type: str | None) -> list[Candidate]:
    found = []
    for m in un_symbols.find_symbols(text):
        found.append(_doc(m.start(), m.end(), m.group(0)))
        more = CORRIGENDA_RE.match(text, m.end())
        if more:
            # S/11670和Corr.1和2: the corrigenda are documents of their own
            base, kind = un_symbols.symbol_key(m.group(0)), more.group(1)
            found.append(_doc(more.start(1), more.end(2), f"{base}/{kind}.{more.group(2)}"))
            for extra in re.finditer(r"\d{1,2}", more.group(3)):
                at = more.start(3) + extra.start()
                found.append(_doc(at, at + len(extra.group(0)), f"{base}/{kind}.{extra.group(0)}"))
    old = OLD_HEADING_RE.match(text) if para_kind in ("front_matter", "heading", None) else None
    if old and un_symbols.old_resolution_symbol(old.group(1), old.group(2)):
        # 四十八(一九四八).一九四八年四月二十三日决议案: the resolution's own number, old style
        found.append(_doc(old.start(1), old.end(2) + 1,
                          un_symbols.old_resolution_symbol(old.group(1), old.group(2))))
    own = OWN_NUMBER_RE.match(text)
    if own and (doc_type or "").lower() == "resolution" and para_kind not in ("footnote",):
        # the resolution's own number printed above its title: it names this
        # document, whatever the printed number says
        symbol = own_symbol or un_symbols.ga_resolution_symbol(own.group(1))
        found.append(_doc(own.start(1), own.end(1), symbol))
    if "号" not in text and "决议案" not in text:
        return found
    for m in RES_LIST_RE.finditer(text):
        numbers = list(re.finditer(RES_NUMBER, m.group(2)))
        context = text[max(0, m.start() - _ORGAN_BEFORE):m.start()]
        if len(numbers) == 1:
            found.append(_doc(m.start(), m.end(), resolution_symbol(numbers[0].group(0), m.group(3), context)))
            continue
        base = m.start(2)
        for num in numbers:
            found.append(_doc(base + num.start(), base + num.end(),
                              resolution_symbol(num.group(0), m.group(3), context)))
    for m in SC_RES_RE.finditer(text):
        items = list(SC_ITEM_RE.finditer(text, m.start(), m.end()))
        if len(items) == 1 and "等" not in text[items[0].end():m.end()]:
            item = items[0]
            found.append(_doc(m.start(), m.end(), un_symbols.sc_resolution_symbol(item.group(1), item.group(2))))
            continue
        for item in items:  # each number(year) of the list
            end = item.end() - 1
            while text[end - 1] in " 号":
                end -= 1
            found.append(_doc(item.start(), end, un_symbols.sc_resolution_symbol(item.group(1), item.group(2))))
    for m in OLD_RES_RE.finditer(text):
        number, second = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        symbol = un_symbols.old_resolution_symbol(number, second)
        if symbol:
            found.append(_doc(m.start(), m.end(), symbol))
    return found


# LAW ---------------------------------------------------------------------------

_TITLE_MARKS_RE = re.compile("[《》]")


def title_spans(text: str) -> list[tuple[int, int]]:
    """Outermost 《…》 spans; inner 《》 or 〈〉 belong to the outer title."""
    spans, depth, start = [], 0, 0
    if "《" not in text:
        return spans
    for m in _TITLE_MARKS_RE.finditer(text):
        index, ch = m.start(), m.group()
        if ch == "《":
            if depth == 0:
                start = index
            depth += 1
        elif ch == "》" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, index + 1))
    return spans


def law_id_for(title: str) -> str:
    gaz = load_gazetteer()
    key = normalise_name(title)
    return gaz.law_titles.get(key) or f"law:{key}"


# What a legal instrument's, an agenda's or a declaration's title ends with; any other title in
# 《》 (a report, a toolkit, a handbook, another body's resolution) is a PUBLICATION.
INSTRUMENT_HEADS = ("公约", "条约", "协定", "协议", "议定书", "宪章", "宣言", "议程", "纲领", "纲要", "框架",
                    "战略", "计划", "原则", "契约", "宪法", "法典", "规约", "守则", "准则", "成果", "成果文件",
                    "共识", "章程", "盟约", "规则", "条例", "法", "承诺")
NOT_LAW_ENDINGS = ("方法", "办法", "做法", "想法", "看法", "手法", "说法")
# A country's own laws: 《宪法》, 《资产申报法》, 《军事司法法典》 are the country's (law:…@ISO3)
NATIONAL_LAW_HEADS = ("宪法", "法", "法典", "条例")
INTERNATIONAL_WORDS = ("国际", "联合国", "世界", "全球", "区域", "人道主义法")


def title_entity(title: str) -> tuple[str, str]:
    """(type, entity id) of a title in 《》: the gazetteer's when it knows the title, else LAW
    (law:<title>) for an instrument's title and PUBLICATION (pub:<title>) for any other."""
    gaz = load_gazetteer()
    key = normalise_name(title)
    if key in gaz.law_titles:
        return "LAW", gaz.law_titles[key]
    known = gaz.by_name.get(key)
    if known and known[1] == "PUBLICATION":
        return "PUBLICATION", known[0]
    if key.endswith(INSTRUMENT_HEADS) and not key.endswith(NOT_LAW_ENDINGS):
        return "LAW", f"law:{key}"
    return "PUBLICATION", f"pub:{key}"


def is_national_law(key: str) -> bool:
    return key.endswith(NATIONAL_LAW_HEADS) and not key.endswith(NOT_LAW_ENDINGS) \
        and not any(word in key for word in INTERNATIONAL_WORDS)


def national_law_id(key: str, iso3: str) -> str:
    """A country's law: law:constitution@MLI for its constitution, law:<title>@<ISO3> else."""
    return f"law:constitution@{iso3}" if key == "宪法" else f"law:{key}@{iso3}"


def _law_candidates(text: str) -> list[Candidate]:
    found = []
    for start, end in title_spans(text):
        if end - start <= 2:
            continue
        type_, entity_id = title_entity(text[start:end])
        found.append(Candidate(start, end, type_, entity_id, "pattern"))
    return found


# SDG ---------------------------------------------------------------------------

SDG_NUM = r"\d{1,2}(?:\.[0-9a-z]{1,2})?"
SDG_RE = re.compile(
    rf"(?:可持续发展)?目标\s*({SDG_NUM})((?:\s*(?:、|和|及|与|至|或)\s*{SDG_NUM}(?![\d%％]))*)(?![\d.%％])"
)


def _sdg_id(number: str) -> str | None:
    goal = number.split(".")[0]
    if not goal.isdigit() or not 1 <= int(goal) <= 17:
        return None
    return f"sdg:{number}"


def _sdg_candidates(text: str) -> list[Candidate]:
    found = []
    for m in _finditer(SDG_RE, text, "目标"):
        first = _sdg_id(m.group(1))
        if first is None:
            continue
        found.append(Candidate(m.start(), m.end(1), "SDG", first, "pattern", first[4:]))
        base = m.start(2)
        for num in re.finditer(SDG_NUM, m.group(2)):
            sdg = _sdg_id(num.group(0))
            if sdg:
                found.append(Candidate(base + num.start(), base + num.end(), "SDG", sdg,
                                       "pattern", sdg[4:]))
    return found


# DATE / PERCENT -------------------------------------------------------------------

YEAR = r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)"
DATE_FULL_RE = re.compile(YEAR + r"\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
DATE_MONTH_RE = re.compile(YEAR + r"\s*年\s*(\d{1,2})\s*月")
DATE_YEAR_RE = re.compile(YEAR + r"\s*年(?!\s*\d{0,2}\s*[届期次]|代)")
DATE_CN_YEAR_RE = re.compile(r"([〇零一二三四五六七八九]{4})\s*年")
# 一九四二年一月一日, 二〇一九年十二月: older texts (the Charter) write whole dates in Han numerals
DATE_CN_FULL_RE = re.compile(r"([〇零一二三四五六七八九]{4})\s*年\s*(十[一二]?|[一二三四五六七八九])\s*月"
                             r"(?:\s*(三十[一]?|二?十[一二三四五六七八九]?|[一二三四五六七八九])\s*日)?")
# 十月二十五日 without its year (in a list of resolutions adopted that year): --10-25
DATE_CN_DAY_RE = re.compile(r"(?<![〇零一二三四五六七八九年])(十[一二]?|[一二三四五六七八九])\s*月"
                            r"\s*(三十[一]?|二?十[一二三四五六七八九]?|[一二三四五六七八九])\s*日")
DASHES = ("-", "–", "—")
DATE_RANGE_RE = re.compile(YEAR + r"\s*[-–—]\s*(1[5-9]\d\d|20\d\d)(?:\s*年(?!度))?"
                           r"(?=\s*(?:年|两年期|三年期|四年期|年度|期间|[，。、；)）]))")
DATE_RANGE_YEAR_RE = re.compile(YEAR + r"\s*[-–—]\s*(1[5-9]\d\d|20\d\d)\s*年")
DATE_FISCAL_RE = re.compile(YEAR + r"\s*/\s*(\d{2})\s*年度")
DATE_DAY_RE = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*日")
PERCENT_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*[%％]")
PERCENT_CN_RE = re.compile(rf"百分之({CN_NUMBER}(?:点[〇零一二三四五六七八九]+)?)")


def _valid_month_day(month: int, day: int | None = None) -> bool:
    return 1 <= month <= 12 and (day is None or 1 <= day <= 31)


def _date_candidates(text: str) -> list[Candidate]:
    found = []
    if not any(map(text.__contains__, ("年", "月", "日", *DASHES))):
        return found  # each pattern below needs one of them
    for m in _finditer(DATE_FULL_RE, text, "日"):
        month, day = int(m.group(2)), int(m.group(3))
        if _valid_month_day(month, day):
            found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern",
                                   f"{m.group(1)}-{month:02d}-{day:02d}"))
    for m in _finditer(DATE_MONTH_RE, text, "月"):
        month = int(m.group(2))
        if _valid_month_day(month):
            found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern",
                                   f"{m.group(1)}-{month:02d}"))
    for m in _finditer(DATE_YEAR_RE, text, "年"):
        found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern", m.group(1)))
    for m in _finditer(DATE_CN_YEAR_RE, text, "年"):
        year = parse_number(m.group(1))
        if year and 1500 <= year <= 2100:
            found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern", str(year)))
    for m in _finditer(DATE_CN_FULL_RE, text, "月"):
        year, month = parse_number(m.group(1)), parse_number(m.group(2))
        day = parse_number(m.group(3)) if m.group(3) else None
        if year and 1500 <= year <= 2100 and month and _valid_month_day(month, day):
            value = f"{year}-{month:02d}" + (f"-{day:02d}" if day else "")
            found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern", value))
    for m in _finditer(DATE_CN_DAY_RE, text, "日"):
        month, day = parse_number(m.group(1)), parse_number(m.group(2))
        if month and day and _valid_month_day(month, day):
            found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern", f"--{month:02d}-{day:02d}"))
    for regex in (DATE_RANGE_RE, DATE_RANGE_YEAR_RE):
        for m in _finditer(regex, text, DASHES):
            if int(m.group(1)) < int(m.group(2)):
                found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern",
                                       f"{m.group(1)}/{m.group(2)}"))
    for m in _finditer(DATE_FISCAL_RE, text, "年度"):
        start_year = int(m.group(1))
        end_year = start_year // 100 * 100 + int(m.group(2))
        if end_year == start_year + 1:
            found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern",
                                   f"{start_year}/{end_year}"))
    for m in _finditer(DATE_DAY_RE, text, "日"):
        if re.search(r"\d\s*年\s*$", text[:m.start()]):
            continue  # the day of a dated year, found whole above
        month, day = int(m.group(1)), int(m.group(2))
        if _valid_month_day(month, day):
            found.append(Candidate(m.start(), m.end(), "DATE", "", "pattern",
                                   f"--{month:02d}-{day:02d}"))
    for cand in found:
        cand.entity_id = f"date:{cand.value}"
    return found


def percent_value(number: str) -> str:
    value = (Decimal(number) / 100).normalize()
    text = format(value, "f")
    return text


def _percent_candidates(text: str) -> list[Candidate]:
    found = []
    for m in _finditer(PERCENT_RE, text, ("%", "％")):
        value = percent_value(m.group(1))
        found.append(Candidate(m.start(), m.end(), "PERCENT", f"percent:{value}", "pattern", value))
    for m in _finditer(PERCENT_CN_RE, text, "百分之"):
        whole, _, frac = m.group(1).partition("点")
        number = parse_number(whole)
        if number is None:
            continue
        digits = "".join(str(_CN_DIGITS[ch]) for ch in frac)
        value = percent_value(f"{number}.{digits}" if digits else str(number))
        found.append(Candidate(m.start(), m.end(), "PERCENT", f"percent:{value}", "pattern", value))
    return found


# EVENT ---------------------------------------------------------------------------

ORDINAL = rf"(?:\d{{1,3}}|{CN_NUMBER})"
SESSION_KINDS = {"会议": "session", "大会": "assembly", "全球论坛": "forum", "论坛": "forum",
                 "峰会": "summit"}
SESSION_RE = re.compile(rf"第\s*({ORDINAL})\s*届\s*(全球论坛|会议|大会|论坛|峰会)")
# organs whose numbered sessions continue a gazetteer event series
ORG_SERIES = {("org:ipu", "大会"): "ipu-assembly", ("org:ipu-assembly", "会议"): "ipu-assembly"}


def _org_slug(entity_id: str) -> str:
    return entity_id.split(":", 1)[1].replace(":", "-")


def _series_patterns(event_series: dict[str, str]) -> tuple[re.Pattern, re.Pattern] | None:
    if not event_series:
        return None
    names = sorted(event_series, key=len, reverse=True)
    alternation = "|".join(re.escape(n) for n in names)
    return (re.compile(rf"第\s*({ORDINAL})\s*[届次]\s*((?:{alternation}))"),
            re.compile(rf"({alternation})\s*第\s*({ORDINAL})\s*届\s*(?:会议|大会|全球论坛|论坛|峰会)"))


def _numbered_series_candidates(text: str) -> list[Candidate]:
    """第 N 届/次 + a known series name, and a series name + 第 N 届会议."""
    gaz = load_gazetteer()
    if gaz.series_patterns is None or "第" not in text:
        return []
    ordinal_first, series_first = gaz.series_patterns
    found = []
    for m in ordinal_first.finditer(text):
        number = parse_number(m.group(1))
        if number:
            series = gaz.event_series[normalise_name(m.group(2))]
            found.append(Candidate(m.start(), m.end(), "EVENT", f"event:{series}-{number}", "pattern"))
    for m in series_first.finditer(text):
        number = parse_number(m.group(2))
        if number:
            series = gaz.event_series[normalise_name(m.group(1))]
            found.append(Candidate(m.start(), m.end(), "EVENT", f"event:{series}-{number}", "pattern"))
    return found


MEETING_RE = re.compile(un_symbols.MEETING)
_ORGAN_CONTEXT_RE = re.compile(r"(安全理事会|安理会|大会)[^，。；]{0,12}$")


def _meeting_candidates(text: str, symbol: str | None) -> list[Candidate]:
    """第4872次会议, 第63次全体会议: a numbered meeting is an EVENT named by its verbatim
    record's symbol (un_symbols.meeting_record): event:S/PV.4872, event:A/74/PV.63. The organ
    is the one named just before (安全理事会第4670次会议), else the document's own (a Security
    Council text's meetings are the Council's; a plenary meeting is the General Assembly's);
    a meeting of an organ not known this way is not tagged."""
    if "次" not in text:
        return []
    found = []
    own_organ = un_symbols.organ_of_symbol(symbol)
    for m in MEETING_RE.finditer(text):
        number = parse_number(m.group(1))
        if not number:
            continue
        named = _ORGAN_CONTEXT_RE.search(text, max(0, m.start() - 16), m.start())
        organ = ({"大会": "A"}.get(named.group(1), "S") if named else
                 "A" if m.group(2) else own_organ)
        record = un_symbols.meeting_record(organ, number, un_symbols.session_of_symbol(symbol)) \
            if organ else None
        if record:
            found.append(Candidate(m.start(), m.end(), "EVENT", f"event:{record}", "pattern", record))
    return found


def _session_candidates(text: str, selected: list[Candidate], *, whole_paragraph: bool,
                        symbol: str | None, state: DocumentState | None = None) -> list[Candidate]:
    """第 N 届会议 after a named organ: the organ's Nth session.

    The organ stays its own ORG mention; the session gets an id built from it
    (大会第七十六届会议 → event:unga-session-76). A lone session line at the
    head of a General Assembly document is that Assembly's session, and so is a
    bare 第 N 届会议 after the document named the Assembly's Nth session.
    """
    found = []
    org_ends = {c.end: c for c in selected if c.type in ("ORG", "EVENT")}
    for m in SESSION_RE.finditer(text):
        number = parse_number(m.group(1))
        if not number:
            continue
        kind = SESSION_KINDS[m.group(2)]
        prefix_end = m.start()
        while prefix_end > 0 and text[prefix_end - 1] == " ":
            prefix_end -= 1
        owner = org_ends.get(prefix_end)
        if owner is not None and owner.type == "ORG":
            series = ORG_SERIES.get((owner.entity_id, m.group(2)))
            event_id = (f"event:{series}-{number}" if series
                        else f"event:{_org_slug(owner.entity_id)}-{kind}-{number}")
        elif owner is None and whole_paragraph and m.group(2) == "会议" and (symbol or "").startswith("A/"):
            event_id = f"event:unga-session-{number}"
        elif owner is None and m.group(2) == "会议" and state is not None and number in state.sessions:
            event_id = state.sessions[number]
        else:
            continue
        if state is not None and m.group(2) == "会议":
            state.sessions.setdefault(number, event_id)
        found.append(Candidate(m.start(), m.end(), "EVENT", event_id, "pattern"))
    return found


# ORG patterns -------------------------------------------------------------------------

CHAMBERS = {
    "全国人民议会": "", "国民议会": "", "联邦议会": "", "国家议会": "", "立法议会": "",
    "人民议会": "", "国会": "", "议会": "",
    "众议院": ":lower", "下议院": ":lower", "参议院": ":upper", "上议院": ":upper",
}
CHAMBER_RE = re.compile(r"\s*(" + "|".join(sorted(CHAMBERS, key=len, reverse=True)) + ")")
# What jieba glues to a short place name as one word (波兰议会, 纽约联合国总部) though the
# place is a mention of its own
_GLUED_AFTER_PLACE = re.compile(r"\s*(?:" + "|".join(sorted(CHAMBERS, key=len, reverse=True))
                                + "|联合国|政府|人民|当局|问题|局势)")
UNIC_RE = re.compile(r"\s*(新闻中心)")
UN_BODY_SUFFIX = ("信托基金|规划署|办事处|办公室|特派团|援助团|稳定团|核查团|观察团|支助团|委员会|研究所|"
                  "基金|中心|组织|大学|部队|集团|学院|联盟|署")
UN_BODY_RE = re.compile(
    rf"(?<!驻)联合国(?:[{HAN}](?<![的各在对为以其等或向从把将是有于之同与和及并其这该]))"
    rf"{{2,16}}?(?:{UN_BODY_SUFFIX})(?![{HAN}]{{0,1}}(?:组织|机构|系统))"
)
# 联合国系统组织, 联合国会员国组织: descriptions of many bodies, not one name
UN_BODY_GENERIC = ("会员国", "系统", "国际组织", "成员")
MIDDLE_DOTS = ("·", "•", "‧", "・")
PERSON_DOT_RE = re.compile(rf"[{HAN}]{{1,6}}(?:[·•‧・][{HAN}]{{1,8}})+")
ORG_SUFFIX_CHARS = "署团办会军盟局处部厅院所组构队网"


def _parliament_candidates(text: str, gpes: list[Candidate]) -> list[Candidate]:
    found = []
    for gpe in gpes:
        m = CHAMBER_RE.match(text, gpe.end)
        is_country = re.fullmatch(r"gpe:[A-Z]{3}", gpe.entity_id) is not None
        # 太平洋岛屿国家议会 is many parliaments; a bare 议会 needs one country
        if m and (is_country or m.group(1) != "议会"):
            place = gpe.entity_id.split(":", 1)[1]
            found.append(Candidate(gpe.start, m.end(), "ORG",
                                   f"org:parliament:{place}{CHAMBERS[m.group(1)]}", "pattern"))
        m = UNIC_RE.match(text, gpe.end)
        if m:
            place = gpe.entity_id.split(":", 1)[1]
            found.append(Candidate(gpe.start, m.end(), "ORG", f"org:unic:{place}", "pattern"))
    return found


def _un_body_candidates(text: str) -> list[Candidate]:
    gaz = load_gazetteer()
    found = []
    for m in _finditer(UN_BODY_RE, text, "联合国"):
        name = m.group(0)
        if any(word in name for word in UN_BODY_GENERIC):
            continue
        known = gaz.by_name.get(normalise_name(name))
        entity_id = known[0] if known else f"org:{normalise_name(name)}"
        found.append(Candidate(m.start(), m.end(), "ORG", entity_id, "pattern"))
    return found


def _name_part(fragment: str, *, from_end: bool) -> int:
    """How many characters of ``fragment`` next to a middle dot belong to the
    name: jieba words tagged as names, or single characters (pieces of a
    transliteration), up to the first ordinary word."""
    import jieba.posseg

    words = list(jieba.posseg.cut(fragment))
    if from_end:
        words.reverse()
    taken = 0
    for word in words:
        if len(word.word) > 1 and not word.flag.startswith("nr"):
            break
        if len(word.word) == 1 and word.flag[:1] in "pcudvrfmq":
            break  # 由, 和, 的: a function word, not a syllable of the name
        taken += len(word.word)
    return taken


def _person_candidates(text: str) -> list[Candidate]:
    """Transliterated names joined by a middle dot (安东尼奥·古特雷斯); the
    run of Han characters around the dots may carry a title or a verb with it
    (秘书长安东尼奥·古特雷斯指出), which is cut off."""
    found = []
    for m in _finditer(PERSON_DOT_RE, text, MIDDLE_DOTS):
        dots = [i for i in range(m.start(), m.end()) if text[i] in "·•‧・"]
        start = dots[0] - _name_part(text[m.start():dots[0]], from_end=True)
        end = dots[-1] + 1 + _name_part(text[dots[-1] + 1:m.end()], from_end=False)
        if start < dots[0] and end > dots[-1] + 1:
            name = text[start:end]
            found.append(Candidate(start, end, "PERSON", f"person:{name}", "pattern"))
    return found


# POS fallback -----------------------------------------------------------------------

POS_ORG_ENDINGS = ("大学", "学院", "协会", "基金会", "研究所", "研究院", "委员会", "联合会", "银行")
POS_PLACE_ENDINGS = ("省", "州", "市", "县", "岛", "群岛", "地区")
PERSON_TITLES = ("先生", "女士", "阁下", "大使", "博士", "教授", "总统", "总理", "主席", "秘书长")
POS_TAGS = frozenset({"nt", "nr", "ns"})  # the only tags the fallback reads


def _pos_candidates(text: str, tokens: ParagraphTokens | None) -> list[Candidate]:
    """Weak fallback: only jieba tags whose surface form also looks like a
    name of that kind, so precision stays high."""
    if tokens is None:
        return []
    words, tags, starts, ends = tokens.text, tokens.pos, tokens.start, tokens.end
    last = len(words) - 1
    found = []
    # the tagged names, found by a loop in C: the fallback looks at few of a paragraph's tokens
    for index in compress(range(len(tags)), map(POS_TAGS.__contains__, tags)):
        word, pos, start, end = words[index], tags[index], starts[index], ends[index]
        # the next token, when it follows this one with no gap
        glued = words[index + 1] if index < last and starts[index + 1] == end else None
        if pos == "nt" and len(word) >= 4 and word.endswith(POS_ORG_ENDINGS):
            found.append(Candidate(start, end, "ORG", f"org:{word}", "pos"))
        elif pos == "nr" and glued in POS_ORG_ENDINGS:
            # a proper name glued to an institution word: 乔治城 + 大学
            found.append(Candidate(start, ends[index + 1], "ORG", f"org:{word}{glued}", "pos"))
        elif pos == "ns" and len(word) >= 3 and word.endswith(POS_PLACE_ENDINGS):
            found.append(Candidate(start, end, "GPE", f"gpe:{word}", "pos"))
        elif pos == "nr" and 2 <= len(word) <= 4 and glued in PERSON_TITLES[:6]:
            found.append(Candidate(start, end, "PERSON", f"person:{word}", "pos"))
    return found


# --------------------------------------------------------------------------- abbreviations

OPEN_BRACKETS = "(（"
CLOSE_BRACKETS = ")）"
ABBR_RE = re.compile(rf"[(（]\s*([{HAN}A-Za-z][{HAN}A-Za-z0-9\-]{{1,11}})\s*[)）]")
_NO_NAME_CHARS = set("，。、；：“”‘’！？ ,.;:")


@dataclass
class DocumentState:
    """What one document teaches the tagger: learned short forms and titles."""
    abbreviations: dict[str, tuple[str, str]] = field(default_factory=dict)  # short -> (id, type)
    titles: list[tuple[str, str, int]] = field(default_factory=list)  # (title, id, paragraph)
    paragraph: int = 0
    automaton: ahocorasick.Automaton | None = None
    sessions: dict[int, str] = field(default_factory=dict)  # session number -> its event id, as named before
    country: str | None = None  # ISO3 of the last country mentioned, for national laws

    def learn(self, short: str, entity_id: str, type_: str) -> None:
        if self.abbreviations.get(short) != (entity_id, type_):
            self.abbreviations[short] = (entity_id, type_)
            self.automaton = None

    def matcher(self) -> ahocorasick.Automaton | None:
        if self.automaton is None and self.abbreviations:
            automaton = ahocorasick.Automaton()
            for short, value in self.abbreviations.items():
                automaton.add_word(short, (short, value))
            automaton.make_automaton()
            self.automaton = automaton
        return self.automaton


def _learned_candidates(text: str, state: DocumentState, edges: set[int]) -> list[Candidate]:
    automaton = state.matcher()
    if automaton is None:
        return []
    found = []
    for end_index, (short, (entity_id, type_)) in automaton.iter(text):
        end = end_index + 1
        start = end - len(short)
        if start in edges and end in edges:
            found.append(Candidate(start, end, type_, entity_id, "abbreviation"))
    return found


def _common_subsequence(a: str, b: str) -> int:
    row = [0] * (len(b) + 1)
    for ch in a:
        prev = 0
        for j, other in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if ch == other else max(row[j], row[j - 1])
    return row[-1]


def _guess_full_form(text: str, open_at: int, short: str, *, strict: bool = True) -> int | None:
    """Start of the full name that ``short`` abbreviates, printed just before
    the bracket: the shortest run without punctuation that begins with the
    short form's first character and holds its characters in order
    (哥伦比亚革命武装力量-人民军 → 哥人民军). Not strict, for a short form the
    gazetteer knows, one character may be missing and the run need only end
    like an organisation (联合国建设和平综合办事处 → 联几建和办)."""
    if not _HAN_RE.match(short):
        return None
    last = text[open_at - 1:open_at]
    if strict and last != short[-1]:
        return None
    if not strict and (not last or last not in ORG_SUFFIX_CHARS):
        return None
    limit = open_at
    while limit > 0 and open_at - limit < 30 and text[limit - 1] not in _NO_NAME_CHARS \
            and text[limit - 1] not in OPEN_BRACKETS + CLOSE_BRACKETS + "《》":
        limit -= 1
    need = len(short) if strict else len(short) - 1
    for start in range(open_at - len(short), limit - 1, -1):
        if text[start] != short[0]:
            continue
        if _common_subsequence(short, text[start:open_at]) >= need:
            return start if open_at - start > len(short) else None
    return None


def _learn_abbreviations(text: str, chosen: list[Candidate], state: DocumentState,
                         extra: list[Candidate]) -> list[Candidate]:
    """Find FULL(SHORT) definitions, learn them and return the new mentions."""
    gaz = load_gazetteer()
    by_end = {c.end: c for c in chosen}
    new: list[Candidate] = []
    for m in ABBR_RE.finditer(text):
        short = m.group(1)
        full = by_end.get(m.start())
        inner = [c for c in chosen if c.start >= m.start(1) and c.end <= m.end(1)]
        known_short = gaz.by_name.get(normalise_name(short))
        if full is None:
            if known_short and known_short[1] == "ORG":
                # the short form is known, the full form printed differs from the
                # gazetteer's (联合国建设和平综合办事处 for UNIOGBIS): link it
                start = _guess_full_form(text, m.start(), short, strict=False)
                if start is not None and not any(c.start < m.start() and start < c.end and c.type != "ORG"
                                                 for c in chosen):
                    new.append(Candidate(start, m.start(), "ORG", known_short[0], "abbreviation"))
                    for c in inner:
                        c.entity_id = known_short[0]
                continue
            start = _guess_full_form(text, m.start(), short)
            if start is None or text[m.start() - 1] not in ORG_SUFFIX_CHARS:
                continue
            if any(c.start < m.start() and start < c.end for c in chosen):
                continue
            entity_id = known_short[0] if known_short else f"org:{normalise_name(text[start:m.start()])}"
            new.append(Candidate(start, m.start(), "ORG", entity_id, "abbreviation"))
            full = new[-1]
        if full.type not in ("ORG", "LAW", "EVENT"):
            continue
        entity_id = full.entity_id
        if full.method in ("pattern", "abbreviation") and known_short and known_short[1] == full.type \
                and not entity_id.startswith(("org:parliament", "org:unic")) \
                and entity_id not in gaz.entries:
            # the full form was built by a pattern, the gazetteer knows the short one
            entity_id = known_short[0]
            full.entity_id = entity_id
        if inner and all(c.type == full.type for c in inner):
            for c in inner:
                c.entity_id = entity_id
        elif not inner or all(c.type in ("GPE", "DATE") for c in inner):
            new.append(Candidate(m.start(1), m.end(1), full.type, entity_id, "abbreviation"))
        state.learn(normalise_name(short) if full.type == "LAW" else short, entity_id, full.type)
    return new


# --------------------------------------------------------------------------- title linking

# 《宪法》, 《协议》: titles this short point back at most one paragraph;
# longer short forms (《行动纲领》, 《合作协定》) to any earlier title
TITLE_LINK_REACH = 1
SHORT_TITLE = 2


def _link_short_titles(cands: list[Candidate], text: str, doc_text: str, start: int,
                       state: DocumentState) -> None:
    """A title unknown to the gazetteer that ends an earlier title of the same
    document (《合作协定》 after 《联合国同各国议会联盟的合作协定》), or a
    gazetteer title printed earlier in the document, is that title."""
    gaz = load_gazetteer()
    for cand in cands:
        if cand.type != "LAW":
            continue
        key = normalise_name(text[cand.start:cand.end])
        if cand.entity_id.startswith("law:") and cand.entity_id[4:] != key:
            state.titles.append((key, cand.entity_id, state.paragraph))
            continue
        if key in state.abbreviations:
            cand.entity_id = state.abbreviations[key][0]
            continue
        match = None
        for title, entity_id, where in reversed(state.titles):
            # a short title points back only a little way: 《宪法》 two
            # paragraphs after another country's constitution is not it
            if len(key) <= SHORT_TITLE and state.paragraph - where > TITLE_LINK_REACH:
                break
            if title != key and title.endswith(key):
                match = entity_id
                break
        if match is None and len(key) >= 2:
            best = -1
            for name, entity_id in gaz.law_titles.items():
                if name != key and name.endswith(key):
                    pos = doc_text.rfind(name, 0, start)  # in doc_text[:start]
                    if pos > best:
                        best, match = pos, entity_id
        if match:
            cand.entity_id = match
        elif cand.entity_id == f"law:{key}" and is_national_law(key):
            country = _country_before(cands, cand.start) or state.country
            if country:
                cand.entity_id = national_law_id(key, country)
        state.titles.append((key, cand.entity_id, state.paragraph))


_COUNTRY_ID_RE = re.compile(r"(?:gpe|org:parliament):([A-Z]{3})\b")


def _country_of(cand: Candidate) -> str | None:
    m = _COUNTRY_ID_RE.match(cand.entity_id) if cand.type in ("GPE", "ORG") else None
    return m.group(1) if m else None


def _country_before(cands: list[Candidate], position: int) -> str | None:
    """The last country (or a country's parliament) mentioned before ``position`` (the
    candidates are in text order)."""
    for cand in reversed(cands):
        if cand.start < position and cand.type in ("GPE", "ORG"):
            country = _country_of(cand)
            if country:
                return country
    return None


# --------------------------------------------------------------------------- actors and addressees

# An office or a membership right after a body other than the UN is that body's own:
# 各国议会联盟秘书长 is the IPU's secretary-general, 安全理事会各会员国 the Council's members
OWN_OF_THE_BODY = ("actor:secretary-general", "actor:member-states")


def _drop_other_bodies_offices(cands: list[Candidate]) -> list[Candidate]:
    ends = {c.end for c in cands if c.type == "ORG" and c.entity_id != "org:un"}
    return [c for c in cands if not (c.entity_id in OWN_OF_THE_BODY and c.start in ends)]


(ADDRESSEE,) = ENTITY_ROLES  # the values of entities.role

# The verbs by which an operative paragraph addresses someone, and the adverbs they may carry
ADDRESSING_VERBS = ("欢迎", "鼓励", "邀请", "促请", "敦促", "吁请", "呼吁", "恳请", "要求", "赞扬", "请")
_ADDRESSING_RE = re.compile(
    r"(?:^|[，；。]|并|又|还|也)\s*(?:又|还|再次|也|并|进一步|强烈|大力|谨|继续)?\s*"
    rf"({'|'.join(ADDRESSING_VERBS)})(?![求愿示假])")
_LABEL_RE = re.compile(r"^\s*(?:\d{1,3}\s*[.．]|[(（][a-z]{1,4}[)）])\s*")
# What may stand between the verb and its first addressee, and between two addressees:
# quantifiers and qualifiers (所有, 其他有关), conjunctions, the 包括…在内的 frame
_ADDRESSEE_GAP_RE = re.compile(r"^(?:[\s、，()（）]|和|及|以及|或|包括|在内的|所有|全体|各|其他|其它|有关|相关|"
                               r"各组织|机构|实体|基金和方案|特别是|尤其是)*$")
ADDRESSEE_TYPES = ("ACTOR", "ORG", "GPE")


def _mark_addressees(text: str, cands: list[Candidate]) -> None:
    """In an operative paragraph, the mentions a verb of ADDRESSING_VERBS addresses get role
    'addressee': the run of ACTOR, ORG and GPE mentions that follows the verb, separated only
    by conjunctions and qualifiers (促请会员国包括各国议会…以及其他有关利益攸关方 → 会员国,
    各国议会; 鼓励联合国和各国议会联盟 → both). A verb opens the paragraph (after its number)
    or a clause (after a comma, 并, 又)."""
    body = _LABEL_RE.match(text)
    offset = body.end() if body else 0
    actors = [c for c in cands if c.type in ADDRESSEE_TYPES]
    for m in _ADDRESSING_RE.finditer(text[offset:]):  # '^' is where the paragraph's words begin
        position = offset + m.end(1)
        if text.startswith("作为", position):  # 邀请作为…专门机构的世界卫生组织: past the apposition
            of = text.find("的", position, position + 30)
            position = of + 1 if of > 0 else position
        for cand in actors:
            if cand.start < position:
                continue
            if not _ADDRESSEE_GAP_RE.match(text[position:cand.start]):
                break
            cand.role = ADDRESSEE
            position = cand.end


# --------------------------------------------------------------------------- public API

def tag_paragraph(text: str, *, state: DocumentState, para_kind: str | None = None,
                  symbol: str | None = None, doc_type: str | None = None,
                  tokens: ParagraphTokens | None = None, doc_text: str = "",
                  start: int = 0) -> list[Candidate]:
    """Entities of one paragraph, offsets relative to it. Without tokens, jieba
    cuts the paragraph for the word boundaries and there is no POS fallback.
    ``doc_text`` is the whole document, where the paragraph begins at ``start``:
    short titles are linked to titles printed before it."""
    edges = _boundaries(text, tokens)
    gaz_cands = _gazetteer_candidates(text, edges, tokens)
    cands = gaz_cands
    cands += _doc_candidates(text, para_kind=para_kind, own_symbol=symbol, doc_type=doc_type)
    cands += _law_candidates(text)
    cands += _sdg_candidates(text)
    cands += _date_candidates(text)
    cands += _percent_candidates(text)
    cands += _numbered_series_candidates(text)
    cands += _meeting_candidates(text, symbol)
    cands += _un_body_candidates(text)
    cands += _person_candidates(text)
    cands += _learned_candidates(text, state, edges)
    cands += _parliament_candidates(text, [c for c in gaz_cands if c.type == "GPE"])
    cands += _pos_candidates(text, tokens)
    chosen = resolve_overlaps(cands)
    sessions = _session_candidates(text, chosen, whole_paragraph=len(text.strip()) <= 12,
                                   symbol=symbol, state=state)
    if sessions:
        chosen = resolve_overlaps(chosen + sessions)
    learned = _learn_abbreviations(text, chosen, state, cands)
    if learned:
        chosen = resolve_overlaps(chosen + learned + _learned_candidates(text, state, edges))
    chosen = _drop_other_bodies_offices(chosen)
    _link_short_titles(chosen, text, doc_text, start, state)
    if para_kind == "operative":
        _mark_addressees(text, chosen)
    state.country = _country_before(chosen, len(text)) or state.country
    state.paragraph += 1
    return chosen


def tag_entities(*, doc_id: str, symbol: str | None, doc_type: str | None, clean_text: str,
                 paragraphs: list[dict], sentences: list[dict],
                 tokens: list[dict] | Mapping[str, Sequence] | pa.Table | None = None) -> list[dict]:
    """Entity mentions of one document, as rows of the ENTITIES table.

    ``tokens`` are the document's jieba tokens, as rows (dicts with the keys of
    TOKEN_COLUMNS) or, cheaper for a long document, as columns (a mapping of
    those names to sequences of equal length) or, cheapest, as an Arrow table
    with those columns. Without them, jieba cuts each
    paragraph again for the word boundaries."""
    state = DocumentState()
    # A text in traditional script is matched as simplified (the gazetteers' script), character
    # for character, so every offset holds; the mentions keep the document's own characters.
    matched_text = simplified(clean_text)
    sentence_starts = sorted((s["char_start"], s["char_end"], s["sent_id"]) for s in sentences)
    starts = [s[0] for s in sentence_starts]
    doc_tokens = DocumentTokens.of(tokens)
    rows: list[dict] = []
    for para in sorted(paragraphs, key=lambda p: p["char_start"]):
        start, end = para["char_start"], para["char_end"]
        text = matched_text[start:end]
        para_tokens = doc_tokens.paragraph(start, end) if doc_tokens is not None else None
        for cand in tag_paragraph(text, state=state, para_kind=para.get("kind"), symbol=symbol,
                                  doc_type=doc_type, tokens=para_tokens,
                                  doc_text=matched_text, start=start):
            a, b = start + cand.start, start + cand.end
            index = bisect.bisect_right(starts, a) - 1
            sent_id = None
            if index >= 0 and sentence_starts[index][1] >= b:
                sent_id = sentence_starts[index][2]
            rows.append({
                "doc_id": doc_id, "para_id": para["para_id"], "sent_id": sent_id,
                "entity_id": cand.entity_id, "type": entity_type(cand.type),
                "subtype": entity_subtype(cand.type), "text": clean_text[a:b],
                "char_start": a, "char_end": b, "method": cand.method,
                "value": cand.value if cand.value is not None else (
                    cand.entity_id[4:] if cand.type == "DOC" else None),
                "role": cand.role,
            })
    return rows


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # OpenCC's own tables, as the metadata reader uses them

    return opencc.OpenCC("t2s").convert


# Characters of traditional script that simplified texts never hold and any traditional UN text
# does (會 國 與 為 議 這 們 個 來 發 對 時 說 於 關 經 歲 區 際 長 …): without one, nothing to convert
_TRADITIONAL_RE = re.compile("[會國與為議這們個來發對時說於關經區際長書實現應當選權聯]")


def simplified(text: str) -> str:
    """The text in simplified script when converting it keeps every character's place (OpenCC's
    t2s, which converts character by character except for a few phrases), else the text."""
    if not _TRADITIONAL_RE.search(text):
        return text
    converted = _t2s()(text)
    return converted if len(converted) == len(text) else text


CATALOG_COLUMNS = ["entity_id", "type", "subtype", "text", "doc_id"]  # what the catalog reads of the mentions (catalog.py)
