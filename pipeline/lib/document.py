"""One document through the whole text pipeline, without Dagster.

The Dagster assets run these same stages one asset at a time; this module chains
them for tests, evaluation and benchmarks, so both paths share one implementation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.lib.clean import Cleaned, clean
from pipeline.lib.sentences import split_sentences
from pipeline.lib.structure import Structure, parse
from pipeline.lib.tokens import tokenize
from pipeline.schemas import METADATA_FIELDS


@dataclass
class ProcessedDocument:
    doc: dict
    paragraphs: list[dict]
    sentences: list[dict]
    tokens: list[dict]
    entities: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def document_row(*, doc_id: str, cleaned: Cleaned, structure: Structure, source: dict,
                 sidecar: dict | None) -> dict:
    """The documents-table row for a document (counts are filled in by later stages)."""
    meta = structure.metadata
    return {
        "doc_id": doc_id,
        **{key: meta.get(key) for key in METADATA_FIELDS},
        "symbol_in_text": structure.symbol_in_text,
        "provenance": {key: structure.provenance.get(key) if meta.get(key) is not None else None
                       for key in METADATA_FIELDS},
        "language": (sidecar or {}).get("language") or "zh-Hans",
        "source_file": source.get("source_file"),
        "source_sha256": source.get("source_sha256"),
        "source_bytes": source.get("source_bytes"),
        "encoding": source.get("encoding"),
        "encoding_confidence": source.get("encoding_confidence"),
        "clean_text": cleaned.clean_text,
        "source_map": cleaned.source_map_json(),
        "warnings": list(source.get("warnings") or []) + list(structure.warnings),
        "n_paragraphs": len(structure.paragraphs),
    }


def attach_doc_id(rows: list[dict], doc_id: str) -> list[dict]:
    for row in rows:
        row["doc_id"] = doc_id
    return rows


def process_document(raw_text: str, *, source_file: str, sidecar: dict | None = None,
                     doc_id: str | None = None, source: dict | None = None,
                     with_entities: bool = True) -> ProcessedDocument:
    from pipeline.lib.ingest import doc_id_for
    from pathlib import Path

    doc_id = doc_id or doc_id_for(Path(source_file))
    cleaned = clean(raw_text)
    structure = parse(cleaned, doc_id=doc_id, sidecar=sidecar)
    doc = document_row(doc_id=doc_id, cleaned=cleaned, structure=structure,
                       source={"source_file": source_file, **(source or {})}, sidecar=sidecar)
    paragraphs = attach_doc_id(structure.paragraphs, doc_id)
    sentences = attach_doc_id(split_sentences(cleaned.clean_text, paragraphs), doc_id)
    tokens = attach_doc_id(tokenize(cleaned.clean_text, sentences), doc_id)
    entities: list[dict] = []
    if with_entities:
        from pipeline.lib.entities import tag_entities

        entities = tag_entities(doc_id=doc_id, symbol=doc.get("symbol"), doc_type=doc.get("doc_type"),
                                clean_text=cleaned.clean_text, paragraphs=paragraphs,
                                sentences=sentences, tokens=tokens)
    doc.update(n_sentences=len(sentences), n_tokens=len(tokens), n_entities=len(entities))
    return ProcessedDocument(doc, paragraphs, sentences, tokens, entities, list(doc["warnings"]))
