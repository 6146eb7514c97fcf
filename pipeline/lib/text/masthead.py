"""The masthead: what a UN document's first page prints about it, partly in English.

    联合国                                              A/74/759
    大 会                                  Distr.: General
                                           2 April 2020
                                           Chinese
                                           Original: English
    第七十四届会议
    议程项目 125
    …
    20-05238 (C)
    *2005238*

The readers of PDF, Word and HTML keep these lines as the document's first lines (front
matter), so they are read from the text like any other metadata (provenance `text`), and a
plain text exported with its masthead gives them too. Session, agenda item, title and kind are
read by structure.read_metadata from the same lines; this module reads the rest: the symbol, the
organ, the distribution and its date, the original language, the job number (or, without it,
the barcode that encodes it).
"""
from __future__ import annotations

import datetime
import re

from pipeline.lib.text import un_symbols

# The six official languages, as the masthead names the original: BCP 47 tags.
LANGUAGES = {"arabic": "ar", "chinese": "zh", "english": "en", "french": "fr", "russian": "ru", "spanish": "es",
             "阿拉伯文": "ar", "中文": "zh", "英文": "en", "法文": "fr", "俄文": "ru", "西班牙文": "es"}
ORGANS = ("大会", "安全理事会", "经济及社会理事会", "人权理事会", "托管理事会")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_DISTRIBUTION = re.compile(r"\bDistr\.?\s*[:：]\s*(General|Limited|Restricted)\b", re.IGNORECASE)
_ENGLISH_DATE = re.compile(rf"\b(\d{{1,2}})\s+({'|'.join(MONTHS)})\s+(\d{{4}})\b", re.IGNORECASE)
_ORIGINAL = re.compile(r"\bOriginal\s*[:：]\s*([A-Za-z]+)|原文\s*[:：]\s*(\S+?文)")
_JOB_NUMBER = re.compile(r"^(\d{2}-\d{5})(?:\s*\(([A-Z])\))?(?:\s+\d{6}){0,2}$")
_BARCODE = re.compile(r"^\*(\d{2})(\d{5})\*$")
# The masthead is at the top: lines further down are not read as it.
MASTHEAD_LINES = 40


def read(lines: list[str]) -> dict:
    """The masthead fields found in the document's first lines: symbol, organ (as printed, its
    spaces gone: 大会), distribution, date (ISO 8601), original_language (BCP 47), job_number
    (`20-05238 (C)`). A field the lines do not print is absent."""
    found: dict = {}
    barcode = None
    for line in lines[:MASTHEAD_LINES]:
        line = line.strip()
        compact = re.sub(r"\s+", "", line)
        if un_symbols.is_symbol(line):
            found.setdefault("symbol", line)
        if compact in ORGANS:
            found.setdefault("organ", compact)
        if m := _DISTRIBUTION.search(line):
            found.setdefault("distribution", m.group(1).capitalize())
        if (m := _ENGLISH_DATE.search(line)) and "date" not in found:
            try:
                day = datetime.date(int(m.group(3)), MONTHS.index(m.group(2).lower()) + 1, int(m.group(1)))
                found["date"] = day.isoformat()
            except ValueError:
                pass
        if m := _ORIGINAL.search(line):
            language = LANGUAGES.get((m.group(1) or m.group(2)).lower())
            if language:
                found.setdefault("original_language", language)
        if m := _JOB_NUMBER.match(line):
            found.setdefault("job_number", f"{m.group(1)} ({m.group(2)})" if m.group(2) else m.group(1))
        if m := _BARCODE.match(line):
            barcode = f"{m.group(1)}-{m.group(2)}"
    if barcode and "job_number" not in found:
        found["job_number"] = barcode
    return found


_MASTHEAD_ONLY = re.compile(r"^(?:联合国|United Nations|Chinese|English|French|Spanish|Russian|Arabic|中文)$", re.IGNORECASE)


def is_masthead_line(line: str) -> bool:
    """A line that only the masthead prints (联合国, 大 会, Distr.: General, 2 April 2020, Chinese,
    Original: English, the job number, the barcode): never a title."""
    line = line.strip()
    return bool(_MASTHEAD_ONLY.match(line) or re.sub(r"\s+", "", line) in ORGANS or _DISTRIBUTION.search(line)
                or _ENGLISH_DATE.fullmatch(line) or _ORIGINAL.search(line) or _JOB_NUMBER.match(line)
                or _BARCODE.match(line))
