"""Tokens and part-of-speech tags, with the corpus's proper names in a user dictionary.

Two backends run the same dictionary and algorithm:

- `jieba` (jieba.posseg): the reference and the default;
- `rjieba` (the jieba-rs binding): opt-in, many times faster; on the seeds it agrees with
  jieba.posseg on 98.7% of token spans and 99.5% of proper-noun tags, the rest being unknown
  words the two HMMs guess differently (tests/test_tokenizer_backends.py holds a floor).

The backend is chosen by the `backend` argument, else by `set_backend()`, else by the
environment variable UNPARL_TOKENIZER, else jieba. Each tokenizer is built once per process
(jieba's dictionary costs about 0.2 s and 150 MiB) and reused for every document; the user
dictionary is applied to both through `add_word`.

Some spans are never given to the tokenizer to cut (`kept_spans`): a paragraph's label (63.,
(a)) and footnote markers (⁹) become one token each, flagged as such in `flag`, and document
symbols and resolution numbers (A/RES/74/304, 72/278) one word each.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import metadata, resources

import jieba
import jieba.posseg

from pipeline.lib.text import un_symbols
from pipeline.schemas import TOKEN_FLAGS

jieba.setLogLevel(logging.WARNING)
_lock = threading.Lock()

BACKENDS = ("jieba", "rjieba")
DEFAULT_BACKEND = "jieba"
ENV_VAR = "UNPARL_TOKENIZER"
_chosen: str | None = None


class UnknownBackend(ValueError):
    pass


def _userdict_lines() -> list[tuple[str, int, str]]:
    text = resources.files("pipeline.gazetteers").joinpath("userdict.txt").read_text("utf-8")
    words = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, freq, tag = line.split()
        words.append((word, int(freq), tag))
    return words


def _check(name: str) -> str:
    name = (name or DEFAULT_BACKEND).strip().lower()
    if name not in BACKENDS:
        raise UnknownBackend(f"unknown tokenizer backend {name!r}: choose one of {', '.join(BACKENDS)}")
    return name


def set_backend(name: str | None) -> None:
    """Choose the process's backend (None: back to UNPARL_TOKENIZER or the default)."""
    global _chosen
    _chosen = _check(name) if name else None


def current_backend(backend: str | None = None) -> str:
    if backend:
        return _check(backend)
    return _check(_chosen or os.environ.get(ENV_VAR) or DEFAULT_BACKEND)


@lru_cache(maxsize=1)
def pos_tokenizer() -> jieba.posseg.POSTokenizer:
    with _lock:
        base = jieba.Tokenizer()
        base.initialize()
        tokenizer = jieba.posseg.POSTokenizer(base)
        for word, freq, tag in _userdict_lines():
            base.add_word(word, freq, tag)
        return tokenizer


@lru_cache(maxsize=1)
def _rjieba():
    try:
        import rjieba
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise UnknownBackend("the rjieba backend needs the 'rjieba' package (pip install rjieba)") from exc
    with _lock:
        tokenizer = rjieba.Jieba()
        for word, freq, tag in _userdict_lines():
            tokenizer.add_word(word, freq, tag)
        return tokenizer


@lru_cache(maxsize=1)
def _userdict_tags() -> dict[str, str]:
    return {word: tag for word, _, tag in _userdict_lines()}


_NUMBER = frozenset("0123456789.")


def _rjieba_tag(text: str) -> list[tuple[str, str]]:
    """rjieba's tags made to match jieba.posseg's where they differ by rule, not by model:
    a user-dictionary word keeps its dictionary tag (jieba-rs' add_word leaves the tag of a word
    it already knows), and a run of digits and dots is one number ('1.' as jieba cuts it)."""
    tags = _userdict_tags()
    out: list[tuple[str, str]] = []
    for word, flag in _rjieba().tag(text):
        if word in tags:
            flag = tags[word]
        elif out and _NUMBER.issuperset(word) and _NUMBER.issuperset(out[-1][0]):
            out[-1] = (out[-1][0] + word, "m")
            continue
        out.append((word, flag))
    return out


def tagger(backend: str | None = None) -> Callable[[str], Iterable[tuple[str, str]]]:
    """text → (word, tag) pairs covering the text, from the chosen backend (built on first use)."""
    name = current_backend(backend)
    if name == "rjieba":
        return _rjieba_tag
    cut = pos_tokenizer().cut
    return lambda text: ((p.word, p.flag) for p in cut(text))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def backend_name(backend: str | None = None) -> str:
    """The backend in use with its version, e.g. 'jieba 0.42.1' (for the manifest and data card)."""
    name = current_backend(backend)
    return f"{name} {jieba.__version__ if name == 'jieba' else _version(name)}"


# Spans the tokenizer never cuts: each is one token whatever the dictionary says.
# A paragraph's label (63., (a), 二.) opens its first sentence; a footnote marker is a run of
# superscript digits (the seeds' ¹…⁹); document symbols (A/RES/74/304), resolution numbers
# (72/278) and Security Council numbers with their year (1540(2004)号) are names of documents.
LABEL_RE = re.compile(r"\s*(?:\d{1,3}(?:\.\d{1,3})*\s*[.．]|[(（](?:[a-z]{1,4}|[ivxlc]{1,6}|\d{1,3})[)）]"
                      r"|[a-z][)）]|[一二三四五六七八九十]{1,3}[、.．]|[A-Z][.．]|[IVX]{1,5}[.．])(?=\s|[^\d\s])")
FOOTNOTE_MARKER_RE = re.compile("[¹²³⁴⁵⁶⁷⁸⁹⁰]+")
RESOLUTION_NUMBER_RE = re.compile(
    rf"(?<![A-Za-z0-9/.]){un_symbols.RESOLUTION_NUMBER}(?![A-Za-z0-9/])"
    rf"|(?<![A-Za-z0-9/])\d{{1,4}}\s?[(（]\d{{4}}[)）](?=\s*号)")
LABEL, FOOTNOTE_MARKER = TOKEN_FLAGS  # the values of tokens.flag
FLAGS = {LABEL: "x", FOOTNOTE_MARKER: "x", None: "nz"}  # the tag a kept span gets


def kept_spans(text: str, *, opens_paragraph: bool) -> list[tuple[int, int, str | None]]:
    """The spans of one sentence the tokenizer must not cut, as (start, end, flag): flag
    'label', 'footnote_marker', or None for a symbol or resolution number (a word)."""
    spans: list[tuple[int, int, str | None]] = []
    if opens_paragraph:
        m = LABEL_RE.match(text)
        if m:
            start = len(m.group(0)) - len(m.group(0).lstrip())
            spans.append((start, m.end(), LABEL))
    if "/" in text or "(" in text or "（" in text:
        spans += [(m.start(), m.end(), None) for m in un_symbols.find_symbols(text)]
        spans += [(m.start(), m.end(), None) for m in RESOLUTION_NUMBER_RE.finditer(text)]
    spans += [(m.start(), m.end(), FOOTNOTE_MARKER) for m in FOOTNOTE_MARKER_RE.finditer(text)]
    spans.sort()
    kept: list[tuple[int, int, str | None]] = []
    for span in spans:  # the first of overlapping spans wins (a label before a number in it)
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def _para_id(sent_id: str) -> str:
    """A sentence's paragraph: its sent_id is para_id + '.s' + position (schemas.SENTENCES)."""
    head, sep, tail = sent_id.rpartition(".s")
    return head if sep and tail.isdigit() else sent_id


def tokenize_columns(clean_text: str, sentences: list[dict], backend: str | None = None) -> dict[str, list]:
    """Tokens of every sentence as columns (sent_id, para_id, seq, text, pos, flag, char_start,
    char_end), white space dropped, offsets into clean_text. Labels, footnote markers, symbols
    and resolution numbers (kept_spans) are one token each."""
    tag = tagger(backend)
    sent_ids: list[str] = []
    para_ids: list[str] = []
    seqs: list[int] = []
    words: list[str] = []
    flags: list[str] = []
    marks: list[str | None] = []
    starts: list[int] = []
    ends: list[int] = []
    for sent in sentences:
        start = sent["char_start"]
        text = clean_text[start:sent["char_end"]]
        sent_id = sent["sent_id"]
        para_id = sent.get("para_id") or _para_id(sent_id)
        seq = 0

        def emit(word: str, flag: str, at: int, mark: str | None) -> None:
            nonlocal seq
            sent_ids.append(sent_id)
            para_ids.append(para_id)
            seqs.append(seq)
            words.append(word)
            flags.append(flag)
            marks.append(mark)
            starts.append(start + at)
            ends.append(start + at + len(word))
            seq += 1

        def cut(lo: int, hi: int) -> None:
            piece = text[lo:hi]
            pos = 0
            for word, flag in tag(piece) if piece and not piece.isspace() else ():
                if piece.startswith(word, pos):
                    at = pos
                else:
                    at = piece.find(word, pos)
                    if at < 0:  # the tokenizer returned something not in the text: skip it rather than lie
                        continue
                pos = at + len(word)
                if word.isspace() or not word:
                    continue
                emit(word, flag, lo + at, None)

        done = 0
        for lo, hi, mark in kept_spans(text, opens_paragraph=sent_id.endswith(".s1")):
            cut(done, lo)
            emit(text[lo:hi], FLAGS[mark], lo, mark)
            done = hi
        cut(done, len(text))
    return {"sent_id": sent_ids, "para_id": para_ids, "seq": seqs, "text": words, "pos": flags,
            "flag": marks, "char_start": starts, "char_end": ends}


def tokenize(clean_text: str, sentences: list[dict], backend: str | None = None) -> list[dict]:
    """Tokens of every sentence, white space dropped, offsets into clean_text."""
    columns = tokenize_columns(clean_text, sentences, backend)
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*columns.values())]
