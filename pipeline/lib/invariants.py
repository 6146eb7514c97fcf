"""The tables' invariants, as plain functions: each returns (passed, details).

Asset checks and tests call the same functions.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

import pyarrow as pa

from pipeline.lib.text.numerals import cn_to_int
from pipeline.schemas import ENTITY_SUBTYPES, ENTITY_TYPES, PARAGRAPH_KINDS


def unique(table: pa.Table, column: str, within: str | None = None) -> tuple[bool, dict]:
    """No value repeats (within each value of `within`, when given: ids are unique per
    document in a stage, and across the corpus once the release assembles it)."""
    values = table.column(column).to_pylist()
    if within is not None:
        values = list(zip(table.column(within).to_pylist(), values))
    repeated = sorted(v for v, n in Counter(values).items() if n > 1)
    return not repeated, {"rows": len(values), "repeated": repeated[:20]}


def offsets_hold(table: pa.Table, clean_texts: dict[str, str]) -> tuple[bool, dict]:
    """clean_text[char_start:char_end] == text for every row."""
    cols = [table.column(c).to_pylist() for c in ("doc_id", "text", "char_start", "char_end")]
    return _offsets_hold(*cols, clean_texts)


def document_offsets_hold(doc_id: str, clean_text: str, texts: list[str], starts: list[int],
                          ends: list[int]) -> tuple[bool, dict]:
    """offsets_hold for one document's rows given as columns (no table needed)."""
    if all(clean_text[s:e] == t for t, s, e in zip(texts, starts, ends)):
        return True, {"rows": len(texts), "broken": 0, "examples": []}
    return _offsets_hold([doc_id] * len(texts), texts, starts, ends, {doc_id: clean_text})


def _offsets_hold(doc_ids, texts, starts, ends, clean_texts: dict[str, str]) -> tuple[bool, dict]:
    bad = []
    for doc_id, text, start, end in zip(doc_ids, texts, starts, ends):
        clean = clean_texts.get(doc_id)
        if clean is None or clean[start:end] != text:
            bad.append({"doc_id": doc_id, "char_start": start, "char_end": end, "text": text[:40]})
    return not bad, {"rows": len(texts), "broken": len(bad), "examples": bad[:5]}


def known_values(table: pa.Table, column: str, allowed) -> tuple[bool, dict]:
    values = set(table.column(column).cast(pa.string()).to_pylist()) if table.num_rows else set()
    odd = sorted(str(v) for v in values - set(allowed))
    return not odd, {"unknown": odd}


def paragraph_kinds_known(paragraphs: pa.Table) -> tuple[bool, dict]:
    return known_values(paragraphs, "kind", PARAGRAPH_KINDS)


def entity_types_known(entities: pa.Table) -> tuple[bool, dict]:
    """Every type is one of the contract's, and every subtype one of its subtypes, on its own type."""
    ok, facts = known_values(entities, "type", ENTITY_TYPES)
    if "subtype" not in entities.column_names or not entities.num_rows:
        return ok, facts
    pairs = set(zip(entities.column("subtype").cast(pa.string()).to_pylist(),
                    entities.column("type").cast(pa.string()).to_pylist()))
    odd = sorted(f"{subtype} on {type_}" for subtype, type_ in pairs
                 if subtype is not None and ENTITY_SUBTYPES.get(subtype) != type_)
    return ok and not odd, {**facts, "unknown_subtypes": odd} if odd else facts


def numbers_contiguous(paragraphs: pa.Table) -> tuple[bool, dict]:
    """Numbered and operative paragraphs run 1 … n without gaps or repeats, within each
    numbering scope (the document, or each article of a charter)."""
    scopes: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    rows = paragraphs.select(["doc_id", "para_id", "kind", "number"]).to_pylist()
    for row in rows:
        if row["kind"] not in ("numbered", "operative") or row["number"] is None:
            continue
        local = row["para_id"].rsplit(":", 1)[-1]
        scope = re.sub(r"(?:p|op)[^.]*$", "", local)
        n = cn_to_int(row["number"])
        if n is not None:
            scopes[(row["doc_id"], row["kind"], scope)].append(n)
    problems = []
    for (doc_id, kind, scope), numbers in scopes.items():
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append({"doc_id": doc_id, "kind": kind, "scope": scope or "(document)",
                             "numbers": numbers[:50]})
    return not problems, {"scopes": len(scopes), "problems": problems[:10]}


def footnotes_linked(paragraphs: pa.Table) -> tuple[bool, dict]:
    """Every footnote is cited by a marker, and every cited footnote exists."""
    rows = paragraphs.select(["para_id", "kind", "footnote_refs", "cited_by"]).to_pylist()
    ids = {r["para_id"] for r in rows}
    orphans = [r["para_id"] for r in rows if r["kind"] == "footnote" and not r["cited_by"]]
    dangling = [ref for r in rows for ref in (r["footnote_refs"] or []) if ref not in ids]
    footnotes = sum(1 for r in rows if r["kind"] == "footnote")
    return not orphans and not dangling, {"footnotes": footnotes, "uncited": orphans[:20],
                                          "dangling_refs": dangling[:20]}


def mentions_within(doc_id: str, mentions: list[dict], spans: dict[str, tuple[int, int]]) -> tuple[bool, dict]:
    """No mention of one document (dicts) crosses the bounds of its paragraph (spans by para_id)."""
    bad = [{"doc_id": doc_id, "para_id": m["para_id"], "char_start": m["char_start"], "char_end": m["char_end"]}
           for m in mentions
           if (span := spans.get(m["para_id"])) is None or not (span[0] <= m["char_start"] and m["char_end"] <= span[1])]
    return not bad, {"outside": len(bad), "examples": bad[:5]}


def merged_checks(per_document: list[dict[str, tuple[bool, dict]]]) -> dict[str, tuple[bool, dict]]:
    """Each check's outcomes on several documents (one dict of outcomes by name each) merged."""
    names = list(dict.fromkeys(name for checks in per_document for name in checks))
    return {name: merged([checks[name] for checks in per_document if name in checks]) for name in names}


def merged(outcomes: list[tuple[bool, dict]]) -> tuple[bool, dict]:
    """One outcome from the outcomes of one check on several documents: passed when all
    passed; counts added up, lists of examples joined (the first 20)."""
    details: dict = {}
    for _, part in outcomes:
        for key, value in part.items():
            if isinstance(value, bool) or not isinstance(value, (int, list)):
                details.setdefault(key, value)
            elif isinstance(value, int):
                details[key] = details.get(key, 0) + value
            else:
                joined = details.get(key, []) + value
                if all(isinstance(v, (str, int)) for v in joined):
                    joined = list(dict.fromkeys(joined))  # a value named once
                details[key] = joined[:20]
    return all(passed for passed, _ in outcomes), details
