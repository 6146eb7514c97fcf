"""Metadata that travels with a release: the Frictionless Data Package, the
ML Commons Croissant description and the README data card.

All three are built from the Arrow schemas, so a column's type and
description are written once (pipeline/schemas.py and the statistics schemas)
and read the same everywhere.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipeline import schemas
from pipeline.lib.storage import sha256_file

DATASET = "unparl"
TITLE = "unparl: United Nations documents in Chinese, structured and annotated"
DESCRIPTION = (
    "United Nations documents written in Chinese (reports of the Secretary-General, General "
    "Assembly resolutions and more) as documents, paragraphs, sentences, tokens, tagged entities "
    "and corpus statistics, in Parquet and JSON Lines, with offsets into each document's cleaned text."
)
ANNOTATION_LICENCE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0 International (the derived annotations and statistics)",
}
SOURCE_LICENCE = {
    "path": "https://www.un.org/en/about-us/terms-of-use",
    "title": "United Nations terms of use (the source texts: official UN documents)",
}
SOURCES = [
    {"title": "United Nations Official Document System (ODS)", "path": "https://documents.un.org/"},
    {"title": "United Nations Digital Library", "path": "https://digitallibrary.un.org/"},
]
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
PRIMARY_KEYS = {"documents": ["doc_id"], "paragraphs": ["para_id"], "sentences": ["sent_id"],
                "entity_catalog": ["entity_id"]}
ENUMS = {("paragraphs", "kind"): list(schemas.PARAGRAPH_KINDS),
         ("entities", "type"): list(schemas.ENTITY_TYPES),
         ("entity_catalog", "type"): list(schemas.ENTITY_TYPES),
         ("entities", "method"): list(schemas.ENTITY_METHODS)}
CHART_TITLES = {
    "top_entities": "Most mentioned entities",
    "countries": "Countries mentioned",
    "sdgs": "Sustainable Development Goals mentioned",
    "operative_verbs": "Operative verbs of resolutions",
}


def _description(field: pa.Field) -> str:
    return (field.metadata or {}).get(b"description", b"").decode()


def _value_type(type_: pa.DataType) -> pa.DataType:
    return type_.value_type if pa.types.is_dictionary(type_) else type_


def _frictionless_type(type_: pa.DataType, *, native_nesting: bool) -> str:
    """Table Schema type of an Arrow type. Parquet readers hand nested values over as
    Python lists and dicts, which Table Schema's array/object (JSON text) reject, so
    nested columns of Parquet resources are typed 'any'."""
    type_ = _value_type(type_)
    if pa.types.is_boolean(type_):
        return "boolean"
    if pa.types.is_integer(type_):
        return "integer"
    if pa.types.is_floating(type_):
        return "number"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return "any" if native_nesting else "array"
    if pa.types.is_struct(type_):
        return "any" if native_nesting else "object"
    return "any"


def _table_schema(name: str, schema: pa.Schema, *, native_nesting: bool) -> dict:
    fields = []
    for f in schema:
        entry = {"name": f.name, "type": _frictionless_type(f.type, native_nesting=native_nesting),
                 "description": _description(f)}
        constraints = {}
        if not f.nullable:
            constraints["required"] = True
        if (name, f.name) in ENUMS:
            constraints["enum"] = ENUMS[(name, f.name)]
        if constraints:
            entry["constraints"] = constraints
        fields.append(entry)
    result = {"fields": fields}
    if native_nesting:
        # frictionless reads Parquet through pandas, which turns a null in an integer
        # column into NaN; naming its text as a missing value keeps nulls null.
        result["missingValues"] = ["", "nan", "<NA>"]
    if name in PRIMARY_KEYS:
        result["primaryKey"] = PRIMARY_KEYS[name]
    return result


def _resource_name(path: str) -> str:
    return path.lower().replace("/", "-").replace("_", "-").replace(".", "-")


def data_package(folder: Path, ctx: dict) -> dict:
    """A Frictionless Data Package (v1) describing every file of the release."""
    tables: dict[str, pa.Table] = ctx["tables"]
    resources = []
    for name, table in tables.items():
        path = f"{name}.parquet"
        resources.append({
            "name": name,
            "path": path,
            "profile": "tabular-data-resource",
            "format": "parquet",
            "mediatype": PARQUET_MEDIA_TYPE,
            # No "bytes": frictionless reads Parquet through pyarrow and cannot count them;
            # manifest.json has every file's size.
            "hash": "sha256:" + sha256_file(folder / path),
            "description": ctx["descriptions"][name],
            "schema": _table_schema(name, table.schema, native_nesting=True),
        })
    for name in ("documents", "paragraphs", "entities"):
        path = f"{name}.jsonl"
        resources.append({
            "name": f"{name}-jsonl",
            "path": path,
            "profile": "tabular-data-resource",
            "format": "jsonl",
            "mediatype": "application/jsonl",
            "encoding": "utf-8",
            "bytes": (folder / path).stat().st_size,
            "hash": "sha256:" + sha256_file(folder / path),
            "description": f"{ctx['descriptions'][name]} The same rows as {name}.parquet, one JSON object a line.",
            "schema": _table_schema(name, tables[name].schema, native_nesting=False),
        })
    others = [
        ("statistics.json", "application/json", "Corpus summary: counts and the head of each statistic."),
        ("CHANGES.json", "application/json", "Documents added, changed and removed since the previous release, and row-count changes."),
    ] + [(path, "image/png", f"Chart: {CHART_TITLES.get(name, name)}.") for name, path in sorted(ctx["charts"].items())]
    for path, media_type, description in others:
        resources.append({
            "name": _resource_name(path),
            "path": path,
            "format": path.rsplit(".", 1)[1],
            "mediatype": media_type,
            "bytes": (folder / path).stat().st_size,
            "hash": "sha256:" + sha256_file(folder / path),
            "description": description,
        })
    return {
        "profile": "data-package",
        "name": DATASET,
        "id": f"{DATASET}-{ctx['version']}",
        "title": TITLE,
        "description": DESCRIPTION + " Also in this release (described elsewhere): README.md (data card), "
                       "croissant.json (Croissant metadata) and manifest.json (checksums of every file).",
        "version": ctx["version"],
        "created": f"{ctx['today'].isoformat()}T00:00:00Z",
        "keywords": ["United Nations", "Chinese", "General Assembly", "resolutions", "NLP", "corpus"],
        "licenses": [ANNOTATION_LICENCE, SOURCE_LICENCE],
        "sources": SOURCES + [
            {"title": f"{i['source_file']} (sha256 {i['sha256']})"} for i in ctx["inputs"] if i.get("source_file")
        ],
        "resources": resources,
    }


CROISSANT_CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}


def _croissant_type(type_: pa.DataType) -> str | None:
    type_ = _value_type(type_)
    if pa.types.is_boolean(type_):
        return "sc:Boolean"
    if pa.types.is_integer(type_):
        return "sc:Integer"
    if pa.types.is_floating(type_):
        return "sc:Float"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "sc:Text"
    return None


def semantic_version(version: str) -> str:
    """Croissant asks for MAJOR.MINOR.PATCH: v2024.05.01 → 2024.5.1, v2024.05.01.2 → 2024.5.1+2."""
    parts = [int(p) for p in version.lstrip("v").split(".")]
    core = ".".join(str(p) for p in parts[:3])
    return core if len(parts) == 3 else f"{core}+{parts[3]}"


def citation(ctx: dict) -> str:
    year = ctx["today"].year
    version = ctx["version"]
    return (f"@misc{{unparl_{version.replace('.', '_')},\n"
            f"  title = {{{TITLE}}},\n"
            f"  author = {{{{unparl contributors}}}},\n"
            f"  year = {{{year}}},\n"
            f"  version = {{{version}}},\n"
            f"  note = {{Data set, release {version}, content hash {ctx['content_hash']}. "
            f"Source texts: United Nations}}\n}}")


def croissant_metadata(folder: Path, ctx: dict) -> dict:
    """ML Commons Croissant 1.0 metadata for the Parquet tables. Nested columns
    (lists, structs) are left out of the record sets: Croissant 1.0 has no
    portable way to type them; they stay in the files."""
    distribution = []
    record_sets = []
    for name, table in ctx["tables"].items():
        file_id = f"{name}.parquet"
        distribution.append({
            "@type": "cr:FileObject",
            "@id": file_id,
            "name": file_id,
            "description": ctx["descriptions"][name],
            "contentUrl": file_id,
            "encodingFormat": "application/x-parquet",
            "sha256": sha256_file(folder / file_id),
        })
        fields = []
        for f in table.schema:
            data_type = _croissant_type(f.type)
            if data_type is None:
                continue
            fields.append({
                "@type": "cr:Field",
                "@id": f"{name}/{f.name}",
                "name": f.name,
                "description": _description(f),
                "dataType": data_type,
                "source": {"fileObject": {"@id": file_id}, "extract": {"column": f.name}},
            })
        record_set = {"@type": "cr:RecordSet", "@id": name, "name": name,
                      "description": ctx["descriptions"][name], "field": fields}
        if name in PRIMARY_KEYS:
            record_set["key"] = [{"@id": f"{name}/{k}"} for k in PRIMARY_KEYS[name]]
        record_sets.append(record_set)
    metadata = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "name": DATASET,
        "description": DESCRIPTION,
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "license": ANNOTATION_LICENCE["path"],
        "version": semantic_version(ctx["version"]),
        "datePublished": ctx["today"].isoformat(),
        "citeAs": citation(ctx),
        "creator": {"@type": "sc:Organization", "name": "unparl contributors"},
        "keywords": ["United Nations", "Chinese", "NLP", "corpus"],
        "inLanguage": "zh-Hans",
        "isAccessibleForFree": True,
        "distribution": distribution,
        "recordSet": record_sets,
    }
    url = ctx["code_version"].get("homepage") or ctx["code_version"].get("url")
    if url:
        metadata["url"] = url
    return metadata


# --- the data card --------------------------------------------------------------------------

def _type_name(type_: pa.DataType) -> str:
    if pa.types.is_dictionary(type_):
        return "category"
    if pa.types.is_large_string(type_):
        return "string"
    return str(type_).replace("large_", "")


def _md_cell(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _schema_table(schema: pa.Schema) -> list[str]:
    lines = ["| column | type | description |", "|---|---|---|"]
    for f in schema:
        lines.append(f"| `{f.name}` | {_type_name(f.type)} | {_md_cell(_description(f))} |")
    return lines


def data_card(ctx: dict) -> str:
    version = ctx["version"]
    summary = ctx["summary"]
    tables = ctx["tables"]
    corpus = summary.get("corpus", {})
    archive = f"{DATASET}-{version}.tar.gz"
    code = ctx["code_version"]
    changes = ctx["changes"]
    docs = changes["documents"]
    lines: list[str] = [
        f"# unparl {version}",
        "",
        DESCRIPTION,
        "",
        f"Release **{version}** of {ctx['today'].isoformat()}; content hash `{ctx['content_hash']}` "
        "(a hash of the tables' contents: two releases with the same hash hold the same data).",
        "",
        "## What is inside",
        "",
        f"- {corpus.get('documents', 0)} documents, {corpus.get('paragraphs', 0)} paragraphs, "
        f"{corpus.get('sentences', 0)} sentences, {corpus.get('tokens', 0)} tokens, "
        f"{corpus.get('characters', 0)} characters;",
        f"- {corpus.get('entity_mentions', 0)} entity mentions of {corpus.get('distinct_entities', 0)} distinct entities "
        f"({corpus.get('catalogued_entities', 0)} in the catalogue);",
        f"- {corpus.get('quarantined_files', 0)} source files set aside in `quarantine.parquet`, each with its reason.",
        "",
        "| file | rows | what it holds |",
        "|---|---:|---|",
    ]
    for name, table in tables.items():
        lines.append(f"| `{name}.parquet` | {table.num_rows} | {_md_cell(ctx['descriptions'][name])} |")
    lines += [
        "| `documents.jsonl`, `paragraphs.jsonl`, `entities.jsonl` | | The same rows as the Parquet files, as JSON Lines (UTF-8). |",
        "| `statistics.json` | | Corpus summary. |",
        "| `CHANGES.json` | | What changed since the previous release. |",
        "| `manifest.json` | | Version, content hash, sha256 and size of every input and every file, code version. |",
        "| `datapackage.json` | | Frictionless Data Package: every file and field, with types and descriptions. |",
        "| `croissant.json` | | ML Commons Croissant metadata of the Parquet tables. |",
        "| `charts/*.png` | | The charts below. |",
        "",
        "Documents:",
        "",
        "| doc_id | symbol | type | title | date | paragraphs | tokens |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for d in summary.get("documents", []):
        lines.append(f"| `{d['doc_id']}` | {_md_cell(d.get('symbol'))} | {_md_cell(d.get('doc_type'))} | "
                     f"{_md_cell(d.get('title'))} | {_md_cell(d.get('date'))} | {d.get('n_paragraphs')} | {d.get('n_tokens')} |")
    lines += ["", "## Charts", ""]
    for name, path in ctx["charts"].items():
        lines += [f"![{CHART_TITLES.get(name, name)}]({path})", ""]
    lines += [
        "## How it was made",
        "",
        "Each document passes through one chain of steps (Dagster assets):",
        "",
        "raw documents → cleaned text → structure (sections, paragraphs, footnotes) → sentences → "
        "tokens → entities → statistics → release",
        "",
        "1. **Raw documents**: the source files are read as bytes and decoded (the encoding is detected; "
        "`documents.encoding`); files that cannot be read are quarantined with a reason.",
        "2. **Cleaned text**: remains of the PDF export (markdown marks, page breaks that cut paragraphs, "
        "footnote bodies in mid-text) are removed; `clean_text` is the reference text, and every offset in "
        "the release counts Unicode code points into it: `clean_text[char_start:char_end] == text`.",
        "3. **Structure**: headings, numbered, preambular and operative paragraphs, footnotes; "
        "paragraph ids read like UN citations (`A/RES/74/304:op5`, `A/74/759:p19`).",
        f"4. **Sentences** and 5. **tokens** ({code.get('tokenizer') or 'jieba'}, with part-of-speech tags).",
        "6. **Entities**: UN bodies, countries (ISO 3166-1 alpha-3), document symbols, instruments, "
        "meetings, SDGs, dates, percentages and people, from gazetteers and patterns, each with a canonical `entity_id`.",
        "7. **Statistics** (`stats_*.parquet`, `statistics.json`): Polars queries over the tables above.",
        "8. **Release**: this folder, written once, with checksums.",
        "",
        "Metadata fields of a document record where they came from (`documents.provenance`: "
        "`text`, `sidecar` or `inferred`).",
        "",
        "Libraries: Polars and PyArrow (tables, Parquet), jieba (segmentation, part of speech, the IDF "
        "of the keyword weights), pycountry (ISO country names), matplotlib with Noto Sans CJK SC "
        "(charts), Dagster (orchestration).",
        "",
        "Code version: " + ", ".join(f"{k} `{v}`" for k, v in sorted(code.items())) + ".",
        "",
        "Inputs (sha256 of each source file):",
        "",
        "| file | bytes | sha256 |",
        "|---|---:|---|",
    ]
    for item in sorted(ctx["inputs"], key=lambda i: str(i.get("source_file"))):
        lines.append(f"| `{_md_cell(item.get('source_file'))}` | {item.get('bytes', '')} | `{item.get('sha256', '')}` |")
    lines += ["", "## Statistics", ""]
    lines += [
        "- `stats_documents`: per document, paragraphs by kind, sentences, tokens, characters, entities by "
        "type, mean and longest sentence.",
        "- `stats_entities`, `stats_entities_corpus`: entity mentions per document and in the corpus.",
        "- `stats_countries`: country mentions with ISO3, Chinese and English names.",
        "- `stats_sdgs`: mentions of each of the 17 Sustainable Development Goals (all 17 rows).",
        "- `stats_operative_verbs`, `stats_operative_verb_counts`: operative verbs of resolutions in order, and their distribution.",
        "- `stats_keywords`: 20 keywords per document, TF-IDF over the release's tokens with jieba's IDF "
        "and a stop-word list for UN prose (so that 联合国 and 议会 do not crowd out the rest).",
        "- `stats_cooccurrence`: entity pairs mentioned in the same paragraph (edge list; DATE and PERCENT left out).",
        "- `stats_citations`: document symbols each document cites (DOC entities and symbols in footnotes), "
        "resolved to documents of this corpus where possible.",
        "",
        "## Tables",
        "",
    ]
    for name, table in tables.items():
        lines += [f"### {name}", "", ctx["descriptions"][name], ""] + _schema_table(table.schema) + [""]
    lines += [
        "## How to load it",
        "",
        f"Set `release` to the folder: `{archive}` unpacks to `{DATASET}-{version}/`; in a "
        f"pipeline checkout the folder is `data/releases/{version}`.",
        "",
        "Polars:",
        "",
        "```python",
        "import polars as pl",
        f'release = "{DATASET}-{version}"',
        'documents = pl.read_parquet(f"{release}/documents.parquet")',
        'paragraphs = pl.read_parquet(f"{release}/paragraphs.parquet")',
        'operative = paragraphs.filter(pl.col("kind") == "operative").select("para_id", "operative_verb", "text")',
        "print(operative.head())",
        'countries = pl.read_parquet(f"{release}/stats_countries.parquet")',
        'print(countries.select("iso3", "name_zh", "name_en", "count").head(10))',
        "```",
        "",
        "DuckDB:",
        "",
        "```python",
        "import duckdb",
        f'release = "{DATASET}-{version}"',
        "top = duckdb.sql(f\"\"\"",
        "    SELECT entity_id, any_value(text) AS example, count(*) AS mentions",
        "    FROM read_parquet('{release}/entities.parquet')",
        "    GROUP BY entity_id ORDER BY mentions DESC, entity_id LIMIT 10",
        "\"\"\").fetchall()",
        "print(top)",
        "```",
        "",
        "pandas:",
        "",
        "```python",
        "import pandas as pd",
        f'release = "{DATASET}-{version}"',
        'documents = pd.read_parquet(f"{release}/documents.parquet")',
        'print(documents[["doc_id", "symbol", "doc_type", "n_paragraphs"]])',
        'entities = pd.read_json(f"{release}/entities.jsonl", lines=True)',
        'print(entities.groupby("type").size())',
        "```",
        "",
        "Hugging Face `datasets` reads the Parquet files too: "
        "`load_dataset(\"parquet\", data_files={\"paragraphs\": f\"{release}/paragraphs.parquet\"})`.",
        "",
        "Every Parquet file carries its column descriptions in the Arrow schema's field metadata, and the "
        "release version in its key-value metadata (`unparl:version`).",
        "",
        "## Fetch and verify",
        "",
        f"The whole release is one archive, `{archive}`, published beside the release folder together "
        f"with `{archive}.sha256`. Download both, then:",
        "",
        "```sh",
        f"sha256sum -c {archive}.sha256",
        f"tar -xzf {archive}",
        f"cd {DATASET}-{version} && python -c \"import json, hashlib, pathlib; "
        "m = json.load(open('manifest.json')); "
        "bad = [f for f, e in m['files'].items() if hashlib.sha256(pathlib.Path(f).read_bytes()).hexdigest() != e['sha256']]; "
        "print('all files match' if not bad else bad)\"",
        "```",
        "",
        "The archive is deterministic (sorted members, time 0, owner 0): the same release gives the same bytes.",
        "",
        "## Known limits",
        "",
        "- Entities come from gazetteers and patterns: names missing from the gazetteers are missed, and an "
        "ambiguous short form may be tagged wrongly. Check `entities.method`.",
        "- jieba's segmentation and part-of-speech tags are those of a general-purpose dictionary; long UN "
        "names may be split into several tokens.",
        "- Source texts were exported from PDF files; cleaning repairs page breaks and footnotes but can miss "
        "unusual layouts. `documents.warnings` lists what was noticed per document.",
        "- Keyword weights use jieba's general IDF, not one learnt from UN documents.",
        "- Citations are found from DOC entities and from symbols in footnotes; a citation written out in "
        "words is not found. Only symbols of documents in this corpus are resolved.",
        "- The corpus is small and not a sample of all UN documents: counts describe these documents only.",
        "",
        "## Licence",
        "",
        "- **Source texts** (`clean_text` and the text columns cut from it) are official documents of the "
        "United Nations. The United Nations' terms of use apply "
        f"({SOURCE_LICENCE['path']}); official documents of the UN may be freely reproduced, with "
        "attribution to the United Nations and the document symbol. They are reproduced here cleaned of "
        "export debris, not edited. The United Nations does not endorse this data set.",
        "- **Derived annotations** (structure, ids, sentences, tokens, entities, catalogue, statistics, "
        "charts, metadata) are licensed under Creative Commons Attribution 4.0 International "
        f"(CC BY 4.0, {ANNOTATION_LICENCE['path']}).",
        "",
        "## How to cite",
        "",
        f"unparl contributors ({ctx['today'].year}). *{TITLE}*, release {version} "
        f"[data set]. Content hash {ctx['content_hash']}. Source texts: United Nations.",
        "",
        "```bibtex",
        citation(ctx),
        "```",
        "",
        "Cite the version: releases are immutable, and a later one may hold more documents.",
        "",
        "## Release notes",
        "",
        f"Previous release: {changes['previous_version'] or 'none (first release)'}. "
        f"Documents added: {len(docs['added'])}, changed: {len(docs['changed'])}, removed: {len(docs['removed'])}.",
        "",
    ]
    for label in ("added", "changed", "removed"):
        for d in docs[label]:
            lines.append(f"- {label}: `{d['doc_id']}` ({_md_cell(d.get('symbol'))})")
    if any(docs.values()):
        lines.append("")
    row_changes = [f"{name} {r['change']:+d}" for name, r in changes["rows"].items() if r["change"]]
    if row_changes:
        lines += ["Row changes: " + ", ".join(row_changes) + ".", ""]
    if ctx["notes"]:
        lines += ["Warnings:", ""] + [f"- {_md_cell(note)}" for note in ctx["notes"]] + [""]
    else:
        lines += ["No warnings.", ""]
    return "\n".join(lines)
