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
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import metadata, resources

import jieba
import jieba.posseg

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


def tokenize_columns(clean_text: str, sentences: list[dict], backend: str | None = None) -> dict[str, list]:
    """Tokens of every sentence as columns (sent_id, seq, text, pos, char_start, char_end),
    white space dropped, offsets into clean_text."""
    tag = tagger(backend)
    sent_ids: list[str] = []
    seqs: list[int] = []
    words: list[str] = []
    flags: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for sent in sentences:
        start = sent["char_start"]
        text = clean_text[start:sent["char_end"]]
        sent_id = sent["sent_id"]
        pos = 0
        seq = 0
        for word, flag in tag(text):
            if text.startswith(word, pos):
                at = pos
            else:
                at = text.find(word, pos)
                if at < 0:  # the tokenizer returned something not in the text: skip it rather than lie
                    continue
            pos = at + len(word)
            if word.isspace() or not word:
                continue
            sent_ids.append(sent_id)
            seqs.append(seq)
            words.append(word)
            flags.append(flag)
            starts.append(start + at)
            ends.append(start + pos)
            seq += 1
    return {"sent_id": sent_ids, "seq": seqs, "text": words, "pos": flags,
            "char_start": starts, "char_end": ends}


def tokenize(clean_text: str, sentences: list[dict], backend: str | None = None) -> list[dict]:
    """Tokens of every sentence, white space dropped, offsets into clean_text."""
    columns = tokenize_columns(clean_text, sentences, backend)
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*columns.values())]
