"""The release's metadata against a small release in the per-table-folder layout: Croissant
(mlcroissant reads every record set, every column), the Data Package (Frictionless validates it,
keys included), the data card (Hugging Face front matter whose configs `datasets` loads, an
example per table, quality, contact, links to the UN's copies), and their escaping.

The release is made here (`write_fake_release`): tiny Parquet and JSON Lines parts written with
PyArrow from the real schemas, two documents in two parts, every reference held, one table
empty; its metadata files come from pipeline.lib.release.card as the release writer calls it.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline import schemas
from pipeline.lib.release import card
from pipeline.lib.release.card import croissant_metadata, data_card, data_package
from pipeline.lib.release.stats import STATS_DESCRIPTIONS, STATS_SCHEMAS

GOLD = Path(__file__).resolve().parent / "gold"
DAY = datetime.date(2026, 12, 1)
VERSION = "v2026.12.01"
CODE = {"package": "0.1.0", "git_commit": "0123abc", "tokenizer": "jieba 0.42.1"}
SCHEMAS = {**schemas.TABLES, **STATS_SCHEMAS}
PER_DOCUMENT = ("documents", "paragraphs", "sentences", "tokens", "entities")
JSONL = ("documents", "paragraphs", "sentences", "entities", "entity_catalog", "document_status", "quarantine")
EMPTY = ("quarantine", "stats_countries", "stats_operative_verbs", "stats_operative_verb_counts")
QUALITY = {"gold": {
    "measured": "2026-12-01", "command": "make eval", "gold_file": "tests/gold/entities_gold.json",
    "n_paragraphs": 40, "n_gold": 300,
    "per_type": {"ORG": {"precision": 0.95, "recall": 0.9, "f1": 0.924, "tp": 90, "fp": 5, "fn": 10}},
    "overall": {"precision": 0.95, "recall": 0.9, "f1": 0.924, "tp": 90, "fp": 5, "fn": 10},
    "linking_accuracy": 0.98}}

# Two documents, each in a part of its own.
TEXT_A = "联合国开发计划署支持议会。报告载有建议。"
TEXT_B = "大会欢迎各国议会联盟的工作。"


def _document(doc_id: str, symbol: str, text: str, doc_type: str) -> dict:
    return {
        "doc_id": doc_id, "symbol": symbol, "doc_type": doc_type, "title": f"{symbol} 的标题 `code` | cell",
        "session": 74, "date": "2020-09-04", "draft_symbols": ["A/74/L.85"] if doc_type == "resolution" else [],
        "provenance": {f: ("sidecar" if f == "symbol" else "text") for f in schemas.METADATA_FIELDS},
        "language": "zh-Hans", "source_file": f"{doc_id}.txt", "source_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "source_bytes": len(text.encode()), "encoding": "utf-8", "encoding_confidence": 1.0, "clean_text": text * 6,
        "warnings": ["a warning"] if doc_type == "report" else [], "n_paragraphs": 1, "n_sentences": 2 if doc_type == "report" else 1,
        "n_tokens": 3, "n_entities": 1,
    }


def _rows() -> dict[str, list[list[dict]]]:
    """Each table's rows by part: per-document tables in two parts (one document each), the
    corpus tables in one."""
    a, b = "000_report", "001_resolution"
    para_a, para_b = "A/74/759:p1", "A/RES/74/304:op1"
    sentences = {a: [f"{para_a}.s1", f"{para_a}.s2"], b: [f"{para_b}.s1"]}
    per_doc = {
        a: {
            "documents": [_document(a, "A/74/759", TEXT_A, "report")],
            "paragraphs": [{"doc_id": a, "para_id": para_a, "seq": 0, "kind": "numbered", "number": "1",
                            "section": "二", "footnote_refs": [], "text": TEXT_A, "char_start": 0, "char_end": len(TEXT_A)}],
            "sentences": [{"doc_id": a, "para_id": para_a, "sent_id": s, "seq": i, "text": "联合国开发计划署支持议会。",
                           "char_start": 0, "char_end": 13} for i, s in enumerate(sentences[a])],
            "tokens": [{"doc_id": a, "para_id": para_a, "sent_id": s, "seq": j, "text": w, "pos": p, "char_start": k, "char_end": k + len(w)}
                       for s in sentences[a] for j, (w, p, k) in enumerate([("联合国开发计划署", "nt", 0), ("支持", "v", 8)])],
            "entities": [{"doc_id": a, "para_id": para_a, "sent_id": sentences[a][0], "entity_id": "org:undp", "type": "ORG",
                          "text": "联合国开发计划署", "char_start": 0, "char_end": 8, "method": "gazetteer"}],
        },
        b: {
            "documents": [_document(b, "A/RES/74/304", TEXT_B, "resolution")],
            "paragraphs": [{"doc_id": b, "para_id": para_b, "seq": 0, "kind": "operative", "number": "1",
                            "operative_verb": "欢迎", "footnote_refs": ["A/RES/74/304:fn1"], "text": TEXT_B,
                            "char_start": 0, "char_end": len(TEXT_B)},
                           {"doc_id": b, "para_id": "A/RES/74/304:fn1", "seq": 1, "kind": "footnote", "number": "1",
                            "cited_by": [para_b], "text": "大会", "char_start": 0, "char_end": 2}],
            "sentences": [{"doc_id": b, "para_id": para_b, "sent_id": sentences[b][0], "seq": 0, "text": TEXT_B,
                           "char_start": 0, "char_end": len(TEXT_B)}],
            "tokens": [{"doc_id": b, "para_id": para_b, "sent_id": sentences[b][0], "seq": 0, "text": "大会", "pos": "n",
                        "char_start": 0, "char_end": 2}],
            "entities": [{"doc_id": b, "para_id": para_b, "sent_id": sentences[b][0], "entity_id": "org:ipu", "type": "ORG",
                          "text": "各国议会联盟", "char_start": 4, "char_end": 10, "method": "gazetteer"}],
        },
    }
    rows = {name: [per_doc[a][name], per_doc[b][name]] for name in PER_DOCUMENT}
    rows["entity_catalog"] = [[
        {"entity_id": "org:ipu", "type": "ORG", "name_zh": "各国议会联盟", "name_en": "Inter-Parliamentary Union",
         "aliases": ["议会联盟"], "n_mentions": 1, "n_documents": 1},
        {"entity_id": "org:undp", "type": "ORG", "name_zh": "联合国开发计划署", "aliases": [], "n_mentions": 1, "n_documents": 1}]]
    rows["document_status"] = [[
        {"doc_id": d, "source_file": f"{d}.txt", "symbol": s, "status": "ok", "n_paragraphs": 1, "n_sentences": 1,
         "n_tokens": 1, "n_entities": 1, "warnings": [], "code_version": "documents=1"}
        for d, s in ((a, "A/74/759"), (b, "A/RES/74/304"))]
        + [{"doc_id": "002_broken", "source_file": "002_broken.txt", "status": "quarantined", "reason": "binary",
            "n_paragraphs": 0, "n_sentences": 0, "n_tokens": 0, "n_entities": 0}]]
    stats = {
        "stats_documents": [{"doc_id": d, "symbol": s, "doc_type": t} for d, s, t in
                            ((a, "A/74/759", "report"), (b, "A/RES/74/304", "resolution"))],
        "stats_entities": [{"doc_id": a, "entity_id": "org:undp", "type": "ORG", "count": 1},
                           {"doc_id": b, "entity_id": "org:ipu", "type": "ORG", "count": 1}],
        "stats_entities_corpus": [{"rank": 1, "entity_id": "org:ipu", "type": "ORG", "count": 1},
                                  {"rank": 2, "entity_id": "org:undp", "type": "ORG", "count": 1}],
        "stats_countries": [],
        "stats_sdgs": [{"goal": g, "entity_id": f"sdg:{g}", "count": 0} for g in range(1, 18)],
        "stats_keywords": [{"doc_id": a, "rank": 1, "keyword": "议会", "weight": 1.5, "frequency": 2}],
        "stats_cooccurrence": [{"entity_a": "org:ipu", "entity_b": "org:undp", "type_a": "ORG", "type_b": "ORG",
                                "paragraphs": 0, "documents": 0}],
        "stats_citations": [{"doc_id": b, "symbol": "A/RES/74/304", "cited_symbol": "A/74/759", "cited_doc_id": a,
                             "resolved": True, "paragraphs": 1, "in_footnote": True, "para_ids": ["A/RES/74/304:fn1"],
                             "sources": ["entity", "footnote"]}],
    }
    rows.update({name: [value] for name, value in stats.items()})
    for name in SCHEMAS:
        rows.setdefault(name, [[]])
    return rows


def _filled(schema: pa.Schema, row: dict) -> dict:
    """A row with every required column the hand-made rows leave out given a neutral value (so
    columns added to the schemas later still make a valid release)."""
    defaults = {pa.types.is_integer: 0, pa.types.is_floating: 0.0, pa.types.is_boolean: False,
                pa.types.is_list: [], pa.types.is_string: "-"}
    out = dict(row)
    for field in schema:
        if field.name in out or field.nullable:
            continue
        type_ = card._value_type(field.type)
        out[field.name] = next((v for test, v in defaults.items() if test(type_)), "-")
    return out


def _entry(path: Path, **facts) -> dict:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), **facts}


def card_settings() -> dict:
    return {"maintainers": ["UN Texts Team"], "contact": "https://example.org/unparl/issues", "homepage": None}


def write_fake_release(folder: Path, *, quality: dict | None = QUALITY) -> dict:
    """A release folder in the new layout and the context the writer hands to card.py; writes
    datapackage.json, croissant.json and README.md into it. Returns the context."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    rows_total: dict[str, int] = {}
    examples: dict[str, dict | None] = {}
    for name, schema in SCHEMAS.items():
        rows_total[name] = 0
        examples[name] = None
        for number, part_rows in enumerate(_rows()[name]):
            table = pa.Table.from_pylist([_filled(schema, r) for r in part_rows], schema=schema)
            rel = f"{name}/part-{number:05d}.parquet"
            (folder / name).mkdir(exist_ok=True)
            pq.write_table(table, folder / rel, compression="zstd")
            files[rel] = _entry(folder / rel, table=name, format="parquet", rows=table.num_rows)
            if name in JSONL:
                jrel = f"jsonl/{name}/part-{number:05d}.jsonl"
                (folder / "jsonl" / name).mkdir(parents=True, exist_ok=True)
                pl.from_arrow(table).write_ndjson(folder / jrel)
                files[jrel] = _entry(folder / jrel, table=name, format="jsonl", rows=table.num_rows)
            rows_total[name] += table.num_rows
            if examples[name] is None and table.num_rows:
                examples[name] = json.loads(json.dumps(table.slice(0, 1).to_pylist()[0], ensure_ascii=False))
    (folder / "conllu").mkdir(exist_ok=True)
    for number in range(2):
        rel = f"conllu/part-{number:05d}.conllu"
        (folder / rel).write_text("# sent_id = x\n# text = 大会\n1\t大会\t_\tNOUN\tn\t_\t_\t_\t_\t_\n\n", encoding="utf-8")
        files[rel] = _entry(folder / rel, table="sentences", format="conllu", rows=1)
    (folder / "statistics.json").write_text("{}\n", encoding="utf-8")
    files["statistics.json"] = _entry(folder / "statistics.json")
    changes = {"previous_version": None,
               "documents": {"added": [{"doc_id": "000_report", "symbol": "A/74/759", "source_sha256": "a" * 64}],
                             "changed": [], "removed": []},
               "rows": {name: {"before": None, "after": n, "change": n} for name, n in rows_total.items()}}
    (folder / "CHANGES.json").write_text(json.dumps(changes), encoding="utf-8")
    files["CHANGES.json"] = _entry(folder / "CHANGES.json")
    documents = [{key: d.get(key) for key in ("doc_id", "symbol", "title", "doc_type", "date")}
                 for part in _rows()["documents"] for d in part]
    ctx = {
        "version": VERSION,
        "today": DAY,
        "inputs": [{"source_file": d["source_file"], "sha256": d["source_sha256"], "bytes": d["source_bytes"],
                    "doc_id": d["doc_id"], "status": "ok"} for part in _rows()["documents"] for d in part],
        "notes": [],
        "summary": {"corpus": {"documents": 2, "paragraphs": 3, "sentences": 3, "tokens": 5}},
        "schemas": SCHEMAS,
        "descriptions": {**{name: f"Rows of {name}." for name in schemas.TABLES}, **STATS_DESCRIPTIONS},
        "rows": rows_total,
        "files": files,
        "examples": examples,
        "documents": documents,
        "charts": {},
        "settings": card_settings(),
        "quality": quality,
        "changes": changes,
        "content_hash": "sha256:" + "ab" * 32,
        "code_version": CODE,
        "archive": f"unparl-{VERSION}.zip",
    }
    (folder / "datapackage.json").write_text(json.dumps(data_package(folder, ctx), ensure_ascii=False, indent=2), "utf-8")
    (folder / "croissant.json").write_text(json.dumps(croissant_metadata(folder, ctx), ensure_ascii=False, indent=2), "utf-8")
    (folder / "README.md").write_text(data_card(ctx), "utf-8")
    return ctx


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("releases") / VERSION
    return folder, write_fake_release(folder)


def _front_matter(readme: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", readme, flags=re.S)
    assert match, "the card starts with YAML front matter"
    return yaml.safe_load(match[1])


# --- Croissant --------------------------------------------------------------------------------

def _fields(record_set: dict) -> dict[str, dict]:
    return {f["name"]: f for f in record_set["field"]}


def test_croissant_declares_every_column_key_and_reference(release):
    folder, ctx = release
    meta = json.loads((folder / "croissant.json").read_text("utf-8"))
    assert meta["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert meta["version"] == VERSION  # the release's own name, as everywhere else
    sets = {d["@id"]: d for d in meta["distribution"]}
    record_sets = {r["@id"]: r for r in meta["recordSet"]}
    assert list(record_sets) == list(SCHEMAS)
    for name, schema in SCHEMAS.items():
        assert sets[f"{name}-parquet"]["includes"] == f"{name}/*.parquet"
        assert "application/vnd.apache.parquet" in sets[f"{name}-parquet"]["encodingFormat"]
        fields = _fields(record_sets[name])
        assert list(fields) == schema.names, name
        assert record_sets[name]["key"] == [{"@id": f"{name}/{k}"} for k in card.PRIMARY_KEYS[name]]
    documents = _fields(record_sets["documents"])
    assert documents["draft_symbols"]["isArray"] is True and documents["draft_symbols"]["dataType"] == "sc:Text"
    provenance = documents["provenance"]["subField"]
    assert [f["name"] for f in provenance] == list(schemas.METADATA_FIELDS)
    assert provenance[0]["source"]["transform"] == {"jsonPath": "symbol"}
    references = {(r["@id"], f["name"]): f["references"]["field"]["@id"]
                  for r in meta["recordSet"] for f in r["field"] if "references" in f}
    for pair, target in {("paragraphs", "doc_id"): "documents/doc_id", ("sentences", "para_id"): "paragraphs/para_id",
                         ("tokens", "sent_id"): "sentences/sent_id", ("entities", "sent_id"): "sentences/sent_id",
                         ("entities", "entity_id"): "entity_catalog/entity_id",
                         ("documents", "doc_id"): "document_status/doc_id",
                         ("stats_citations", "cited_doc_id"): "documents/doc_id"}.items():
        assert references[pair] == target, pair
    assert len(references) == len(card.foreign_keys(SCHEMAS, within_a_table=False))
    assert ("paragraphs", "cited_by") not in references  # see card.foreign_keys


def test_croissant_names_a_column_type_it_cannot_describe():
    odd = {"odd": pa.schema([pa.field("when", pa.timestamp("s"), metadata={"description": "x"})])}
    ctx = {"schemas": odd, "files": {"odd/part-00000.parquet": {"table": "odd", "format": "parquet"}},
           "descriptions": {"odd": "Odd."}, "version": VERSION, "today": DAY, "content_hash": "sha256:0"}
    with pytest.raises(card.MetadataError, match=r"odd\.when"):
        croissant_metadata(Path("."), ctx)
    with pytest.raises(card.MetadataError, match="no Parquet part of table 'odd'"):
        croissant_metadata(Path("."), {**ctx, "files": {}})


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_mlcroissant_reads_every_record_set_and_every_column(release):
    mlc = pytest.importorskip("mlcroissant")
    folder, ctx = release
    for name, schema in SCHEMAS.items():
        # A Dataset per record set: mlcroissant 1.1 joins a record set with those it references
        # and, on a Dataset that already yielded one of them, finds it spent.
        records = list(mlc.Dataset(jsonld=str(folder / "croissant.json")).records(record_set=name))
        assert len(records) == ctx["rows"][name], name
        expected = pl.read_parquet(folder / name / "*.parquet").to_dicts()
        for record, row in zip(records, expected):
            assert set(record) == {f"{name}/{c}" for c in schema.names}, name
            for column in schema.names:
                value = record[f"{name}/{column}"]
                value = value.decode() if isinstance(value, bytes) else value
                if isinstance(row[column], dict):  # a struct: its members, by their field ids
                    value = {k.rsplit("/", 1)[1]: (v.decode() if isinstance(v, bytes) else v) for k, v in value.items()}
                if isinstance(value, list):
                    value = [v.decode() if isinstance(v, bytes) else v for v in value]
                assert value == row[column] or (row[column] is None and value is None), (name, column, value, row[column])


# --- Data Package -----------------------------------------------------------------------------

def test_data_package_lists_every_part_with_keys(release):
    folder, ctx = release
    package = json.loads((folder / "datapackage.json").read_text("utf-8"))
    resources = {r["name"]: r for r in package["resources"]}
    for name in SCHEMAS:
        parquet = resources[name]
        assert parquet["path"] == sorted(p for p, e in ctx["files"].items()
                                         if e.get("table") == name and e["format"] == "parquet")
        assert parquet["schema"]["primaryKey"] == card.PRIMARY_KEYS[name]
        assert [f["name"] for f in parquet["schema"]["fields"]] == SCHEMAS[name].names
    assert resources["documents"]["path"] == ["documents/part-00000.parquet", "documents/part-00001.parquet"]
    assert resources["paragraphs-jsonl"]["path"] == ["jsonl/paragraphs/part-00000.jsonl", "jsonl/paragraphs/part-00001.jsonl"]
    assert {n.removesuffix("-jsonl") for n in resources if n.endswith("-jsonl")} == set(JSONL)
    assert resources["conllu"]["path"] == ["conllu/part-00000.conllu", "conllu/part-00001.conllu"]
    described = {p for r in package["resources"] for p in ([r["path"]] if isinstance(r["path"], str) else r["path"])}
    assert described == set(ctx["files"])  # every file of the release but the metadata themselves
    keys = {(name, fk["fields"][0]): (fk["reference"]["resource"], fk["reference"]["fields"][0])
            for name, r in resources.items() for fk in r.get("schema", {}).get("foreignKeys", [])}
    assert keys[("tokens", "sent_id")] == ("sentences", "sent_id")
    assert keys[("entities", "entity_id")] == ("entity_catalog", "entity_id")
    assert keys[("paragraphs-jsonl", "doc_id")] == ("documents-jsonl", "doc_id")
    assert ("paragraphs", "cited_by") not in keys  # a list: see card.foreign_keys
    assert resources["quarantine-jsonl"]["type"] == "file" and "schema" not in resources["quarantine-jsonl"]
    assert ("tokens-jsonl", "sent_id") not in keys
    assert package["version"] == VERSION and package["contributors"] == [{"title": "UN Texts Team", "role": "maintainer"}]


def _register_multipart_parquet(frictionless):
    """Frictionless 5 reads a multipart Parquet resource's first part only (its Parquet parser
    opens `normpath`, the first path; frictionless-py#1761, catalyst-cooperative/pudl#4831):
    this plugin reads every part, in order, so validation sees every row."""
    from frictionless.formats.parquet import ParquetParser, ParquetPlugin
    from frictionless.resources import TableResource
    import pyarrow.parquet as parquet

    class AllPartsParser(ParquetParser):
        def read_cell_stream_create(self):
            tables = [parquet.read_table(path) for path in self.resource.normpaths]
            frame = pa.concat_tables(tables).to_pandas() if tables else None
            with TableResource(data=frame, format="pandas") as resource:
                yield from resource.cell_stream

    class AllPartsPlugin(ParquetPlugin):
        def create_parser(self, resource):
            if resource.format == "parquet":
                return AllPartsParser(resource)

    plugin = AllPartsPlugin()
    frictionless.system.register("parquet-all-parts", plugin)
    return plugin


@pytest.fixture
def frictionless_all_parts():
    frictionless = pytest.importorskip("frictionless")
    _register_multipart_parquet(frictionless)
    try:
        yield frictionless
    finally:
        frictionless.system.deregister("parquet-all-parts")


def _validate(frictionless, folder: Path):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return frictionless.validate("datapackage.json")
    finally:
        os.chdir(cwd)


@pytest.mark.slow
def test_frictionless_validates_every_part_and_every_key(release, frictionless_all_parts, tmp_path):
    folder, ctx = release
    report = _validate(frictionless_all_parts, folder)
    assert report.valid, [(t.name, e.type, e.note) for t in report.tasks for e in t.errors][:20]
    rows = {task.name: task.stats.get("rows") for task in report.tasks}
    for name in SCHEMAS:
        assert (rows[name] or 0) == ctx["rows"][name], name  # every part read
    # An entity naming an id the catalogue lacks, in the second part: a foreign-key error.
    broken = tmp_path / VERSION
    write_fake_release(broken)
    path = broken / "entities" / "part-00001.parquet"
    table = pq.read_table(path)
    pq.write_table(table.set_column(table.schema.get_field_index("entity_id"), table.schema.field("entity_id"),
                                    pa.array(["org:nowhere"] * table.num_rows)), path)
    report = _validate(frictionless_all_parts, broken)
    errors = {(task.name, error.type) for task in report.tasks for error in task.errors}
    assert errors == {("entities", "foreign-key")}


# --- the data card ----------------------------------------------------------------------------

def test_card_front_matter_is_what_hugging_face_reads(release):
    folder, ctx = release
    meta = _front_matter((folder / "README.md").read_text("utf-8"))
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["zh"]
    assert meta["pretty_name"] == card.TITLE and meta["size_categories"] == ["n<1K"]
    assert "token-classification" in meta["task_categories"] and "named-entity-recognition" in meta["task_ids"]
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert list(configs) == list(SCHEMAS)
    assert configs["tokens"]["data_files"] == [{"split": "train", "path": "tokens/*.parquet"}]
    assert [name for name, c in configs.items() if c.get("default")] == ["documents"]
    # Hugging Face's own reader of dataset cards takes it whole.
    hub = pytest.importorskip("huggingface_hub")
    data = hub.DatasetCard.load(folder / "README.md").data
    assert data.license == "cc-by-4.0" and data.task_ids == meta["task_ids"] and len(data.configs) == len(SCHEMAS)


@pytest.mark.parametrize("rows, label", [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (10_930_000, "10M<n<100M"),
                                         (10 ** 12, "n>1T")])
def test_size_category_is_one_hugging_face_knows(rows, label):
    assert card.size_category(rows) == label


def test_card_shows_examples_uses_quality_contact_and_links(release):
    folder, ctx = release
    readme = (folder / "README.md").read_text("utf-8")
    for heading in ("## Uses", "Out of scope:", "## Measured quality", "## Maintainers and contact", "## Documents"):
        assert heading in readme
    assert "[A/74/759](https://undocs.org/zh/A/74/759)" in readme
    assert "[A/RES/74/304](https://undocs.org/zh/A/RES/74/304)" in readme
    assert "Maintained by UN Texts Team" in readme and "https://example.org/unparl/issues" in readme
    assert "| ORG | 0.950 | 0.900 | 0.924 | 90 | 5 | 10 |" in readme and "measured on 2026-12-01 with `make eval`" in readme
    assert "**Development sample** (the tagger was tuned on it" in readme
    # One example record per table with rows, long text cut; "No rows" for the empty ones.
    examples = re.findall(r"Example record \(long values cut\):\n\n```json\n(.*?)\n```", readme, flags=re.S)
    assert len(examples) == sum(1 for n in SCHEMAS if ctx["rows"][n])
    document = json.loads(examples[0])
    assert document["doc_id"] == "000_report" and "…(+" in document["clean_text"]
    assert readme.count("No rows in this release.") == len(EMPTY)
    unmeasured = data_card({**ctx, "quality": None})
    assert "No measurement of the entity tagger was recorded" in unmeasured


def test_card_example_block_holds_any_value():
    block = card.example_block({"text": "```\n# not a heading\u202e", "n": 1})
    fence = block.split("json", 1)[0]
    assert len(fence) == 4 and block.endswith("\n" + fence)
    assert "\\u202e" in block and "\u202e" not in block
    assert json.loads(block[len(fence) + 4:-len(fence)]) == {"text": "```\n# not a heading\u202e", "n": 1}


@pytest.mark.parametrize("symbol, url", [
    ("A/RES/74/304", "https://undocs.org/zh/A/RES/74/304"),
    ("S/2020/1 (x)", "https://undocs.org/zh/S/2020/1%20%28x%29"),
    ("A/74/759](javascript:alert(1))", "https://undocs.org/zh/A/74/759%5D%28javascript%3Aalert%281%29%29"),
    ("", None), (None, None),
])
def test_un_document_links_cannot_be_broken_out_of(symbol, url):
    assert card.un_document_url(symbol) == url


def test_card_snippets_run_against_the_release(release, capsys):
    folder, _ = release
    readme = (folder / "README.md").read_text("utf-8")
    snippets = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(snippets) == 4
    for code in snippets:
        if "from datasets" in code:
            continue  # test_datasets_loads_every_config
        code = re.sub(r'^release = ".*"$', f"release = {str(folder)!r}", code, flags=re.M)
        exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "org:ipu" in printed and "A/RES/74/304:op1" in printed


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_datasets_loads_every_config_of_the_card(release, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    folder, ctx = release
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in SCHEMAS:
        if ctx["rows"][name] == 0:
            continue  # an empty table's loading is the release writer's (it must load too: test_release)
        loaded = datasets.load_dataset(str(folder), name, split="train", cache_dir=str(tmp_path / "cache"))
        assert loaded.num_rows == ctx["rows"][name], name
        assert loaded.column_names == SCHEMAS[name].names, name
    default = datasets.load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "cache"))
    assert default.column_names == SCHEMAS["documents"].names


# --- the card's golden files and its inputs ----------------------------------------------------

def card_context(busy: bool) -> dict:
    """The card's inputs, hand-made: a cell with | and a line break, missing values, a category,
    list and struct column, a table without rows, and, when `busy`, notes, charts, quality,
    settings and documents added, changed and removed."""
    documents = pa.schema([
        pa.field("doc_id", pa.string(), nullable=False, metadata={"description": "Document id."}),
        pa.field("doc_type", pa.dictionary(pa.int32(), pa.string()), metadata={"description": "Type | kind."}),
        pa.field("clean_text", pa.string(), metadata={"description": "The cleaned\ntext."}),
        pa.field("warnings", pa.list_(pa.string()), metadata={"description": "Warnings."}),
        pa.field("provenance", pa.struct([pa.field("symbol", pa.string())]), metadata={"description": "Where from."}),
        pa.field("n_tokens", pa.int64()),
    ])
    sdgs = pa.schema([pa.field("goal", pa.int8(), metadata={"description": "Goal number."}),
                      pa.field("share", pa.float64(), metadata={"description": "Share of mentions."})])
    context = {
        "version": "v2024.05.01.2",
        "today": datetime.date(2024, 5, 1),
        "content_hash": "sha256:" + "ab" * 32,
        "schemas": {"documents": documents, "stats_sdgs": sdgs},
        "rows": {"documents": 0, "stats_sdgs": 17},
        "files": {"documents/part-00000.parquet": {"sha256": "0" * 64, "bytes": 10, "table": "documents",
                                                   "format": "parquet", "rows": 0},
                  "stats_sdgs/part-00000.parquet": {"sha256": "1" * 64, "bytes": 10, "table": "stats_sdgs",
                                                    "format": "parquet", "rows": 17}},
        "examples": {"documents": None, "stats_sdgs": {"goal": 1, "share": 0.5}},
        "descriptions": {"documents": "One row per document.", "stats_sdgs": "Mentions | of each goal."},
        "summary": {"corpus": {"documents": 3, "tokens": 1200}},
        "documents": [
            {"doc_id": "000_a", "symbol": "A/74/759", "doc_type": "report", "title": "互动|报告\n第二行", "date": "2020-03"},
            {"doc_id": "001_b", "symbol": None, "doc_type": "resolution", "title": None, "date": None}],
        "inputs": [{"source_file": "b|c.txt", "sha256": "f" * 64, "bytes": 10}, {"source_file": "a.txt", "sha256": "e" * 64}],
        "notes": [],
        "code_version": {"package": "0.1.0", "git_commit": "0123abc"},
        "changes": {"previous_version": "v2024.05.01", "documents": {"added": [], "changed": [], "removed": []},
                    "rows": {"documents": {"before": 3, "after": 3, "change": 0}}},
        "charts": {},
        "settings": {},
        "quality": None,
        "archive": "unparl-v2024.05.01.2.zip",
    }
    if busy:
        context.update({
            "notes": ["A/74/759: one | two\nthree", "four"],
            "code_version": CODE,
            "charts": {"sdgs": "charts/sdgs.png", "a_new_one": "charts/a_new_one.png"},
            "settings": {"maintainers": ["Ann Example", "Bo Example"], "contact": "unparl@example.org",
                         "homepage": "https://example.org/unparl"},
            "quality": QUALITY,
            "changes": {"previous_version": None, "documents": {
                "added": [{"doc_id": "002_note", "symbol": "A/75/1", "source_sha256": "c" * 64}],
                "changed": [{"doc_id": "001_b", "symbol": None, "source_sha256": "d" * 64}],
                "removed": [{"doc_id": "003_x", "symbol": "A|B", "source_sha256": "e" * 64}]},
                "rows": {"documents": {"change": 1}, "tokens": {"change": -5}, "quarantine": {"change": 0}}},
        })
    return context


@pytest.mark.parametrize("case", ["busy", "quiet"])
def test_data_card_equals_the_reference(case):
    """tests/gold/data_card_<case>.md is the card for this context, read and accepted: a change
    to the card's wording or layout shows here as a diff to review (regenerate with
    UNPARL_REGENERATE_GOLD=1)."""
    card_text = data_card(card_context(case == "busy"))
    gold = GOLD / f"data_card_{case}.md"
    if os.environ.get("UNPARL_REGENERATE_GOLD"):
        gold.write_bytes(card_text.encode())
    assert card_text.encode() == gold.read_bytes()


def test_the_card_template_is_package_data():
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "templates/*" in project["tool"]["setuptools"]["package-data"]["pipeline"]
    assert Path(card.templates().get_template(card.CARD_TEMPLATE).filename).parent.name == "templates"


def test_maintainers_and_contact_come_from_the_settings(monkeypatch):
    import dagster as dg

    from pipeline.defs.resources import UnparlSettings, settings_from_env

    assert UnparlSettings(seeds_dir=".", data_dir=".").release_settings == {
        "maintainers": ["unparl contributors"], "contact": "the unparl repository's issue tracker", "homepage": None}
    monkeypatch.setenv("UNPARL_MAINTAINERS", "Ann Example; Doe, Jane ;")
    monkeypatch.setenv("UNPARL_CONTACT", "https://example.org/unparl/issues")
    with dg.build_resources({"settings": settings_from_env()}) as resources:
        settings = resources.settings.release_settings
    assert settings == {"maintainers": ["Ann Example", "Doe, Jane"], "contact": "https://example.org/unparl/issues",
                        "homepage": None}
    # The writer may pass the settings' own strings: the card reads them the same way.
    assert card.release_settings({"maintainers": "Ann Example; Doe, Jane", "contact": " x "})["maintainers"] == \
        ["Ann Example", "Doe, Jane"]


def test_make_eval_records_what_the_card_shows(tmp_path):
    from pipeline.lib.entities import evaluation

    result = {"n_paragraphs": 3, "n_gold": 7, "linking": {"accuracy": 0.5},
              "per_type": {"GPE": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "tp": 1, "fp": 0, "fn": 1}},
              "overall": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "tp": 1, "fp": 0, "fn": 1}}
    record = tmp_path / "quality.json"
    evaluation.record_quality(result, key="heldout", gold_path=evaluation.DEFAULT_HELDOUT_GOLD, command="c", path=record)
    evaluation.record_quality(result, key="gold", gold_path=evaluation.DEFAULT_GOLD, command="make eval", path=record)
    quality = evaluation.recorded_quality(record)
    assert set(quality) == {"gold", "heldout"} and quality["heldout"]["gold_file"] == "tests/gold/entities_gold_heldout.json"
    readme = data_card({**card_context(busy=True), "quality": quality})
    assert readme.index("**Held-out sample**") < readme.index("**Development sample**")  # the fairer first
    assert "| GPE | 1.000 | 0.500 | 0.667 | 1 | 0 | 1 |" in readme
    assert evaluation.recorded_quality(tmp_path / "none.json") == {}


def test_card_lists_stop_at_a_hundred_and_say_where_the_rest_are():
    from pipeline.lib.release.card import CARD_LIST, data_card

    ctx = card_context(busy=False)
    many = [{"doc_id": f"{i:05d}_doc", "symbol": f"A/74/{i}", "title": "t", "doc_type": "report", "date": None}
            for i in range(CARD_LIST + 25)]
    added = [{"doc_id": d["doc_id"], "symbol": d["symbol"], "source_sha256": "a" * 64} for d in many]
    ctx = {**ctx, "documents": many,
           "inputs": [{"source_file": f"{d['doc_id']}.txt", "sha256": "e" * 64, "bytes": 1} for d in many],
           "changes": {**ctx["changes"], "documents": {"added": added, "changed": [], "removed": []}}}
    card = data_card(ctx)
    assert card.count("https://undocs.org/zh/A/74/") == CARD_LIST
    assert "… and 25 more documents: the `documents` table gives every document's link in `un_url`." in card
    assert "… and 25 more: `manifest.json` lists every input with its sha256." in card
    assert card.count("- added: `") == CARD_LIST and "- added: … and 25 more (`CHANGES.json` lists them all)" in card
