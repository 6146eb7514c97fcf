"""The tokenizer backends: jieba (reference, default) and rjieba (jieba-rs, opt-in).

rjieba runs the same dictionary and algorithm, so on the seeds it must agree with jieba.posseg
on nearly every token span and proper-noun tag; the floors below hold that agreement.
"""
from __future__ import annotations

import shutil

import pytest

from pipeline.lib import chain, runner
from pipeline.lib.text import tokens
from pipeline.lib.workdir import read_work
from tests.conftest import REPORT_FILE, RESOLUTION_FILE, process_file, sidecar_path

rjieba = pytest.importorskip("rjieba")

SPAN_FLOOR = 0.98           # measured on the seeds: 0.987 (HMM on; the rest are HMM guesses)
PROPER_NOUN_FLOOR = 0.98    # measured on the seeds: 0.995 (HMM on)
PROPER_NOUNS = {"nr", "ns", "nt", "nz"}


@pytest.fixture(scope="module")
def seeds():
    return [process_file(REPORT_FILE), process_file(RESOLUTION_FILE)]


def _tokens(doc, backend):
    return tokens.tokenize(doc.doc["clean_text"], doc.sentences, backend=backend)


def agreement(seeds) -> tuple[float, float]:
    spans_a = spans_b = shared = 0
    nouns = nouns_same = 0
    for doc in seeds:
        a = {(t["char_start"], t["char_end"]): t["pos"] for t in _tokens(doc, "jieba")}
        b = {(t["char_start"], t["char_end"]): t["pos"] for t in _tokens(doc, "rjieba")}
        spans_a, spans_b, shared = spans_a + len(a), spans_b + len(b), shared + len(a.keys() & b.keys())
        for span, tag in a.items():
            if tag in PROPER_NOUNS:
                nouns += 1
                nouns_same += b.get(span) == tag
    return shared / max(spans_a, spans_b), nouns_same / nouns


def test_backends_agree_on_the_seeds(seeds):
    spans, proper_nouns = agreement(seeds)
    assert spans >= SPAN_FLOOR, f"token spans agree on {spans:.4f}"
    assert proper_nouns >= PROPER_NOUN_FLOOR, f"proper-noun tags agree on {proper_nouns:.4f}"


@pytest.mark.parametrize("backend", tokens.BACKENDS)
def test_user_dictionary_applies_to_both(backend):
    words = [w for w, _ in tokens.tagger(backend)("联合国开发计划署与各国议会联盟合作")]
    assert "联合国开发计划署" in words and "各国议会联盟" in words


@pytest.mark.parametrize("backend", tokens.BACKENDS)
def test_offsets_hold_with_either_backend(seeds, backend):
    for doc in seeds:
        text = doc.doc["clean_text"]
        rows = _tokens(doc, backend)
        assert rows
        assert all(text[t["char_start"]:t["char_end"]] == t["text"] for t in rows)
        assert all(t["text"].strip() for t in rows)


def test_backend_name_carries_the_version():
    assert tokens.backend_name("jieba").startswith("jieba 0.")
    assert tokens.backend_name("rjieba") == f"rjieba {__import__('importlib.metadata').metadata.version('rjieba')}"


@pytest.mark.parametrize("backend", tokens.BACKENDS)
def test_the_chain_tokenizes_with_the_backend_it_is_given(seeds, backend, tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for path in (REPORT_FILE, sidecar_path(REPORT_FILE)):
        shutil.copy(path, folder / path.name)
    (key,) = chain.locate_sources(folder)
    data = tmp_path / "data"
    outcomes = runner.run_documents([key], ("documents", "tokens"), data_dir=data, seeds_dir=folder, backend=backend)
    assert {o.status for o in outcomes[key].values()} == {"ok"}
    written = read_work(data, "tokens", key).select(["char_start", "char_end", "pos"]).to_pylist()
    expected = [{k: t[k] for k in ("char_start", "char_end", "pos")} for t in _tokens(seeds[0], backend)]
    assert written == expected


def test_backend_choice_from_argument_setting_and_environment(seeds, monkeypatch):
    # `seeds` ran the chain in this process: that leaves the process's choice to the environment.
    monkeypatch.delenv(tokens.ENV_VAR, raising=False)
    assert tokens.current_backend() == "jieba"
    monkeypatch.setenv(tokens.ENV_VAR, "rjieba")
    assert tokens.current_backend() == "rjieba"
    assert tokens.current_backend("jieba") == "jieba"
    tokens.set_backend("jieba")
    try:
        assert tokens.current_backend() == "jieba"
    finally:
        tokens.set_backend(None)
    with pytest.raises(tokens.UnknownBackend):
        tokens.current_backend("spacy")


def test_settings_resource_reads_the_environment(monkeypatch):
    from pipeline.defs.resources import settings_from_env

    monkeypatch.setenv("UNPARL_TOKENIZER", "rjieba")
    monkeypatch.setenv("UNPARL_WORKERS", "3")
    settings = settings_from_env()
    assert settings.tokenizer.env_var_name == "UNPARL_TOKENIZER"
    assert settings.workers.env_var_name == "UNPARL_WORKERS"
