"""One document through the chain in memory, for evaluation and tests: the same stages
(lib/chain.py) run on a temporary seeds and work folder, their tables read back as rows."""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib import chain, runner
from pipeline.lib.workdir import read_work


@dataclass
class ProcessedDocument:
    doc: dict
    paragraphs: list[dict]
    sentences: list[dict]
    tokens: list[dict]
    entities: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def process_document(raw_text: str, *, source_file: str, sidecar: dict | None = None,
                     doc_id: str | None = None, with_entities: bool = True) -> ProcessedDocument:
    """Run the chain's stages on one text. `doc_id` defaults to the one the file name gives."""
    from pipeline.lib.text.ingest import doc_id_for

    name = Path(source_file).name
    if doc_id is not None and doc_id_for(Path(name)) != doc_id:
        name = f"{doc_id}.txt"
    stages = chain.NAMES if with_entities else chain.NAMES[:-1]
    with tempfile.TemporaryDirectory(prefix="unparl-doc-") as folder:
        seeds, data = Path(folder) / "seeds", Path(folder) / "data"
        seeds.mkdir()
        path = seeds / name
        path.write_text(raw_text, encoding="utf-8")
        if sidecar is not None:
            from pipeline.lib.text.ingest import sidecar_for

            sidecar_for(path).write_text(json.dumps(sidecar, ensure_ascii=False), encoding="utf-8")
        (key,) = chain.locate_sources(seeds)
        outcomes = runner.run_documents([key], stages, data_dir=data, seeds_dir=seeds)[key]
        failed = [o.detail for o in outcomes.values() if o.status == "failed"]
        if failed:
            raise RuntimeError(failed[0])

        def rows(table: str) -> list[dict]:
            return read_work(data, table, key).to_pylist()

        doc = rows("documents")[0]
        sentences, tokens = rows("sentences"), rows("tokens")
        entities = rows("entities") if with_entities else []
        doc.update(n_sentences=len(sentences), n_tokens=len(tokens), n_entities=len(entities))
        return ProcessedDocument(doc, rows("paragraphs"), sentences, tokens, entities, list(doc["warnings"]))
