"""Metadata that travels with a release: the Frictionless Data Package, the
ML Commons Croissant description and the README data card.

All three are built from the Arrow schemas, so a column's type and
description are written once (pipeline/schemas.py and the statistics schemas)
and read the same everywhere. The data card's prose and layout are a Jinja2
template, pipeline/templates/data_card.md.j2; card_values computes what it says.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2
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
PRIMARY_KEYS = {"documents": ["doc_id"], "document_status": ["doc_id"], "paragraphs": ["para_id"], "sentences": ["sent_id"],
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


def _sha256(folder: Path, ctx: dict, path: str) -> str:
    """A release file's sha256: the one taken when it was written (ctx["sha256"]), else read."""
    known = ctx.get("sha256", {}).get(path)
    return known if known is not None else sha256_file(folder / path)


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
            "hash": "sha256:" + _sha256(folder, ctx, path),
            "description": ctx["descriptions"][name],
            "schema": _table_schema(name, table.schema, native_nesting=True),
        })
    # Every table the release also writes as JSON Lines (release.JSONL_TABLES), as it wrote them.
    for name in (n for n in tables if (folder / f"{n}.jsonl").is_file()):
        path = f"{name}.jsonl"
        resources.append({
            "name": f"{name}-jsonl",
            "path": path,
            "profile": "tabular-data-resource",
            "format": "jsonl",
            "mediatype": "application/jsonl",
            "encoding": "utf-8",
            "bytes": (folder / path).stat().st_size,
            "hash": "sha256:" + _sha256(folder, ctx, path),
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
            "hash": "sha256:" + _sha256(folder, ctx, path),
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
            "sha256": _sha256(folder, ctx, file_id),
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


# --- values from the inputs (titles, symbols, file names, warnings) ----------------------------
# They may hold anything a sidecar or a file name can: HTML, Markdown, control characters. The
# card shows them as text: control characters (NUL, bidirectional overrides…) removed, line
# breaks made spaces, HTML's < > & as entities, and Markdown's marks backslash-escaped, so that
# no input can add a tag, a link, an image, emphasis or a table cell to the card.
_DROPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u200e\u200f\u202a-\u202e"
                      "\u2066-\u2069\ud800-\udfff]")
_BREAKS = re.compile("\r\n|[\t\n\r\x85\u2028\u2029]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN = re.compile(r"([\\`*_\[\]~|])")
# Marks that mean something at the start of a line (the card puts a value after "- " or "| ").
_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")


def _plain(value) -> str:
    text = _BREAKS.sub(" ", str(value if value is not None else ""))
    return _DROPPED.sub("", text)


def input_text(value) -> str:
    """A value from the inputs as Markdown (and HTML) that shows it as it is, one line, safe in
    a table cell or a list item."""
    text = _plain(value)
    text = "".join(_ENTITIES.get(ch, ch) for ch in text) if any(ch in text for ch in "&<>") else text
    text = _MARKDOWN.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: m[1] + ("\\" + m[2] if not m[2].isdigit() else m[2] + "\\"), text, count=1)


def input_code(value) -> str:
    """A name from the inputs (a file name, an id) as a Markdown code span that holds it whole:
    fenced with more backticks than it holds, safe in a table cell."""
    text = _plain(value).replace("|", "\\|")
    run = max((len(r) for r in re.findall("`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


CARD_TEMPLATE = "data_card.md.j2"
CORPUS_COUNTS = ("documents", "paragraphs", "sentences", "tokens", "characters", "entity_mentions",
                 "distinct_entities", "catalogued_entities", "quarantined_files")


@functools.cache
def templates() -> jinja2.Environment:
    """The release's templates (pipeline/templates, package data). Markdown, not HTML: the
    template escapes each value it shows: `md` makes the code's own text (descriptions) safe in
    a table cell, `text` and `code` show a value from the inputs as text or as a code span
    (input_text, input_code); a name the template uses and the card does not give is an error,
    not an empty string."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = _md_cell
    env.filters["text"] = input_text
    env.filters["code"] = input_code
    return env


def card_values(ctx: dict) -> dict:
    """What the data card says, computed from the release's context; the template lays it out."""
    version = ctx["version"]
    summary = ctx["summary"]
    corpus = summary.get("corpus", {})
    changes = ctx["changes"]
    folder = f"{DATASET}-{version}"
    return {
        "dataset": DATASET,
        "title": TITLE,
        "description": DESCRIPTION,
        "version": version,
        "date": ctx["today"].isoformat(),
        "year": ctx["today"].year,
        "content_hash": ctx["content_hash"],
        "folder": folder,
        "archive": ctx["archive"],
        "corpus": {key: corpus.get(key, 0) for key in CORPUS_COUNTS},
        "tables": [
            {"name": name, "rows": table.num_rows, "description": ctx["descriptions"][name],
             "columns": [{"name": f.name, "type": _type_name(f.type), "description": _description(f)}
                         for f in table.schema]}
            for name, table in ctx["tables"].items()
        ],
        "documents": [
            {key: d.get(key) for key in ("doc_id", "symbol", "doc_type", "title", "date", "n_paragraphs", "n_tokens")}
            for d in summary.get("documents", [])
        ],
        "charts": [{"title": CHART_TITLES.get(name, name), "path": path} for name, path in ctx["charts"].items()],
        "tokenizer": ctx["code_version"].get("tokenizer") or "jieba",
        "code_version": sorted(ctx["code_version"].items()),
        "inputs": [
            {"source_file": i.get("source_file"), "bytes": i.get("bytes", ""), "sha256": i.get("sha256", "")}
            for i in sorted(ctx["inputs"], key=lambda i: str(i.get("source_file")))
        ],
        "source_licence_url": SOURCE_LICENCE["path"],
        "annotation_licence_url": ANNOTATION_LICENCE["path"],
        "citation": citation(ctx),
        "previous_version": changes["previous_version"],
        "changes": {label: [{"doc_id": d["doc_id"], "symbol": d.get("symbol")} for d in changes["documents"][label]]
                    for label in ("added", "changed", "removed")},
        "row_changes": [(name, r["change"]) for name, r in changes["rows"].items() if r["change"]],
        "notes": list(ctx["notes"]),
    }


def data_card(ctx: dict) -> str:
    """The release's README.md, from pipeline/templates/data_card.md.j2."""
    return templates().get_template(CARD_TEMPLATE).render(card_values(ctx))
