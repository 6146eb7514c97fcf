"""CoNLL-U export: every file parses with the `conllu` package and agrees with the tables it came
from (sentences, tokens, offsets, entity labels); the mapping covers every tag jieba emits; bad rows
are refused with a reason."""
from __future__ import annotations

import io
import os
import re
from collections import Counter

import conllu
import jieba
import pyarrow as pa
import pytest
from jieba.posseg import char_state_tab_P

from pipeline import schemas
from pipeline.lib.document import ProcessedDocument, process_document
from pipeline.lib.release.conllu import (
    UNIVERSAL_POS, ConlluError, to_conllu, upos, upos_mapping, write_conllu, write_conllu_file,
)
from pipeline.lib.storage import sort_table, to_arrow
from pipeline.lib.text.ingest import read_sidecar
from tests.conftest import A_RES_61_211_FILE, CHARTER_FILE, REPORT_FILE, RESOLUTION_FILE, sidecar_path


def _process(path) -> ProcessedDocument:
    sidecar = read_sidecar(sidecar_path(path)) if sidecar_path(path).exists() else None
    return process_document(path.read_text("utf-8"), source_file=path.name, sidecar=sidecar)


@pytest.fixture(scope="module")
def seeds() -> list[ProcessedDocument]:
    """The two seeds, through the whole chain (entities included)."""
    return [_process(REPORT_FILE), _process(RESOLUTION_FILE)]


@pytest.fixture(scope="module")
def samples() -> list[ProcessedDocument]:
    return [_process(CHARTER_FILE), _process(A_RES_61_211_FILE)]


def tables(docs: list[ProcessedDocument]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """One part's tables as the release writes them: cast to the schemas, sorted by key."""
    out = []
    for name, rows in (("sentences", [r for d in docs for r in d.sentences]),
                       ("tokens", [r for d in docs for r in d.tokens]),
                       ("entities", [r for d in docs for r in d.entities])):
        out.append(sort_table(to_arrow(rows, schemas.TABLES[name]), schemas.SORT_KEYS[name]))
    return tuple(out)


def check_against_tables(text: str, docs: list[ProcessedDocument]) -> list[conllu.TokenList]:
    """Everything a reader of the file relies on, checked against the rows it came from."""
    parsed = conllu.parse(text)
    sentences = [s for d in sorted(docs, key=lambda d: d.doc["doc_id"])
                 for s in sorted(d.sentences, key=lambda s: s["seq"])]
    tokens = [t for d in docs for t in d.tokens]
    clean = {d.doc["doc_id"]: d.doc["clean_text"] for d in docs}
    types = {e["type"] for d in docs for e in d.entities}

    # Counts: one CoNLL-U sentence per row of sentences, one token line per row of tokens.
    assert len(parsed) == len(sentences)
    assert sum(len(s) for s in parsed) == len(tokens)
    assert [s.metadata["sent_id"] for s in parsed] == [s["sent_id"] for s in sentences]
    assert [s.metadata["text"] for s in parsed] == [s["text"] for s in sentences]
    assert [s.metadata["newdoc id"] for s in parsed if "newdoc id" in s.metadata] == \
        sorted(d.doc["doc_id"] for d in docs)
    para_starts = [s["para_id"] for i, s in enumerate(sentences) if i == 0 or sentences[i - 1]["para_id"] != s["para_id"]]
    assert [s.metadata["newpar id"] for s in parsed if "newpar id" in s.metadata] == para_starts

    doc_id = None
    tags = {(t["sent_id"], t["seq"]): t["pos"] for t in tokens}
    for sentence, row in zip(parsed, sentences):
        doc_id = sentence.metadata.get("newdoc id", doc_id)
        assert doc_id == row["doc_id"]
        assert [t["id"] for t in sentence] == list(range(1, len(sentence) + 1))
        rebuilt = ""
        previous = None
        for n, token in enumerate(sentence):
            misc = token["misc"]
            start, end = int(misc["CharStart"]), int(misc["CharEnd"])
            # Offsets hold: the form is the document's clean text at the token's offsets.
            assert clean[doc_id][start:end] == token["form"]
            assert row["char_start"] <= start and end <= row["char_end"]
            assert token["upos"] in UNIVERSAL_POS
            assert token["xpos"] == tags[(row["sent_id"], n)]
            assert token["lemma"] == "_" and token["head"] is None
            # BIO: an I continues a B or I of the same type; a B names its entity.
            ner = misc["NER"]
            assert ner == "O" or (ner[:2] in ("B-", "I-") and ner[2:] in types), ner
            if ner.startswith("I-"):
                assert previous is not None and previous[2:] == ner[2:] and previous != "O"
            assert ("Entity" in misc) == ner.startswith("B-")
            previous = ner
            rebuilt += token["form"] + ("" if misc.get("SpaceAfter") == "No" else " ")
        # SpaceAfter=No marks exactly where the text has no space between two tokens.
        assert rebuilt.rstrip() == re.sub(r"\s+", " ", row["text"]).strip()
    return parsed


def labelled_mentions(parsed: list[conllu.TokenList]) -> Counter:
    """(entity_id, type, char_start) of every B label."""
    return Counter((t["misc"]["Entity"], t["misc"]["NER"][2:], int(t["misc"]["CharStart"]))
                   for s in parsed for t in s if t["misc"]["NER"].startswith("B-"))


def test_each_seed_parses_and_agrees_with_its_tables(seeds, tmp_path):
    for doc in seeds:
        path = tmp_path / f"{doc.doc['doc_id']}.conllu"
        counts = write_conllu_file(path, *tables([doc]))
        parsed = check_against_tables(path.read_text("utf-8"), [doc])
        assert (counts.documents, counts.sentences, counts.tokens) == (1, len(doc.sentences), len(doc.tokens))
        assert counts.paragraphs == len({s["para_id"] for s in doc.sentences})
        # Every mention is labelled or counted as left out (nested in a longer one).
        assert counts.mentions + counts.mentions_unlabelled == len(doc.entities)
        assert counts.mentions > 0.9 * len(doc.entities)
        assert sum(labelled_mentions(parsed).values()) == counts.mentions


def test_entity_labels_start_where_the_mentions_start(seeds):
    report = seeds[0]
    parsed = conllu.parse(to_conllu(*tables([report])))
    mentions = {(e["entity_id"], e["type"], e["char_start"]) for e in report.entities}
    starts = labelled_mentions(parsed)
    assert starts
    # A B token starts at its mention's start, or earlier when the mention begins inside a token.
    tokens_by_start = {int(t["misc"]["CharStart"]): t for s in parsed for t in s}
    for entity_id, type_, start in starts:
        assert any(m[0] == entity_id and m[1] == type_ and start <= m[2] < int(tokens_by_start[start]["misc"]["CharEnd"])
                   for m in mentions)
    # The seeds' best-known name comes out as an ORG span with its canonical id.
    labelled = Counter((t["form"], t["misc"]["NER"], t["misc"].get("Entity")) for s in parsed for t in s)
    assert labelled[("联合国", "B-ORG", "org:un")] > 10


def test_a_part_of_several_documents_is_one_file_in_doc_id_order(seeds, samples, tmp_path):
    docs = [*seeds, *samples]
    path = tmp_path / "part-00000.conllu"
    counts = write_conllu_file(path, *tables(docs))
    check_against_tables(path.read_text("utf-8"), docs)
    assert counts.documents == len(docs)
    assert counts.tokens == sum(len(d.tokens) for d in docs)


def test_same_rows_give_the_same_bytes(seeds, tmp_path):
    first, second = tmp_path / "a.conllu", tmp_path / "b.conllu"
    write_conllu_file(first, *tables(seeds))
    # The same rows, in other batches and another row order within a document's sentences.
    sentences, tokens, entities = tables(seeds)
    write_conllu_file(second, pa.Table.from_batches(sentences.to_batches(max_chunksize=7)),
                      pa.Table.from_batches(tokens.to_batches(max_chunksize=100)), entities)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().decode("utf-8") == to_conllu(*tables(seeds))
    assert b"\r" not in first.read_bytes() and first.read_bytes().endswith(b"\n\n")


def test_a_part_is_its_documents_one_after_another(seeds):
    # So a writer may keep each document's text and join them, and a reader may split a part.
    alone = [to_conllu(*tables([d])) for d in sorted(seeds, key=lambda d: d.doc["doc_id"])]
    assert to_conllu(*tables(seeds)) == "".join(alone)


def test_an_empty_part_is_an_empty_file(tmp_path):
    empty = [to_arrow([], schemas.TABLES[name]) for name in ("sentences", "tokens", "entities")]
    path = tmp_path / "part-00000.conllu"
    counts = write_conllu_file(path, *empty)
    assert path.read_bytes() == b"" and conllu.parse("") == []
    assert counts.sentences == counts.tokens == 0


# --- hand-made rows: the documented rules ------------------------------------------------------

CLEAN = "联合国开发计划署支持 各国议会。\n第二段"


def handmade(tokens: list[tuple[str, str, int, int, str]], entities=(), sentences=None):
    """Rows of one document 'd' over CLEAN; tokens as (sent_id, text, start, end, pos)."""
    sentences = sentences or [
        {"doc_id": "d", "para_id": "d:p1", "sent_id": "d:p1.s1", "seq": 0, "text": CLEAN[0:16], "char_start": 0, "char_end": 16},
        {"doc_id": "d", "para_id": "d:p2", "sent_id": "d:p2.s1", "seq": 1, "text": CLEAN[17:20], "char_start": 17, "char_end": 20},
    ]
    seqs: Counter = Counter()
    token_rows = []
    for sent_id, text, start, end, pos in tokens:
        token_rows.append({"doc_id": "d", "sent_id": sent_id, "seq": seqs[sent_id], "text": text, "pos": pos,
                           "char_start": start, "char_end": end})
        seqs[sent_id] += 1
    entity_rows = [{"doc_id": "d", "para_id": "d:p1", "sent_id": "d:p1.s1", "entity_id": eid, "type": type_,
                    "text": CLEAN[s:e], "char_start": s, "char_end": e, "method": "gazetteer"}
                   for eid, type_, s, e in entities]
    return (to_arrow(sentences, schemas.SENTENCES), pa.Table.from_pylist(token_rows),
            to_arrow(entity_rows, schemas.ENTITIES))


TOKENS = [("d:p1.s1", "联合国", 0, 3, "nt"), ("d:p1.s1", "开发", 3, 5, "vn"), ("d:p1.s1", "计划署", 5, 8, "n"),
          ("d:p1.s1", "支持", 8, 10, "v"), ("d:p1.s1", "各国", 11, 13, "r"), ("d:p1.s1", "议会", 13, 15, "n"),
          ("d:p1.s1", "。", 15, 16, "x"), ("d:p2.s1", "第二", 17, 19, "m"), ("d:p2.s1", "段", 19, 20, "q")]


def misc_column(text: str, key: str) -> list[str | None]:
    return [t["misc"].get(key) for s in conllu.parse(text) for t in s]


def test_a_mention_covering_part_of_a_token_labels_the_whole_token():
    # 计划 ends inside the token 计划署: the token is labelled all the same.
    text = to_conllu(*handmade(TOKENS, [("org:x", "ORG", 3, 7)]))
    assert misc_column(text, "NER")[:4] == ["O", "B-ORG", "I-ORG", "O"]
    assert misc_column(text, "Entity")[:3] == [None, "org:x", None]


def test_nested_mentions_keep_the_longest_and_count_the_other():
    sentences, tokens, entities = handmade(TOKENS, [("org:un", "ORG", 0, 3), ("org:undp", "ORG", 0, 8),
                                                    ("gpe:x", "GPE", 11, 13)])
    text = to_conllu(sentences, tokens, entities)
    assert misc_column(text, "NER")[:6] == ["B-ORG", "I-ORG", "I-ORG", "O", "B-GPE", "O"]
    assert misc_column(text, "Entity")[0] == "org:undp"
    counts = write_conllu(io.BytesIO(), sentences, tokens, entities)
    assert (counts.mentions, counts.mentions_unlabelled) == (2, 1)


def test_space_after_follows_the_text_and_stops_at_the_paragraph_end():
    text = to_conllu(*handmade(TOKENS))
    # 支持 is followed by a space; 。 ends its paragraph; 段 ends the document.
    assert misc_column(text, "SpaceAfter") == ["No", "No", "No", None, "No", "No", None, "No", None]


def test_whitespace_tokens_are_left_out_and_counted(tmp_path):
    rows = [*TOKENS[:4], ("d:p1.s1", " ", 10, 11, "x"), *TOKENS[4:]]
    counts = write_conllu_file(tmp_path / "p.conllu", *handmade(rows))
    parsed = conllu.parse((tmp_path / "p.conllu").read_text("utf-8"))
    assert [t["form"] for t in parsed[0]] == ["联合国", "开发", "计划署", "支持", "各国", "议会", "。"]
    assert (counts.tokens, counts.whitespace_tokens) == (9, 1)
    assert misc_column((tmp_path / "p.conllu").read_text("utf-8"), "SpaceAfter")[3] is None


def test_a_sentence_without_tokens_is_left_out_and_counted():
    counts = write_conllu(io.BytesIO(), *handmade(TOKENS[:7]))  # the second paragraph's sentence has none
    text = to_conllu(*handmade(TOKENS[:7]))
    assert [s.metadata["sent_id"] for s in conllu.parse(text)] == ["d:p1.s1"]
    assert (counts.sentences, counts.empty_sentences, counts.paragraphs) == (1, 1, 1)
    # Its paragraph no longer follows, so the last token written ends a paragraph: no SpaceAfter=No.
    assert misc_column(text, "SpaceAfter")[-1] is None


def test_line_breaks_inside_a_sentence_do_not_break_the_file():
    sentences = [{"doc_id": "d", "para_id": "d:p1", "sent_id": "d:p1.s1", "seq": 0, "text": CLEAN[13:20],
                  "char_start": 13, "char_end": 20}]
    text = to_conllu(*handmade([("d:p1.s1", "议会", 13, 15, "n"), ("d:p1.s1", "。", 15, 16, "x"),
                                ("d:p1.s1", "第二段", 17, 20, "m")], sentences=sentences))
    (parsed,) = conllu.parse(text)
    assert parsed.metadata["text"] == "议会。 第二段"  # the newline written as one space: lengths hold
    assert [t["upos"] for t in parsed] == ["NOUN", "PUNCT", "NUM"]


@pytest.mark.parametrize(("form", "tag", "expected"), [
    ("，", "x", "PUNCT"), ("“", "x", "PUNCT"), ("%", "x", "SYM"), ("＋", "x", "SYM"), ("……", "x", "PUNCT"),
    ("联合国", "nt", "PROPN"), ("发展", "vn", "NOUN"), ("了", "ul", "AUX"), ("个", "q", "NOUN"),
    ("这", "rz", "DET"), ("COVID", "eng", "X"), ("2030", "m", "NUM"), ("中", "f", "ADP"), ("1.", "x", "NUM"),
    ("１２", "x", "NUM"), ("A.", "x", "X"),
])
def test_universal_pos(form, tag, expected):
    assert upos(tag, form) == expected


def test_the_mapping_covers_every_tag_jieba_can_emit():
    dictionary = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    with open(dictionary, encoding="utf-8") as f:
        tags = {line.split()[2] for line in f if len(line.split()) == 3}
    tags |= {tag for states in char_state_tab_P.values() for _, tag in states}
    from pipeline.lib.text.tokens import _userdict_lines
    tags |= {tag for _, _, tag in _userdict_lines()}
    tags |= {"eng", "m", "x"}  # what jieba.posseg gives Latin words, numbers and the rest
    assert tags - set(upos_mapping()) == set()
    assert set(upos_mapping().values()) <= UNIVERSAL_POS


# --- bad input ---------------------------------------------------------------------------------

def test_a_tag_the_mapping_lacks_is_an_error_naming_it():
    rows = [(*TOKENS[0][:4], "zz"), *TOKENS[1:]]
    with pytest.raises(ConlluError, match=r"tokens/part-00003.*'d'.*'zz'.*jieba_upos.tsv"):
        to_conllu(*handmade(rows), source="tokens/part-00003")


def test_a_token_of_an_unknown_sentence_is_an_error():
    rows = [*TOKENS, ("d:p9.s1", "段", 19, 20, "q")]
    with pytest.raises(ConlluError, match=r"document 'd'.*'d:p9.s1'"):
        to_conllu(*handmade(rows))


def test_offsets_that_do_not_measure_the_text_are_an_error():
    rows = [("d:p1.s1", "联合国", 0, 4, "nt"), *TOKENS[1:]]
    with pytest.raises(ConlluError, match="do not measure"):
        to_conllu(*handmade(rows))


def test_row_order_does_not_matter_but_a_repeated_token_is_an_error(seeds):
    sentences, tokens, entities = tables(seeds)
    expected = to_conllu(sentences, tokens, entities)
    reverse = [pa.array(range(t.num_rows - 1, -1, -1)) for t in (sentences, tokens, entities)]
    assert to_conllu(*(t.take(order) for t, order in zip((sentences, tokens, entities), reverse))) == expected
    repeated = pa.concat_tables([tokens, tokens.slice(len(seeds[0].tokens) + 10, 1)])
    with pytest.raises(ConlluError, match=r"document '001_5d5ca6e1adb1dee0': token .* overlaps the token before it"):
        to_conllu(sentences, repeated, entities)


def test_a_missing_column_is_an_error():
    sentences, tokens, entities = handmade(TOKENS)
    with pytest.raises(ConlluError, match="sentences table lacks the column.*para_id"):
        to_conllu(sentences.drop_columns(["para_id"]), tokens, entities)


def test_a_failed_write_leaves_no_file(tmp_path):
    rows = [(*TOKENS[0][:4], "zz"), *TOKENS[1:]]
    path = tmp_path / "conllu" / "part-00000.conllu"
    with pytest.raises(ConlluError):
        write_conllu_file(path, *handmade(rows))
    assert list(path.parent.iterdir()) == []


@pytest.mark.slow
def test_every_conllu_file_of_a_built_release_agrees_with_its_parts(built):
    """The release the writer cut from the seeds: each conllu/part-N.conllu parses, and holds as
    many sentences and tokens as sentences/part-N.parquet and tokens/part-N.parquet."""
    import json

    import pyarrow.parquet as pq

    release = built.release
    files = sorted((release / "conllu").glob("part-*.conllu"))
    assert files
    manifest = json.loads((release / "manifest.json").read_text("utf-8"))
    for path in files:
        parsed = conllu.parse(path.read_text("utf-8"))
        sentences = pq.read_table(release / "sentences" / f"{path.stem}.parquet")
        tokens = pq.read_table(release / "tokens" / f"{path.stem}.parquet")
        assert len(parsed) == sentences.num_rows
        assert sum(len(s) for s in parsed) == tokens.num_rows
        assert [s.metadata["sent_id"] for s in parsed] == sentences.column("sent_id").to_pylist()
        assert f"conllu/{path.name}" in manifest["files"]
