"""Which encoding a document's bytes are in, when no BOM says and strict UTF-8 fails: one rule
for plain text and for web pages that declare no charset (charset-normalizer chooses)."""
from __future__ import annotations

from charset_normalizer import from_bytes

# Encodings detection chooses among, after BOMs and strict UTF-8. The corpus is Chinese: on a tie
# (a short GB18030 text also decodes as EUC-KR, a short Big5 one as Shift-JIS) Chinese wins.
_DETECTED = ["gb18030", "big5", "utf_16", "shift_jis", "euc_kr", "cp1252"]
_CHINESE = {"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950"}
# Invisible characters cleaning drops: a file of nothing else is empty.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def detect_encoding(data: bytes) -> tuple[str, float] | None:
    """charset-normalizer's choice (Chinese on a tie) and its confidence, 1 - chaos."""
    matches = list(from_bytes(data, cp_isolation=_DETECTED))
    if matches:
        best = min(matches, key=lambda m: (round(float(m.chaos), 3), m.encoding not in _CHINESE,
                                           -float(m.coherence)))
        encoding = "gb18030" if best.encoding in ("gb2312", "gbk") else best.encoding  # the superset
        return encoding, round(1.0 - float(best.chaos), 4)
    # Zero-width characters and soft hyphens look like noise to the detector: when a Chinese
    # encoding decodes the bytes strictly, let the detector judge the visible text alone.
    for encoding in ("gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        visible = text.translate(INVISIBLE)
        if visible == text or not visible.strip():
            continue
        again = detect_encoding(visible.encode(encoding))
        if again is not None and again[0] == encoding:
            return again
    return None
