"""Metadata that travels with a release: the Frictionless Data Package, the
ML Commons Croissant description and the README data card.

All three are built from the Arrow schemas, so a column's type and
description are written once (pipeline/schemas.py and the statistics schemas)
and read the same everywhere; the keys that tie the tables together are
declared once here (PRIMARY_KEYS, FOREIGN_KEYS) and written into both the Data
Package and Croissant. A table's files come from the release's file list (the
manifest's "files": each data part with its table, format and rows), so the
metadata name every part the release holds. The data card's prose and layout
are a Jinja2 template, pipeline/templates/data_card.md.j2; card_values
computes what it says.
"""
from __future__ import annotations

import functools
import json
import re
import urllib.parse
from pathlib import Path

import jinja2
import pyarrow as pa

from pipeline import schemas
from pipeline.lib.release.names import template_environment

DATASET = "unparl"
TITLE = "unparl: United Nations documents in Chinese, structured and annotated"
DESCRIPTION = (
    "United Nations documents written in Chinese (reports of the Secretary-General, General "
    "Assembly resolutions and more) as documents, paragraphs, sentences, tokens, tagged entities "
    "and corpus statistics, in Parquet and JSON Lines, with offsets into each document's cleaned text."
)
KEYWORDS = ["United Nations", "Chinese", "General Assembly", "resolutions", "NLP", "corpus",
            "named entities", "parliaments"]
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
# The UN's own copy of a document, in Chinese, by its symbol.
UN_DOCUMENT_URL = "https://undocs.org/zh/{symbol}"
# Parquet's registered media type (IANA, 2024), then the older name mlcroissant 1.1 reads.
PARQUET_MEDIA_TYPES = ["application/vnd.apache.parquet", "application/x-parquet"]
JSONL_MEDIA_TYPE = "application/jsonl"
CROISSANT_JSONL_MEDIA_TYPE = "application/jsonlines"
CONLLU_MEDIA_TYPE = "text/plain"
FORMATS = ("parquet", "jsonl", "conllu")

# The key of every table: one column, or several that together identify a row.
PRIMARY_KEYS: dict[str, list[str]] = {
    "documents": ["doc_id"],
    "paragraphs": ["para_id"],
    "sentences": ["sent_id"],
    "tokens": ["sent_id", "seq"],
    "entities": ["doc_id", "char_start", "char_end", "entity_id"],
    "entity_catalog": ["entity_id"],
    "quarantine": ["source_file"],
    "document_status": ["doc_id"],
    "stats_documents": ["doc_id"],
    "stats_entities": ["doc_id", "entity_id"],
    "stats_entities_corpus": ["entity_id"],
    "stats_countries": ["iso3"],
    "stats_sdgs": ["goal"],
    "stats_operative_verbs": ["para_id"],
    "stats_operative_verb_counts": ["operative_verb"],
    "stats_keywords": ["doc_id", "rank"],
    "stats_cooccurrence": ["entity_a", "entity_b"],
    "stats_citations": ["doc_id", "cited_symbol"],
}
# Every reference from one table's column to another's key: (table, column, referenced table,
# referenced column). A reference is declared when both tables and both columns are in the release.
FOREIGN_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("documents", "doc_id", "document_status", "doc_id"),
    ("paragraphs", "doc_id", "documents", "doc_id"),
    ("paragraphs", "cited_by", "paragraphs", "para_id"),
    ("sentences", "doc_id", "documents", "doc_id"),
    ("sentences", "para_id", "paragraphs", "para_id"),
    ("tokens", "doc_id", "documents", "doc_id"),
    ("tokens", "para_id", "paragraphs", "para_id"),
    ("tokens", "sent_id", "sentences", "sent_id"),
    ("entities", "doc_id", "documents", "doc_id"),
    ("entities", "para_id", "paragraphs", "para_id"),
    ("entities", "sent_id", "sentences", "sent_id"),
    ("entities", "entity_id", "entity_catalog", "entity_id"),
    ("stats_documents", "doc_id", "documents", "doc_id"),
    ("stats_entities", "doc_id", "documents", "doc_id"),
    ("stats_entities", "entity_id", "entity_catalog", "entity_id"),
    ("stats_entities_corpus", "entity_id", "entity_catalog", "entity_id"),
    ("stats_countries", "entity_id", "entity_catalog", "entity_id"),
    ("stats_operative_verbs", "doc_id", "documents", "doc_id"),
    ("stats_operative_verbs", "para_id", "paragraphs", "para_id"),
    ("stats_keywords", "doc_id", "documents", "doc_id"),
    ("stats_cooccurrence", "entity_a", "entity_catalog", "entity_id"),
    ("stats_cooccurrence", "entity_b", "entity_catalog", "entity_id"),
    ("stats_citations", "doc_id", "documents", "doc_id"),
    ("stats_citations", "cited_doc_id", "documents", "doc_id"),
)
ENUMS = {("paragraphs", "kind"): list(schemas.PARAGRAPH_KINDS),
         ("entities", "type"): list(schemas.ENTITY_TYPES),
         ("entity_catalog", "type"): list(schemas.ENTITY_TYPES),
         ("entities", "subtype"): list(schemas.ENTITY_SUBTYPES),
         ("entity_catalog", "subtype"): list(schemas.ENTITY_SUBTYPES),
         ("entities", "method"): list(schemas.ENTITY_METHODS)}
CHART_TITLES = {
    "top_entities": "Most mentioned entities",
    "countries": "Countries mentioned",
    "sdgs": "Sustainable Development Goals mentioned",
    "operative_verbs": "Operative verbs of resolutions",
}
CREATOR = "unparl contributors"
DEFAULT_MAINTAINERS = [CREATOR]
DEFAULT_CONTACT = "the unparl repository's issue tracker"

# What the data are for, and not for, and their known limits: the card lists them, and Croissant
# says them as Responsible AI fields (rai:dataUseCases, rai:dataLimitations). Markdown.
INTENDED_USES = [
    ('research on the language and the work of the United Nations: what its organs ask of Member States '
     'and parliaments, which bodies, instruments and goals they cite, how resolutions are worded '
     '(operative verbs);'),
    ('linguistics and NLP on official Chinese: segmentation, part of speech and named entities with exact '
     'offsets into each text, sentence and paragraph structure, citation-style ids;'),
    ("finding and citing passages: every row carries an id that reads like the UN's own citation "
     "(`A/RES/74/304:op5`) and offsets into the document's cleaned text;"),
    ('teaching and exploring (the statistics tables and charts), and as silver-standard training or '
     'evaluation data, with the measured quality in mind.'),
]
# Uses the data do not support.
OUT_OF_SCOPE_USES = [
    ('a gold standard: the tokens and entities are machine annotations (jieba, gazetteers and patterns), '
     'not checked by hand; measure against your own gold before relying on them;'),
    ("an authoritative text: the official version of a document is the UN's own (`undocs.org/zh/<symbol>`); this is a "
     'cleaned export of it, and its translation into other languages is not here;'),
    ("statements about all UN documents, or about the United Nations' positions: the corpus holds only the"
     " documents this release lists, not a sample of the UN's output;"),
    ('judging people: the few PERSON mentions are names as printed in official documents; do not use them '
     'to profile individuals.'),
]
# What a user of the annotations should know about how they were made.
KNOWN_LIMITS = [
    ('Entities come from gazetteers and patterns: names missing from the gazetteers are missed, and an '
     'ambiguous short form may be tagged wrongly. Check `entities.method`.'),
    ("jieba's segmentation and part-of-speech tags are those of a general-purpose dictionary; long UN "
     'names may be split into several tokens.'),
    ('Source texts were exported from PDF files; cleaning repairs page breaks and footnotes but can miss '
     'unusual layouts. `documents.warnings` lists what was noticed per document.'),
    "Keyword weights use jieba's general IDF, not one learnt from UN documents.",
    ('Citations are found from DOC entities and from symbols in footnotes; a citation written out in words'
     ' is not found. Only symbols of documents in this corpus are resolved.'),
    'The corpus is small and not a sample of all UN documents: counts describe these documents only.',
]


class MetadataError(ValueError):
    """The release's context cannot be described: a table without parts, a column type the
    metadata cannot express."""


def _description(field: pa.Field) -> str:
    return (field.metadata or {}).get(b"description", b"").decode()


def _value_type(type_: pa.DataType) -> pa.DataType:
    return type_.value_type if pa.types.is_dictionary(type_) else type_


def _is_list(type_: pa.DataType) -> bool:
    return pa.types.is_list(type_) or pa.types.is_large_list(type_)


def parts(files: dict[str, dict], table: str, fmt: str) -> list[str]:
    """The release paths of a table's parts in one format, in part order, as the file list
    (manifest.json's "files") gives them."""
    return sorted(path for path, entry in files.items()
                  if entry.get("table") == table and entry.get("format") == fmt)


def _table_parts(ctx: dict, table: str) -> list[str]:
    found = parts(ctx["files"], table, "parquet")
    if not found:
        raise MetadataError(f"release {ctx['version']}: the file list holds no Parquet part of table "
                            f"{table!r} (every table has at least {table}/part-00000.parquet)")
    return found


def foreign_keys(schemas_: dict[str, pa.Schema], *, within_a_table: bool = True) -> list[tuple[str, str, str, str]]:
    """The references (FOREIGN_KEYS) whose tables and columns are all in `schemas_`. A list
    column (a footnote's cited_by) refers through each of its items, which a Table Schema
    foreign key cannot say: it is left to the release's own checks. The machine-readable
    metadata also leave out a reference within one table (within_a_table=False): Frictionless 5
    cannot check one (frictionless-py#1747; it crashes), and mlcroissant 1.1 plans reading a
    record set that references itself as a cycle, and fails."""
    return [(t, c, rt, rc) for t, c, rt, rc in FOREIGN_KEYS
            if t in schemas_ and rt in schemas_ and (within_a_table or t != rt)
            and c in schemas_[t].names and rc in schemas_[rt].names
            and not pa.types.is_list(schemas_[t].field(c).type)]


# --- Frictionless Data Package ----------------------------------------------------------------

# Arrow's scalar types in each metadata vocabulary: (test, Table Schema type, Croissant dataType).
SCALAR_TYPES = (
    (pa.types.is_boolean, "boolean", "sc:Boolean"),
    (pa.types.is_integer, "integer", "sc:Integer"),
    (pa.types.is_floating, "number", "sc:Float"),
    (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "string", "sc:Text"),
)


def _scalar_type(type_: pa.DataType, vocabulary: int) -> str | None:
    """A scalar Arrow type's name in Table Schema (vocabulary 1) or Croissant (2), else None."""
    type_ = _value_type(type_)
    return next((names[vocabulary] for names in SCALAR_TYPES if names[0](type_)), None)


def _frictionless_type(type_: pa.DataType, *, native_nesting: bool) -> str:
    """Table Schema type of an Arrow type. Parquet readers hand nested values over as
    Python lists and dicts, which Table Schema's array/object (JSON text) reject, so
    nested columns of Parquet resources are typed 'any'."""
    scalar = _scalar_type(type_, 1)
    if scalar is not None:
        return scalar
    type_ = _value_type(type_)
    if _is_list(type_):
        return "any" if native_nesting else "array"
    if pa.types.is_struct(type_):
        return "any" if native_nesting else "object"
    return "any"


def _table_schema(name: str, schema: pa.Schema, references: list[tuple[str, str, str, str]],
                  *, native_nesting: bool, resource_of) -> dict:
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
    keys = []
    for table, column, target, target_column in references:
        if table != name or resource_of(target) is None:
            continue
        keys.append({"fields": [column], "reference": {"resource": resource_of(target), "fields": [target_column]}})
    if keys:
        result["foreignKeys"] = keys
    return result


def _file_facts(ctx: dict, path: str) -> dict:
    """bytes and hash of one release file, as the file list has them (when it has them)."""
    entry = ctx["files"].get(path) or {}
    facts = {}
    if "bytes" in entry:
        facts["bytes"] = entry["bytes"]
    if "sha256" in entry:
        facts["hash"] = "sha256:" + entry["sha256"]
    return facts


def data_package(folder: Path, ctx: dict) -> dict:
    """A Frictionless Data Package (v1) describing every file of the release: one tabular
    resource per table whose `path` lists its Parquet parts in order (a multipart resource),
    one per table also written as JSON Lines, likewise; primary and foreign keys on each. A
    multipart resource carries no `bytes` or `hash` (the spec does not say what they would be
    over: frictionlessdata/datapackage#1132); manifest.json has every part's."""
    table_schemas: dict[str, pa.Schema] = ctx["schemas"]
    references = foreign_keys(table_schemas, within_a_table=False)
    jsonl_tables = [name for name in table_schemas if parts(ctx["files"], name, "jsonl")]
    # Frictionless 5 cannot read an empty JSON Lines file as a table ("generator raised
    # StopIteration"): a table without rows has its JSON Lines described as plain files.
    jsonl_with_rows = [name for name in jsonl_tables if ctx["rows"].get(name)]
    resources = []
    for name, schema in table_schemas.items():
        resources.append({
            "name": name,
            "path": _table_parts(ctx, name),
            "profile": "tabular-data-resource",
            "format": "parquet",
            "mediatype": PARQUET_MEDIA_TYPES[0],
            "description": ctx["descriptions"][name],
            "schema": _table_schema(name, schema, references, native_nesting=True,
                                    resource_of=lambda t: t if t in table_schemas else None),
        })
    for name in jsonl_tables:
        resource = {
            "name": f"{name}-jsonl",
            "path": parts(ctx["files"], name, "jsonl"),
            "format": "jsonl",
            "mediatype": JSONL_MEDIA_TYPE,
            "encoding": "utf-8",
            "description": f"{ctx['descriptions'][name]} The same rows as the Parquet parts of {name}, "
                           "one JSON object a line.",
        }
        if name in jsonl_with_rows:
            resource.update({"profile": "tabular-data-resource", "schema": _table_schema(
                name, table_schemas[name], references, native_nesting=False,
                resource_of=lambda t: f"{t}-jsonl" if t in jsonl_with_rows else None)})
        else:
            resource.update({"type": "file", "description": resource["description"] + " No rows in this release: "
                             "empty files (the Parquet resource has the columns)."})
        resources.append(resource)
    conllu = sorted(path for path, entry in ctx["files"].items() if entry.get("format") == "conllu")
    if conllu:
        resources.append({
            "name": "conllu",
            "path": conllu,
            "format": "conllu",
            "mediatype": CONLLU_MEDIA_TYPE,
            "encoding": "utf-8",
            "description": "Sentences, tokens and entity mentions in CoNLL-U, one file per part of the "
                           "per-document tables.",
        })
    others = [
        ("statistics.json", "application/json", "Corpus summary: counts and the head of each statistic."),
        ("CHANGES.json", "application/json", "Documents added, changed and removed since the previous release, and row-count changes."),
    ] + [(path, "image/svg+xml", f"Chart: {CHART_TITLES.get(name, name)}.") for name, path in sorted(ctx["charts"].items())]
    for path, media_type, description in others:
        resources.append({
            "name": _resource_name(path),
            "path": path,
            "format": path.rsplit(".", 1)[1],
            "mediatype": media_type,
            **_file_facts(ctx, path),
            "description": description,
        })
    settings = _settings(ctx)
    package = {
        "profile": "data-package",
        "name": DATASET,
        "id": f"{DATASET}-{ctx['version']}",
        "title": TITLE,
        "description": DESCRIPTION + " Also in this release (described elsewhere): README.md (data card), "
                       "croissant.json (Croissant metadata) and manifest.json (checksums of every file).",
        "version": ctx["version"],
        "created": f"{ctx['today'].isoformat()}T00:00:00Z",
        "keywords": KEYWORDS,
        "licenses": [ANNOTATION_LICENCE, SOURCE_LICENCE],
        "contributors": [{"title": name, "role": "maintainer"} for name in settings["maintainers"]],
        "sources": SOURCES + [
            {"title": f"{i['source_file']} (sha256 {i['sha256']})"} for i in ctx["inputs"] if i.get("source_file")
        ],
        "resources": resources,
    }
    if settings["homepage"]:
        package["homepage"] = settings["homepage"]
    return package


def _resource_name(path: str) -> str:
    return path.lower().replace("/", "-").replace("_", "-").replace(".", "-")


# --- ML Commons Croissant ---------------------------------------------------------------------

CROISSANT_CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
# The JSON-LD context of Croissant 1.1 (the spec's Appendix 1, as mlcroissant writes it).
CROISSANT_CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
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
    return _scalar_type(type_, 2)


def _croissant_field(table: str, file_set: str, field: pa.Field, references: dict[str, str]) -> dict:
    """One column as a Croissant field: a list column is an array of its item type (isArray),
    a struct column a field whose subFields read its members (jsonPath)."""
    field_id = f"{table}/{field.name}"
    source = {"fileSet": {"@id": file_set}, "extract": {"column": field.name}}
    entry = {"@type": "cr:Field", "@id": field_id, "name": field.name, "description": _description(field)}
    type_ = _value_type(field.type)
    if pa.types.is_struct(type_):
        members = []
        for member in type_:
            data_type = _croissant_type(member.type)
            if data_type is None:
                raise MetadataError(f"{table}.{field.name}.{member.name}: Croissant cannot describe {member.type}")
            members.append({"@type": "cr:Field", "@id": f"{field_id}/{member.name}", "name": member.name,
                            "description": f"{_description(field)} Member {member.name}.",
                            "dataType": data_type,
                            "source": {**source, "transform": {"jsonPath": member.name}}})
        entry["subField"] = members
    elif _is_list(type_):
        data_type = _croissant_type(type_.value_type)
        if data_type is None:
            raise MetadataError(f"{table}.{field.name}: Croissant cannot describe a list of {type_.value_type}")
        entry.update({"dataType": data_type, "isArray": True, "arrayShape": "-1", "source": source})
    else:
        data_type = _croissant_type(type_)
        if data_type is None:
            raise MetadataError(f"{table}.{field.name}: Croissant cannot describe {field.type}")
        entry.update({"dataType": data_type, "source": source})
    if field.name in references:
        entry["references"] = {"field": {"@id": references[field.name]}}
    return entry


def croissant_metadata(folder: Path, ctx: dict) -> dict:
    """ML Commons Croissant 1.1 metadata: a FileSet of Parquet parts and a RecordSet per table,
    every column a field (list and struct columns included), keys and references as in the Data
    Package. The version is the release's own (`v2026.12.01`): Croissant recommends semantic
    versions but takes any text, and one release has one name everywhere."""
    table_schemas: dict[str, pa.Schema] = ctx["schemas"]
    references: dict[str, dict[str, str]] = {}
    for table, column, target, target_column in foreign_keys(table_schemas, within_a_table=False):
        references.setdefault(table, {})[column] = f"{target}/{target_column}"
    distribution = []
    record_sets = []
    for name, schema in table_schemas.items():
        _table_parts(ctx, name)
        file_set = f"{name}-parquet"
        distribution.append({
            "@type": "cr:FileSet",
            "@id": file_set,
            "name": file_set,
            "description": f"The Parquet parts of {name}: {ctx['descriptions'][name]}",
            "encodingFormat": PARQUET_MEDIA_TYPES,
            "includes": f"{name}/*.parquet",
        })
        record_set = {"@type": "cr:RecordSet", "@id": name, "name": name,
                      "description": ctx["descriptions"][name],
                      "field": [_croissant_field(name, file_set, f, references.get(name, {})) for f in schema]}
        if name in PRIMARY_KEYS:
            record_set["key"] = [{"@id": f"{name}/{k}"} for k in PRIMARY_KEYS[name]]
        record_sets.append(record_set)
    for name in table_schemas:
        if parts(ctx["files"], name, "jsonl"):
            distribution.append({
                "@type": "cr:FileSet",
                "@id": f"{name}-jsonl",
                "name": f"{name}-jsonl",
                "description": f"The same rows as {name}-parquet, as JSON Lines.",
                "encodingFormat": CROISSANT_JSONL_MEDIA_TYPE,
                "includes": f"jsonl/{name}/*.jsonl",
            })
    settings = _settings(ctx)
    metadata = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "name": DATASET,
        "description": DESCRIPTION,
        "conformsTo": CROISSANT_CONFORMS_TO,
        "license": ANNOTATION_LICENCE["path"],
        "version": ctx["version"],
        "datePublished": ctx["today"].isoformat(),
        "citeAs": citation(ctx),
        "creator": {"@type": "sc:Organization", "name": CREATOR},
        "maintainer": [{"name": name} for name in settings["maintainers"]],
        "keywords": KEYWORDS,
        "inLanguage": "zh-Hans",
        "isAccessibleForFree": True,
        "rai:dataUseCases": INTENDED_USES,
        "rai:dataLimitations": OUT_OF_SCOPE_USES + KNOWN_LIMITS,
        "distribution": distribution,
        "recordSet": record_sets,
    }
    if settings["homepage"]:
        metadata["url"] = settings["homepage"]
    return metadata


def citation(ctx: dict) -> str:
    year = ctx["today"].year
    version = ctx["version"]
    return (f"@misc{{unparl_{version.replace('.', '_')},\n"
            f"  title = {{{TITLE}}},\n"
            f"  author = {{{{{CREATOR}}}}},\n"
            f"  year = {{{year}}},\n"
            f"  version = {{{version}}},\n"
            f"  note = {{Data set, release {version}, content hash {ctx['content_hash']}. "
            f"Source texts: United Nations}}\n}}")


def release_settings(settings: dict | None) -> dict:
    """Maintainers (a list, or one string of names separated by ";"), contact and homepage, as
    the release says them, with the defaults for what is not given."""
    settings = settings or {}
    maintainers = settings.get("maintainers") or []
    if isinstance(maintainers, str):
        maintainers = maintainers.split(";")
    names = [name.strip() for name in maintainers if name and name.strip()]
    return {"maintainers": names or list(DEFAULT_MAINTAINERS),
            "contact": (settings.get("contact") or "").strip() or DEFAULT_CONTACT,
            "homepage": (settings.get("homepage") or "").strip() or None}


def _settings(ctx: dict) -> dict:
    return release_settings(ctx.get("settings"))


# --- the data card --------------------------------------------------------------------------

def _type_name(type_: pa.DataType) -> str:
    if pa.types.is_dictionary(type_):
        return "category"
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


# Rows a list of the card shows at most (documents, inputs, changes): past that a card stops
# being read, and the data hold every row (documents.un_url, manifest.json, CHANGES.json).
CARD_LIST = 100


def un_document_url(symbol: str | None) -> str | None:
    """The UN's own copy of a document in Chinese (undocs.org resolves a symbol to the Official
    Document System), the symbol percent-encoded but for its slashes: no character of it can end
    the link or add to it."""
    if not symbol or not _plain(symbol).strip():
        return None
    return UN_DOCUMENT_URL.format(symbol=urllib.parse.quote(_plain(symbol).strip(), safe="/"))


# An example record shows this much of a long value.
EXAMPLE_TEXT_CHARS = 80
EXAMPLE_LIST_ITEMS = 5
# Escaped in an example record (as JSON escapes: the value stays the same), so that it shows every
# character it holds, visibly, and no raw tag reaches a renderer that passes HTML through.
_ESCAPED_IN_EXAMPLES = re.compile("[<>&\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def _shortened(value):
    if isinstance(value, str):
        return value if len(value) <= EXAMPLE_TEXT_CHARS else value[:EXAMPLE_TEXT_CHARS] + f"…(+{len(value) - EXAMPLE_TEXT_CHARS} characters)"
    if isinstance(value, list):
        items = [_shortened(v) for v in value[:EXAMPLE_LIST_ITEMS]]
        return items + [f"…(+{len(value) - EXAMPLE_LIST_ITEMS} items)"] if len(value) > EXAMPLE_LIST_ITEMS else items
    if isinstance(value, dict):
        return {k: _shortened(v) for k, v in value.items()}
    return value


def example_block(row: dict | None, columns: list[str] | None = None) -> str | None:
    """A table's first row as a fenced JSON block for the card: long texts and lists cut, every
    control or invisible character and < > & written as JSON escapes, and a fence longer than any
    run of backticks inside, so no value can end the block."""
    if row is None:
        return None
    if columns:  # in the table's column order, whatever order the row came in
        row = {**{c: row[c] for c in columns if c in row}, **{k: v for k, v in row.items() if k not in columns}}
    text = json.dumps(_shortened(row), ensure_ascii=False, indent=2)
    text = _ESCAPED_IN_EXAMPLES.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
    fence = "`" * max(3, max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    return f"{fence}json\n{text}\n{fence}"


CARD_TEMPLATE = "data_card.md.j2"
CORPUS_COUNTS = ("documents", "paragraphs", "sentences", "tokens", "characters", "entity_mentions",
                 "distinct_entities", "catalogued_entities", "quarantined_files")
# Hugging Face's size categories (the number of rows of the largest table).
SIZE_CATEGORIES = ((10 ** 3, "n<1K"), (10 ** 4, "1K<n<10K"), (10 ** 5, "10K<n<100K"), (10 ** 6, "100K<n<1M"),
                   (10 ** 7, "1M<n<10M"), (10 ** 8, "10M<n<100M"), (10 ** 9, "100M<n<1B"), (10 ** 10, "1B<n<10B"),
                   (10 ** 11, "10B<n<100B"), (10 ** 12, "100B<n<1T"))
DEFAULT_CONFIG = "documents"


def size_category(rows: int) -> str:
    for bound, label in SIZE_CATEGORIES:
        if rows < bound:
            return label
    return "n>1T"


@functools.cache
def templates() -> jinja2.Environment:
    """The release's templates (pipeline/templates, package data). Markdown, not HTML: the
    template escapes each value it shows: `md` makes the code's own text (descriptions) safe in
    a table cell, `text` and `code` show a value from the inputs as text or as a code span
    (input_text, input_code), `yaml` writes a value as a YAML (JSON) scalar; a name the template
    uses and the card does not give is an error, not an empty string."""
    env = template_environment(autoescape=False)
    env.filters["md"] = _md_cell
    env.filters["text"] = input_text
    env.filters["code"] = input_code
    env.filters["yaml"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


# The gold sets `make eval` scores (pipeline/lib/entities/evaluation.py, record_quality), the
# fairest first: texts the tagger was not developed on, then the sample it was tuned on.
QUALITY_SETS = (
    ("corpus_heldout", "Held-out part of the corpus of real UN texts", "not looked at while the tagger was developed"),
    ("heldout", "Held-out sample", "annotated without looking at the tagger's output"),
    ("gold", "Development sample", "the tagger was tuned on it: an upper bound, not an estimate"),
)


def _quality(ctx: dict) -> list[dict] | None:
    """The entity tagger's measured scores (ctx["quality"], evaluation.recorded_quality()), for the card."""
    quality = ctx.get("quality") or {}
    sets = []
    for key, label, note in QUALITY_SETS:
        result = quality.get(key)
        if not result:
            continue
        sets.append({
            "label": label,
            "note": note,
            "measured": result.get("measured"),
            "command": result.get("command"),
            "gold_file": result.get("gold_file"),
            "paragraphs": result.get("n_paragraphs"),
            "mentions": result.get("n_gold"),
            "rows": [{"type": t, **{k: s[k] for k in ("precision", "recall", "f1", "tp", "fp", "fn")}}
                     for t, s in result.get("per_type", {}).items()]
                    + [{"type": "overall", **{k: result["overall"][k]
                                              for k in ("precision", "recall", "f1", "tp", "fp", "fn")}}],
            "linking": result.get("linking_accuracy"),
        })
    return sets or None


def card_values(ctx: dict) -> dict:
    """What the data card says, computed from the release's context; the template lays it out."""
    version = ctx["version"]
    summary = ctx["summary"]
    corpus = summary.get("corpus", {})
    changes = ctx["changes"]
    folder = f"{DATASET}-{version}"
    table_schemas: dict[str, pa.Schema] = ctx["schemas"]
    rows: dict[str, int] = ctx["rows"]
    jsonl_tables = [name for name in table_schemas if parts(ctx["files"], name, "jsonl")]
    settings = _settings(ctx)
    return {
        "dataset": DATASET,
        "title": TITLE,
        "description": DESCRIPTION,
        "version": version,
        "date": ctx["today"].isoformat(),
        "year": ctx["today"].year,
        "content_hash": ctx["content_hash"],
        "folder": folder,
        "archive": ctx.get("archive") or f"{folder}.zip",
        "size_category": size_category(max(rows.values(), default=0)),
        "default_config": DEFAULT_CONFIG,
        "keywords": KEYWORDS,
        "corpus": {key: corpus.get(key, 0) for key in CORPUS_COUNTS},
        "tables": [
            {"name": name, "rows": rows.get(name, 0), "description": ctx["descriptions"][name],
             "parts": len(parts(ctx["files"], name, "parquet")),
             "key": PRIMARY_KEYS.get(name, []),
             "references": [(c, f"{rt}.{rc}") for t, c, rt, rc in foreign_keys(table_schemas) if t == name],
             "example": example_block((ctx.get("examples") or {}).get(name), schema.names),
             "columns": [{"name": f.name, "type": _type_name(f.type), "description": _description(f)}
                         for f in schema]}
            for name, schema in table_schemas.items()
        ],
        "jsonl_tables": jsonl_tables,
        "has_conllu": any(entry.get("format") == "conllu" for entry in ctx["files"].values()),
        "documents": [
            {**{key: d.get(key) for key in ("doc_id", "symbol", "doc_type", "title", "date")},
             "url": un_document_url(d.get("symbol"))}
            for d in sorted(ctx["documents"], key=lambda d: str(d.get("doc_id")))[:CARD_LIST]
        ],
        "documents_more": max(len(ctx["documents"]) - CARD_LIST, 0),
        "charts": [{"title": CHART_TITLES.get(name, name), "path": path} for name, path in ctx["charts"].items()],
        "tokenizer": (ctx.get("code_version") or {}).get("tokenizer") or "jieba",
        "code_version": sorted((ctx.get("code_version") or {}).items()),
        "inputs": [
            {"source_file": i.get("source_file"), "bytes": i.get("bytes", ""), "sha256": i.get("sha256", "")}
            for i in sorted(ctx["inputs"], key=lambda i: str(i.get("source_file")))[:CARD_LIST]
        ],
        "inputs_more": max(len(ctx["inputs"]) - CARD_LIST, 0),
        "quality": _quality(ctx),
        "intended_uses": INTENDED_USES,
        "out_of_scope_uses": OUT_OF_SCOPE_USES,
        "known_limits": KNOWN_LIMITS,
        "maintainers": settings["maintainers"],
        "contact": settings["contact"],
        "homepage": settings["homepage"],
        "source_licence_url": SOURCE_LICENCE["path"],
        "annotation_licence_url": ANNOTATION_LICENCE["path"],
        "citation": citation(ctx),
        "previous_version": changes["previous_version"],
        "changes": {label: [{"doc_id": d["doc_id"], "symbol": d.get("symbol")} for d in changes["documents"][label]]
                    for label in ("added", "changed", "removed")},
        "changes_shown": CARD_LIST,
        "row_changes": [(name, r["change"]) for name, r in changes["rows"].items() if r["change"]],
        "notes": list(ctx["notes"]),
    }


def data_card(ctx: dict) -> str:
    """The release's README.md, from pipeline/templates/data_card.md.j2."""
    return templates().get_template(CARD_TEMPLATE).render(card_values(ctx))
