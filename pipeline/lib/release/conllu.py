"""CoNLL-U export of one part of the per-document tables, as ParlaMint publishes its corpora.

One file holds the documents of one part, in doc_id order, each one's sentences in order:

    # newdoc id = <doc_id>          at each document's first sentence
    # newpar id = <para_id>         at each paragraph's first sentence
    # sent_id = <sent_id>
    # text = <sentence text>
    1	联合国	_	PROPN	nt	_	_	_	_	SpaceAfter=No|NER=B-ORG|Entity=org:un|CharStart=10|CharEnd=13

Columns: ID (1.. within the sentence), FORM (the token's text), LEMMA `_`, UPOS (from jieba's tag
through pipeline/gazetteers/jieba_upos.tsv), XPOS (jieba's tag), FEATS, HEAD, DEPREL, DEPS `_`, and
MISC:

- `SpaceAfter=No` when the next token of the same paragraph starts where this one ends (most of
  Chinese text); the last token of a paragraph never carries it.
- `NER=B-<TYPE>` / `I-<TYPE>` / `O`: entity mentions aligned to tokens. A token belongs to a
  mention when they share at least one character, so a mention that covers part of a token labels
  the whole token. Mentions are taken by start, the longest first; a mention sharing a token with
  one already labelled (nested or overlapping) stays in the entities table but not in the labels.
  A label sequence never crosses a sentence: a mention spanning two sentences starts again with B
  in the second. `Entity=<entity_id>` is written on every B token.
- `CharStart=…|CharEnd=…`: the token's offsets (code points, end exclusive) into its document's
  clean_text, so clean_text[CharStart:CharEnd] == FORM (but for the replacement below).

White space: a token that is only white space (the tokens stage drops them; other inputs may not)
is left out, so the token lines of a sentence are its tokens whose text is not white space, and
SpaceAfter is decided between the tokens written; a sentence left with no token is left out too
(CoNLL-U has no empty sentence). The counts returned say how many of each were left out, so the
sentence and token counts of a file can be checked against the tables. Inside FORM a white-space
character is written as U+00A0 (a no-break space), and inside `# text` and the ids a line or field
break (\\n, \\r, \\t, \\v, \\f, U+001C–U+001E, U+0085, U+2028, U+2029) is written as U+0020: one
character for one, so lengths and offsets still hold. A value in MISC has `%`, `|` and white space
percent-encoded (its UTF-8 bytes).

A part of several documents is their files one after another: `to_conllu` of one document's rows
gives exactly its stretch of the part's file.

The output is UTF-8 with `\\n` line ends, a blank line after every sentence, and depends on the
rows only: same rows, same bytes. A part with no sentences gives an empty file.
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import polars as pl
import pyarrow as pa

from pipeline.lib import storage

UPOS_FILE = "jieba_upos.tsv"
UNIVERSAL_POS = frozenset({
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
    "PUNCT", "SCONJ", "SYM", "VERB", "X",
})
# Characters Unicode calls punctuation (Po) that UD tags SYM: UD's own examples (%, §) and their kin.
SYMBOL_PUNCTUATION = frozenset("%‰‱#&@§*/\\")

SENTENCE_COLUMNS = ("doc_id", "para_id", "sent_id", "seq", "text", "char_start", "char_end")
TOKEN_COLUMNS = ("doc_id", "sent_id", "seq", "text", "char_start", "char_end")
ENTITY_COLUMNS = ("doc_id", "entity_id", "type", "char_start", "char_end")

# Python's white space (str.isspace): Unicode's White_Space and the separators U+001C–U+001F.
_WHITE_SPACE = r"[\s\x1c-\x1f]"
_LINE_BREAKS = r"[\n\r\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
# Token lines written at a time: bounds the text held in memory, whatever the part's size.
WRITE_BATCH = 200_000


class ConlluError(ValueError):
    """Rows that cannot be written as CoNLL-U; the message names the table, document and reason."""


@dataclass
class ConlluCounts:
    """What a file holds: documents, paragraphs, sentences and token lines written; tokens left
    out for being white space, sentences left out for having no token (CoNLL-U has no empty
    sentence); mentions labelled and mentions left out of the labels."""

    documents: int = 0
    paragraphs: int = 0
    sentences: int = 0
    tokens: int = 0
    whitespace_tokens: int = 0
    empty_sentences: int = 0
    mentions: int = 0
    mentions_unlabelled: int = 0


# --- the part-of-speech mapping ---------------------------------------------------------------

@lru_cache(maxsize=1)
def upos_mapping() -> dict[str, str]:
    """jieba tag → Universal POS, from pipeline/gazetteers/jieba_upos.tsv."""
    text = resources.files("pipeline.gazetteers").joinpath(UPOS_FILE).read_text("utf-8")
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in UNIVERSAL_POS or fields[0] in mapping:
            raise ConlluError(f"{UPOS_FILE}, line {number}: expected 'tag<TAB>UPOS<TAB>meaning' with a "
                              f"Universal POS tag and a tag not seen before, got {line!r}")
        mapping[fields[0]] = fields[1]
    return mapping


@lru_cache(maxsize=1 << 16)
def upos(tag: str, form: str) -> str | None:
    """The Universal POS of a token: punctuation and symbols by their characters, the rest by
    jieba's tag (None when the tag is not in the mapping)."""
    chars = unicodedata.normalize("NFKC", form)
    classes = [unicodedata.category(c)[0] for c in chars]
    if chars and all(k in "PS" for k in classes):
        if any(k == "S" or c in SYMBOL_PUNCTUATION for k, c in zip(classes, chars)):
            return "SYM"
        return "PUNCT"
    if tag == "x" and "N" in classes and all(k in "NP" for k in classes):
        return "NUM"  # a number jieba left unclassed, as a paragraph's "1."
    return upos_mapping().get(tag)


# --- writing ----------------------------------------------------------------------------------

def to_conllu(sentences: pa.Table, tokens: pa.Table, entities: pa.Table | None = None, *,
              source: str = "") -> str:
    """The text of the CoNLL-U file of one part."""
    buffer = io.BytesIO()
    write_conllu(buffer, sentences, tokens, entities, source=source)
    return buffer.getvalue().decode("utf-8")


def write_conllu_file(path: Path, sentences: pa.Table, tokens: pa.Table, entities: pa.Table | None = None
                      ) -> ConlluCounts:
    """Write one part's CoNLL-U file atomically (nothing at `path` unless it is complete)."""
    with storage.atomic_path(Path(path)) as tmp, open(tmp, "wb") as out:
        return write_conllu(out, sentences, tokens, entities, source=str(path))


def write_conllu(out: BinaryIO, sentences: pa.Table, tokens: pa.Table, entities: pa.Table | None = None, *,
                 source: str = "") -> ConlluCounts:
    """Write one part's CoNLL-U to a binary file handle; returns what it holds.

    `sentences`, `tokens` and `entities` hold the rows of the same documents, in any order (the
    file follows doc_id, then the sentences' seq, then the tokens' seq). Tokens carry jieba's tag
    in `pos` (or `flag`). Raises ConlluError naming `source`, the document and the reason.
    Columnar throughout (Polars): the only Python loop is over the entity mentions."""
    where = f"{source}: " if source else ""
    _require(sentences, SENTENCE_COLUMNS, "sentences", where)
    _require(tokens, TOKEN_COLUMNS, "tokens", where)
    tag_column = "pos" if "pos" in tokens.column_names else "flag"
    _require(tokens, (tag_column,), "tokens", where)
    if entities is not None:
        _require(entities, ENTITY_COLUMNS, "entities", where)
    counts = ConlluCounts()

    sent = _frame(sentences, SENTENCE_COLUMNS, "sentences", where).sort(["doc_id", "seq", "char_start"])
    duplicated = sent.filter(pl.struct("doc_id", "sent_id").is_duplicated())
    if duplicated.height:
        row = duplicated.row(0, named=True)
        raise ConlluError(f"{where}document {row['doc_id']!r}: sentence {row['sent_id']!r} appears twice")
    sent = sent.with_row_index("s_idx")

    tok = _frame(tokens, (*TOKEN_COLUMNS, tag_column), "tokens", where).rename({tag_column: "tag"})
    blank = tok["text"].str.contains(rf"^{_WHITE_SPACE}*$")
    counts.whitespace_tokens = int(blank.sum())
    tok = _tokens_in_sentences(tok.filter(~blank), sent, where)
    tok = tok.join(_tags(tok, where), on=["tag", "text"], how="left", maintain_order="left")
    labels = _labels(tok, sent, entities, where, counts)
    tok = tok.with_row_index("t_idx").join(labels, on="t_idx", how="left", maintain_order="left")

    # Where sentences, paragraphs and documents start and end, among the tokens written (so a
    # sentence with no token is left out: CoNLL-U has no empty sentence).
    first = (pl.col("s_idx") != pl.col("s_idx").shift(1)).fill_null(True)
    new_doc = first & (pl.col("doc_id") != pl.col("doc_id").shift(1)).fill_null(True)
    new_par = first & (new_doc | (pl.col("para_id") != pl.col("para_id").shift(1)).fill_null(True))
    last = (pl.col("s_idx") != pl.col("s_idx").shift(-1)).fill_null(True)
    same_paragraph = (pl.col("doc_id") == pl.col("doc_id").shift(-1)) & (pl.col("para_id") == pl.col("para_id").shift(-1))
    tok = tok.with_columns(first=first, new_doc=new_doc, new_par=new_par)
    counts.documents = int(tok["new_doc"].sum())
    counts.paragraphs = int(tok["new_par"].sum())
    counts.sentences = int(tok["first"].sum())
    counts.tokens = tok.height
    counts.empty_sentences = sent.height - counts.sentences

    def one_line(column: str) -> pl.Expr:
        return pl.col(column).str.replace_all(_LINE_BREAKS, " ")

    heads = tok.filter("first").select(
        "t_idx",
        head=pl.concat_str(
            pl.when("new_doc").then(pl.format("# newdoc id = {}\n", one_line("doc_id"))).otherwise(pl.lit("")),
            pl.when("new_par").then(pl.format("# newpar id = {}\n", one_line("para_id"))).otherwise(pl.lit("")),
            pl.format("# sent_id = {}\n# text = {}\n", one_line("sent_id"),
                      sent["text"].gather(tok.filter("first")["s_idx"]).str.replace_all(_LINE_BREAKS, " ")),
        ),
    )
    lines = tok.join(heads, on="t_idx", how="left", maintain_order="left").select(pl.concat_str(
        pl.col("head").fill_null(""),
        pl.format(
            "{}\t{}\t_\t{}\t{}\t_\t_\t_\t_\t{}NER={}{}|CharStart={}|CharEnd={}",
            pl.col("t_idx") - pl.when("first").then(pl.col("t_idx")).forward_fill() + 1,
            pl.col("text").str.replace_all(_WHITE_SPACE, "\u00a0"),
            "upos", "xpos",
            pl.when(same_paragraph & (pl.col("char_start").shift(-1) == pl.col("char_end")))
            .then(pl.lit("SpaceAfter=No|")).otherwise(pl.lit("")),
            pl.col("ner").fill_null("O"),
            pl.when(pl.col("entity").is_not_null()).then("|Entity=" + pl.col("entity")).otherwise(pl.lit("")),
            "char_start", "char_end",
        ),
        pl.when(last).then(pl.lit("\n\n")).otherwise(pl.lit("\n")),
    ).alias("line"))["line"]
    for start in range(0, len(lines), WRITE_BATCH):
        _write_strings(out, lines.slice(start, WRITE_BATCH))
    return counts


def _write_strings(out: BinaryIO, strings: pl.Series) -> None:
    """The strings one after another, as UTF-8: straight from the Arrow buffer that holds them."""
    array = strings.to_arrow().cast(pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if len(array) == 0:
        return
    offsets = memoryview(array.buffers()[1]).cast("q")
    begin, end = offsets[array.offset], offsets[array.offset + len(array)]
    out.write(memoryview(array.buffers()[2])[begin:end])


def _require(table: pa.Table, columns: tuple[str, ...], name: str, where: str) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise ConlluError(f"{where}the {name} table lacks the column(s) {', '.join(missing)}")


def _frame(table: pa.Table, columns: tuple[str, ...], name: str, where: str) -> pl.DataFrame:
    """The columns as a Polars frame, categories as plain strings, no nulls."""
    frame = pl.from_arrow(table.select(list(columns)), rechunk=False)
    frame = frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    for column in columns:
        if frame[column].null_count():
            raise ConlluError(f"{where}the {name} table has rows without a {column}")
    return frame


def _tokens_in_sentences(tok: pl.DataFrame, sent: pl.DataFrame, where: str) -> pl.DataFrame:
    """Tokens with their sentence (s_idx, para_id), in the file's order, checked: each names a
    sentence of the part, its offsets measure its text inside that sentence, none overlaps the
    one before it."""
    tok = tok.join(sent.select("doc_id", "sent_id", "s_idx", "para_id", s_start="char_start", s_end="char_end"),
                   on=["doc_id", "sent_id"], how="left").sort(["s_idx", "seq"], nulls_last=True)

    def refuse(rows: pl.DataFrame, reason: str) -> None:
        if rows.height:
            row = rows.row(0, named=True)
            raise ConlluError(f"{where}document {row['doc_id']!r}: token {row['seq']} of {row['sent_id']!r} "
                              f"({row['text']!r}, {row['char_start']}..{row['char_end']}) {reason}")

    refuse(tok.filter(pl.col("s_idx").is_null()), "names a sentence the sentences table does not have")
    refuse(tok.filter(pl.col("char_end") - pl.col("char_start") != pl.col("text").str.len_chars()),
           "has offsets that do not measure its text")
    refuse(tok.filter((pl.col("char_start") < pl.col("s_start")) | (pl.col("char_end") > pl.col("s_end"))),
           "lies outside its sentence")
    refuse(tok.filter((pl.col("doc_id") == pl.col("doc_id").shift(1)) & (pl.col("char_start") < pl.col("char_end").shift(1))),
           "overlaps the token before it")
    return tok.drop("s_start", "s_end")


def _tags(tok: pl.DataFrame, where: str) -> pl.DataFrame:
    """UPOS and XPOS of each distinct (tag, text): upos() once per distinct pair, not per token."""
    pairs = tok.select("tag", "text").unique(maintain_order=True)
    mapped = [upos(tag, text) for tag, text in pairs.iter_rows()]
    if None in mapped:
        tag, text = pairs.row(mapped.index(None))
        doc = tok.filter((pl.col("tag") == tag) & (pl.col("text") == text)).row(0, named=True)
        raise ConlluError(f"{where}document {doc['doc_id']!r}: token {text!r} of {doc['sent_id']!r} has the tag "
                          f"{tag!r}, which {UPOS_FILE} does not map: add it there")
    return pairs.with_columns(upos=pl.Series(mapped, dtype=pl.String),
                              xpos=pl.Series([_misc_value(t) for t in pairs["tag"]], dtype=pl.String))


def _labels(tok: pl.DataFrame, sent: pl.DataFrame, entities: pa.Table | None, where: str,
            counts: ConlluCounts) -> pl.DataFrame:
    """t_idx → NER label and Entity of the tokens the mentions cover (rules in the module's
    docstring); tokens not listed are O."""
    empty = pl.DataFrame(schema={"t_idx": pl.UInt32, "ner": pl.String, "entity": pl.String})
    if entities is None or entities.num_rows == 0:
        return empty
    ent = _frame(entities, ENTITY_COLUMNS, "entities", where)
    docs = sent.select("doc_id").unique(maintain_order=True).with_row_index("d_idx")
    stray = ent.join(docs, on="doc_id", how="anti")
    if stray.height:
        raise ConlluError(f"{where}entities of document {stray['doc_id'][0]!r} have no sentences in this part")
    # One ordered axis for the whole part: a document's offsets, shifted past every earlier document's.
    key = pl.col("d_idx").cast(pl.Int64) * (1 << 40)
    spans = tok.join(docs, on="doc_id", how="left", maintain_order="left").select(start=key + pl.col("char_start"), end=key + pl.col("char_end"))
    ent = (ent.join(docs, on="doc_id", how="left")
           .with_columns(m_start=key + pl.col("char_start"), m_end=key + pl.col("char_end"))
           .sort(["m_start", "m_end", "entity_id", "type"], descending=[False, True, False, False]))
    # The tokens a mention shares a character with: from the first ending after its start to
    # the last starting before its end.
    first = spans["end"].search_sorted(ent["m_start"], side="right").to_list()
    last = (spans["start"].search_sorted(ent["m_end"], side="left") - 1).to_list()
    taken, reach = [], -1
    for n, (f, l) in enumerate(zip(first, last)):
        # Mentions come by start, the longest first, so one overlaps a mention taken before it
        # exactly when it starts at or before the last token taken.
        if f > l or f <= reach:
            counts.mentions_unlabelled += 1
            continue
        taken.append(n)
        reach = l
    counts.mentions = len(taken)
    if not taken:
        return empty
    sentence_of = tok["s_idx"]
    covered = (ent[taken]
               .with_columns(first=pl.Series([first[n] for n in taken], dtype=pl.Int64),
                             last=pl.Series([last[n] for n in taken], dtype=pl.Int64))
               .select("type", "entity_id", "first", t_idx=pl.int_ranges("first", pl.col("last") + 1))
               .explode("t_idx"))
    escaped = {v: _misc_value(v) for v in covered["entity_id"].unique() if _misc_value(v) != v}
    index = covered["t_idx"]
    previous_sentence = sentence_of.gather((index - 1).clip(lower_bound=0))
    begins = (index == covered["first"]) | (sentence_of.gather(index) != previous_sentence)
    return covered.with_columns(begin=begins).select(
        pl.col("t_idx").cast(pl.UInt32),
        ner=pl.when("begin").then("B-" + pl.col("type")).otherwise("I-" + pl.col("type")),
        entity=pl.when("begin").then(pl.col("entity_id").replace(escaped)),
    )


_MISC_ESCAPED = re.compile(r"[%|\s\x1c-\x1f]")


def _misc_value(value: str) -> str:
    """A MISC value: `%`, `|` and white space percent-encoded (as UTF-8 bytes)."""
    return _MISC_ESCAPED.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), value)
