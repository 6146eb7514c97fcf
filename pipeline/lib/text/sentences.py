"""Sentences: split inside each paragraph, never across paragraphs.

A sentence ends at 。！？ (and the full-width and ASCII variants ．｡!?), together
with any closing quotes or brackets that follow the stop. The ASCII full stop is
not a boundary: in UN Chinese text it belongs to symbols (A/74/L.85), decimals
and paragraph numbers.

A sentence is at most MAX_SENTENCE_CHARS long: a longer one (a line with no stop, such
as a table flattened into text) is cut after the last comma-like mark (，、；：,;) that
keeps the piece within the limit, else at the limit, so no tokenizer call gets more.
"""
from __future__ import annotations

import re

from pipeline.lib.text.clean import CN_NUMBERED, LETTER_HEADING, NUMBERED

_END = re.compile(r"[。！？!?．｡]+[”’」』）)\]》〕】\"']*")
MAX_SENTENCE_CHARS = 1000
_COMMA_LIKE = "，、；：,;"


def split_sentences(clean_text: str, paragraphs: list[dict]) -> list[dict]:
    sentences: list[dict] = []
    for para in paragraphs:
        start, end = para["char_start"], para["char_end"]
        text = clean_text[start:end]
        # A stop inside the paragraph's own label (1．, 一．) ends no sentence.
        label = max((m.end() for p in (NUMBERED, CN_NUMBERED, LETTER_HEADING) if (m := p.match(text))), default=0)
        cuts = [m.end() for m in _END.finditer(text) if m.start() >= label]
        if not cuts or cuts[-1] != len(text):
            cuts.append(len(text))
        cuts = _bounded(text, cuts)
        begin = 0
        k = 0
        for cut in cuts:
            chunk = text[begin:cut]
            lead = len(chunk) - len(chunk.lstrip())
            trail = len(chunk.rstrip())
            if chunk.strip():
                k += 1
                s, e = start + begin + lead, start + begin + trail
                sentences.append({
                    "para_id": para["para_id"], "sent_id": f"{para['para_id']}.s{k}",
                    "seq": len(sentences), "text": clean_text[s:e], "char_start": s, "char_end": e,
                })
            begin = cut
    return sentences


def _bounded(text: str, cuts: list[int], limit: int = MAX_SENTENCE_CHARS) -> list[int]:
    """The cuts, with more wherever two are over `limit` characters apart: after the last
    comma-like mark that keeps the piece within the limit, else at the limit."""
    if all(b - a <= limit for a, b in zip([0, *cuts], cuts)):
        return cuts  # the usual case: nothing to add
    out: list[int] = []
    begin = 0
    for cut in cuts:
        while cut - begin > limit:
            window = text[begin:begin + limit]
            mark = max(window.rfind(c) for c in _COMMA_LIKE)
            begin += mark + 1 if mark >= 0 else limit
            out.append(begin)
        out.append(cut)
        begin = cut
    return out
