"""Chinese numerals, read once for every module that meets them (sessions, dates, meetings,
section labels, old-style resolution numbers)."""
from __future__ import annotations

_CN_VALUES = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_to_int(text: str) -> int | None:
    """Chinese or Arabic numeral to int: 七十四 → 74, 一百一十 → 110, 二〇一九 → 2019, '63' → 63,
    廿六 → 26, and the digit-by-digit forms with an Arabic zero that old texts print (二0二五 → 2025)."""
    text = text.strip().replace("廿", "二十").replace("卅", "三十")
    if text.isdigit() and text.isascii():
        return int(text)
    if not text or any(c not in _CN_VALUES and c not in _CN_UNITS and c != "0" for c in text):
        return None
    if not any(c in _CN_UNITS for c in text):  # digit by digit: 二〇一九 → 2019
        return int("".join("0" if c == "0" else str(_CN_VALUES[c]) for c in text))
    if "0" in text:
        return None
    total, current = 0, 0
    for ch in text:
        if ch in _CN_VALUES:
            current = _CN_VALUES[ch]
        else:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
    return total + current
