"""Cutting releases from the hand-made corpus of test_stats.py, in tmp_path: the layout of
/work/briefs/layout.md, a folder of Parquet parts per table, JSON Lines and CoNLL-U parts beside
them, and the metadata files. Incremental cuts (parts linked from the previous release) are in
test_incremental_release.py."""
from __future__ import annotations

import datetime
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import schemas
from pipeline.lib.release import cut as release_lib
from pipeline.lib.release.cut import (JSONL_TABLES, PER_DOCUMENT, cut_release, latest_release, next_version,
                                      read_table, table_paths)
from pipeline.lib.release.card import CROISSANT_CONFORMS_TO
from pipeline.lib.release.stats import STATS_SCHEMAS, compute_statistics, summarise
from test_stats import NOTE, REPORT, RESOLUTION, corpus_tables

DAY = datetime.date(2024, 5, 1)
CODE = {"package": "0.1.0", "git_commit": "0123abc", "tokenizer": "jieba 0.42.1"}
NOTES = ["A/74/759: the sidecar declares A/74/759, the text gives none"]
CHECK_RELEASE = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_release.py"
ALL_TABLES = [*schemas.TABLES, *STATS_SCHEMAS]


def inputs_for(tables) -> list[dict]:
    docs = tables["documents"]
    return [{"source_file": f, "sha256": s, "bytes": b} for f, s, b in zip(
        *(docs.column(c).to_pylist() for c in ("source_file", "source_sha256", "source_bytes")))]


def cut(data_dir: Path, tables=None, today=DAY, notes=NOTES, **options):
    tables = tables if tables is not None else corpus_tables()
    stats = compute_statistics(tables)
    return cut_release(data_dir, tables, stats, summarise(tables, stats), inputs=inputs_for(tables),
                       notes=notes, code_version=CODE, today=today, **options)


def parquet_part(table: str, number: int = 0) -> str:
    return f"{table}/part-{number:05d}.parquet"


def jsonl_part(table: str, number: int = 0) -> str:
    return f"jsonl/{table}/part-{number:05d}.jsonl"


def jsonl_rows(release: Path, table: str) -> list[dict]:
    """A table's rows from its JSON Lines parts, in part order."""
    return [json.loads(line) for path in sorted((release / "jsonl" / table).glob("part-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    result = cut(data_dir)
    release_lib.archive_release(data_dir, result.version)
    return data_dir, result


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_release_layout_and_latest(built):
    data_dir, result = built
    assert result.created and result.version == "v2024.05.01"
    assert (data_dir / "LATEST").read_text().strip() == result.version
    assert latest_release(data_dir) == data_dir / "releases" / result.version
    names = set(files_of(result.path))
    for name in ALL_TABLES:
        # A folder per table, holding its Parquet parts and nothing else (readers load a folder).
        assert parquet_part(name) in names, name
        assert {n for n in names if n.startswith(f"{name}/")} == {p.relative_to(result.path).as_posix()
                                                                 for p in table_paths(result.path, name)}
        assert all(re.fullmatch(rf"{name}/part-\d{{5}}\.parquet", n) for n in names if n.startswith(f"{name}/"))
    # No table is left in the flat layout.
    assert not [n for n in names if "/" not in n and n.endswith((".parquet", ".jsonl", ".conllu"))]
    assert {jsonl_part(name) for name in ("documents", "paragraphs", "sentences", "entities", "entity_catalog",
                                          "document_status", "quarantine")} <= names
    assert {"conllu/part-00000.conllu", "statistics.json", "manifest.json", "datapackage.json", "croissant.json",
            "README.md", "CHANGES.json"} <= names
    # An empty table still has its part, with the table's schema.
    assert pq.read_schema(result.path / parquet_part("stats_countries")).names == STATS_SCHEMAS["stats_countries"].names
    # No temporary leftovers beside the release.
    assert not [p for p in (data_dir / "releases").iterdir()
                if p.name.startswith((release_lib.TEMP_PREFIX, release_lib.ARCHIVE_TEMP_PREFIX))]


@pytest.mark.skipif(not CHECK_RELEASE.exists(), reason="shared/tools/check_release.py is not beside the repo")
def test_check_release_accepts_it(built):
    data_dir, _ = built
    run = subprocess.run([sys.executable, str(CHECK_RELEASE), str(data_dir)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "contract holds" in run.stdout


def test_manifest_lists_every_file_with_checksums(built):
    _, result = built
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == result.version
    assert manifest["content_hash"] == result.content_hash
    assert manifest["code_version"] == CODE
    assert {i["source_file"] for i in manifest["inputs"]} == {"000_9d28c16df01d42a8.txt", "001_5d5ca6e1adb1dee0.txt"}
    on_disk = files_of(result.path)
    assert set(manifest["files"]) == set(on_disk) - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(on_disk[name]).hexdigest()
        assert entry["bytes"] == len(on_disk[name])
    assert manifest["name"] == "unparl" and manifest["release_date"] == DAY.isoformat()
    assert manifest["previous_version"] is None
    assert manifest["files"][parquet_part("tokens")]["rows"] == manifest["tables"]["tokens"] > 0
    # Every data part names its table, format and rows; a table's rows are the sum over its parts,
    # and its JSON Lines part holds the rows of its Parquet part.
    data = {name: entry for name, entry in manifest["files"].items() if name.endswith((".parquet", ".jsonl", ".conllu"))}
    for name, entry in data.items():
        assert entry["format"] == name.rsplit(".", 1)[1], name
        if entry["format"] == "parquet":
            assert entry["rows"] == pq.read_metadata(result.path / name).num_rows, name
        elif entry["format"] == "jsonl":
            assert entry["rows"] == len(on_disk[name].splitlines()), name
            assert entry["rows"] == manifest["files"][parquet_part(entry["table"], int(name[-11:-6]))]["rows"]
    for table in ALL_TABLES:
        parts = [e["rows"] for e in data.values() if e["table"] == table and e["format"] == "parquet"]
        assert sum(parts) == manifest["tables"][table], table
    assert manifest["files"]["conllu/part-00000.conllu"]["rows"] == manifest["tables"]["sentences"]
    # The parts of the per-document tables list their documents, each document in one part.
    documents = read_table(result.path, "documents").column("doc_id").to_pylist()
    listed = [d for part in manifest["parts"] for d in part["documents"]]
    assert sorted(listed) == sorted(documents) and len(set(listed)) == len(listed)


def test_parquet_files_are_described_sorted_zstd_and_unversioned(built):
    _, result = built
    for name, schema in {**schemas.TABLES, **STATS_SCHEMAS}.items():
        paths = table_paths(result.path, name)
        assert paths, name
        for path in paths:
            file = pq.ParquetFile(path)
            meta = file.schema_arrow.metadata
            assert meta[b"unparl:table"] == name.encode() and meta[b"unparl:description"]
            # Neither the version nor the date: the part's sha256 is a key of its content.
            assert b"unparl:version" not in meta
            assert result.version.encode() not in path.read_bytes()
            assert DAY.isoformat().encode() not in path.read_bytes()
            assert file.schema_arrow.names == schema.names, name
            for field in file.schema_arrow:
                assert field.metadata and field.metadata.get(b"description"), f"{name}.{field.name}"
            if file.metadata.num_row_groups:
                assert file.metadata.row_group(0).column(0).compression == "ZSTD"
    paragraphs = read_table(result.path, "paragraphs")
    assert str(paragraphs.schema.field("kind").type).startswith("dictionary")
    keys = list(zip(paragraphs.column("doc_id").to_pylist(), paragraphs.column("seq").to_pylist()))
    assert keys == sorted(keys)
    tokens = read_table(result.path, "tokens")
    keys = list(zip(*(tokens.column(c).to_pylist() for c in schemas.SORT_KEYS["tokens"])))
    assert keys == sorted(keys)


def test_jsonl_is_utf8_one_object_a_line(built):
    _, result = built
    for name in ("documents", "paragraphs", "entities"):
        text = (result.path / jsonl_part(name)).read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) == pq.read_metadata(result.path / parquet_part(name)).num_rows
        assert "\\u" not in text and "联合国" in text
    paragraph = json.loads((result.path / jsonl_part("paragraphs")).read_text(encoding="utf-8").splitlines()[0])
    assert list(paragraph) == schemas.PARAGRAPHS.names
    # The JSON Lines parts hold the Parquet parts' rows, in the same order.
    for name in ("paragraphs", "sentences", "entity_catalog", "quarantine"):
        parquet = json.loads(release_lib.storage.dumps_json(
            release_lib._plain_strings(read_table(result.path, name)).to_pylist()))
        assert jsonl_rows(result.path, name) == parquet, name


def test_a_table_is_read_across_its_parts_and_a_missing_one_is_named(built):
    _, result = built
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    for name in ALL_TABLES:
        assert release_lib.table_rows(result.path, name) == read_table(result.path, name).num_rows \
            == manifest["tables"][name], name
    assert read_table(result.path, "documents", ["doc_id"]).column_names == ["doc_id"]
    with pytest.raises(FileNotFoundError, match="has no table 'speeches'"):
        read_table(result.path, "speeches")


def test_a_release_without_documents_still_has_every_table(tmp_path):
    """Only a quarantined file: every table has its part-00000 (no rows, the table's schema), the
    per-document tables one empty part, and the release passes its checks."""
    result = cut(tmp_path, corpus_tables(specs=()))
    assert result.created and all(passed for passed, _ in result.checks.values())
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parts"] == [{"part": "part-00000", "documents": [], "fingerprint": None}]
    for name in ALL_TABLES:
        schema = pq.read_schema(result.path / parquet_part(name))
        assert schema.names == {**schemas.TABLES, **STATS_SCHEMAS}[name].names, name
    for name in PER_DOCUMENT:
        assert manifest["tables"][name] == 0 == pq.read_metadata(result.path / parquet_part(name)).num_rows, name
    assert (result.path / jsonl_part("documents")).read_bytes() == b""
    assert (result.path / "conllu/part-00000.conllu").is_file()
    assert manifest["tables"]["quarantine"] == 1


def test_release_says_where_every_document_stands(built):
    _, result = built
    status = read_table(result.path, "document_status").to_pylist()
    lines = jsonl_rows(result.path, "document_status")
    assert lines == status
    by_doc = {row["doc_id"]: row for row in status}
    assert by_doc["broken"]["status"] == "quarantined" and by_doc["broken"]["reason"] == "binary"
    documents = read_table(result.path, "documents").to_pylist()
    for doc in documents:
        assert by_doc[doc["doc_id"]]["status"] == "ok"
        assert by_doc[doc["doc_id"]]["n_tokens"] == doc["n_tokens"] > 0
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["document_status"] == len(documents) + 1


def test_frictionless_accepts_the_data_package(built):
    frictionless = pytest.importorskip("frictionless")
    _, result = built
    package = json.loads((result.path / "datapackage.json").read_text(encoding="utf-8"))
    # A resource's path is a file, or the list of a table's parts.
    described = {path for r in package["resources"]
                 for path in (r["path"] if isinstance(r["path"], list) else [r["path"]])}
    assert {p for p in files_of(result.path) if p.endswith((".parquet", ".jsonl", ".conllu", ".svg"))} <= described
    assert package["licenses"][0]["name"] == "CC-BY-4.0" and package["sources"]
    cwd = os.getcwd()
    os.chdir(result.path)
    try:
        report = frictionless.validate("datapackage.json")
    finally:
        os.chdir(cwd)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:20]


def test_croissant_has_the_fields_the_spec_requires(built):
    _, result = built
    meta = json.loads((result.path / "croissant.json").read_text(encoding="utf-8"))
    assert meta["@type"] == "sc:Dataset" and meta["conformsTo"] == CROISSANT_CONFORMS_TO
    assert CROISSANT_CONFORMS_TO.startswith("http://mlcommons.org/croissant/")
    for key in ("name", "description", "license", "citeAs", "datePublished", "version", "distribution", "recordSet"):
        assert meta.get(key), key
    # Each table's Parquet parts are one FileSet (its folder), so every part is in exactly one;
    # a single file is a FileObject with its sha256.
    sets = {d["@id"]: d["includes"] for d in meta["distribution"] if d["@type"] == "cr:FileSet"}
    for distribution in meta["distribution"]:
        assert distribution["@type"] in ("cr:FileSet", "cr:FileObject")
        if distribution["@type"] == "cr:FileObject":
            assert len(distribution["sha256"]) == 64
    for path in (p for p in files_of(result.path) if p.endswith(".parquet")):
        holding = [i for i, pattern in sets.items() if fnmatch.fnmatch(path, pattern)]
        assert holding == [f"{path.split('/')[0]}-parquet"], path
    for record_set in meta["recordSet"]:
        for field in record_set["field"]:
            # A struct column is described by its members, each with a type and source of its own.
            for typed in field.get("subField") or [field]:
                assert typed["dataType"].startswith("sc:"), typed["@id"]
                assert typed["source"]["extract"]["column"] == field["name"], typed["@id"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib.*")
@pytest.mark.filterwarnings("ignore:.*inplace keyword.*")
def test_mlcroissant_loads_the_records(built):
    mlc = pytest.importorskip("mlcroissant")
    _, result = built
    dataset = mlc.Dataset(jsonld=str(result.path / "croissant.json"))
    documents = list(dataset.records(record_set="documents"))
    assert len(documents) == 2
    goals = list(dataset.records(record_set="stats_sdgs"))
    assert len(goals) == 17


def test_same_inputs_give_byte_identical_releases(tmp_path):
    first = cut(tmp_path / "one")
    second = cut(tmp_path / "two")
    a, b = files_of(first.path), files_of(second.path)
    assert a.keys() == b.keys()
    differing = [name for name in a if a[name] != b[name]]
    assert not differing
    one, _ = release_lib.archive_release(tmp_path / "one", first.version)
    two, _ = release_lib.archive_release(tmp_path / "two", second.version)
    assert one.name == two.name == f"unparl-{first.version}.zip"
    assert one.read_bytes() == two.read_bytes()
    assert first.content_hash == second.content_hash


def test_input_order_does_not_change_the_bytes(tmp_path):
    tables = corpus_tables()
    shuffled = {name: t.take(list(reversed(range(t.num_rows)))) for name, t in tables.items()}
    a = cut(tmp_path / "a", tables)
    b = cut(tmp_path / "b", shuffled)
    assert a.content_hash == b.content_hash
    data_files = [name for name in files_of(a.path) if release_lib.is_content_file(name)]
    assert parquet_part("documents") in data_files and jsonl_part("documents") in data_files
    for file in data_files:
        assert (a.path / file).read_bytes() == (b.path / file).read_bytes(), file


def test_nothing_new_cuts_no_release(tmp_path):
    first = cut(tmp_path)
    again = cut(tmp_path, today=DAY + datetime.timedelta(days=3), notes=["another note"])
    assert not again.created
    assert again.version == first.version and again.content_hash == first.content_hash
    assert [p.name for p in (tmp_path / "releases").iterdir() if p.is_dir()] == [first.version]


def test_a_release_failing_its_checks_is_not_published(tmp_path):
    first = cut(tmp_path)
    # A third document claiming the report's symbol, its ids not rewritten: para_ids repeat.
    clash = {**NOTE, "symbol": REPORT["symbol"]}
    bad = cut(tmp_path, corpus_tables(specs=(REPORT, RESOLUTION, clash)))
    assert not bad.created and bad.version is None and bad.path is None
    assert "not published" in bad.reason
    failed = [name for name, (passed, _) in bad.checks.items() if not passed]
    assert failed == ["ids_unique"]
    assert "A/74/759:p1" in bad.checks["ids_unique"][1]["repeated"]["para_id"]
    # LATEST still names the good release, and nothing of the bad one is left, hidden or not.
    assert (tmp_path / "LATEST").read_text().strip() == first.version
    assert [p.name for p in (tmp_path / "releases").iterdir() if not p.name.startswith(".")] == [first.version]
    assert not [p for p in (tmp_path / "releases").iterdir() if p.name.startswith(release_lib.TEMP_PREFIX)]
    assert first.checks and all(passed for passed, _ in first.checks.values())


def test_versions_sort_by_time_with_a_suffix_on_the_same_day(tmp_path):
    first = cut(tmp_path)
    second = cut(tmp_path, corpus_tables(specs=(REPORT, RESOLUTION, NOTE)))
    third = cut(tmp_path, corpus_tables(specs=(REPORT, NOTE)))
    fourth = cut(tmp_path, corpus_tables(), today=DAY + datetime.timedelta(days=1))
    assert [r.version for r in (first, second, third, fourth)] == [
        "v2024.05.01", "v2024.05.01.2", "v2024.05.01.3", "v2024.05.02"]
    assert release_lib.list_releases(tmp_path) == [r.version for r in (first, second, third, fourth)]
    assert (tmp_path / "LATEST").read_text().strip() == "v2024.05.02"
    assert (tmp_path / "releases" / "v2024.05.01" / "manifest.json").exists()  # older ones stay


@pytest.mark.parametrize("existing, today, expected", [
    ([], datetime.date(2024, 1, 9), "v2024.01.09"),
    (["v2024.01.09"], datetime.date(2024, 1, 9), "v2024.01.09.2"),
    (["v2024.01.09", "v2024.01.09.2", "v2024.01.09.10"], datetime.date(2024, 1, 9), "v2024.01.09.11"),
    (["v2024.01.09"], datetime.date(2024, 1, 10), "v2024.01.10"),
    # A clock set back still gives a version after the newest one.
    (["v2024.03.01"], datetime.date(2024, 1, 10), "v2024.03.01.2"),
])
def test_next_version(existing, today, expected):
    assert next_version(existing, today) == expected


def test_changes_list_added_changed_and_removed_documents(tmp_path):
    cut(tmp_path)
    result = cut(tmp_path, corpus_tables(specs=(RESOLUTION, NOTE), sha={"001_5d5ca6e1adb1dee0": "e" * 64}))
    changes = json.loads((result.path / "CHANGES.json").read_text(encoding="utf-8"))
    assert changes == result.changes
    assert changes["previous_version"] == "v2024.05.01"
    assert [d["doc_id"] for d in changes["documents"]["added"]] == ["002_note"]
    assert [d["doc_id"] for d in changes["documents"]["removed"]] == ["000_9d28c16df01d42a8"]
    changed = changes["documents"]["changed"]
    assert [d["doc_id"] for d in changed] == ["001_5d5ca6e1adb1dee0"]
    assert changed[0]["source_sha256_before"] == "b" * 64 and changed[0]["source_sha256"] == "e" * 64
    assert changes["rows"]["documents"] == {"before": 2, "after": 2, "change": 0}
    assert changes["rows"]["paragraphs"]["change"] == 1 - len(REPORT["paragraphs"])
    readme = (result.path / "README.md").read_text(encoding="utf-8")
    assert "added: `002_note`" in readme and "removed: `000_9d28c16df01d42a8`" in readme


def test_readme_is_a_data_card_and_its_snippets_run(built, capsys):
    _, result = built
    readme = (result.path / "README.md").read_text(encoding="utf-8")
    for heading in ("## What is inside", "## How it was made", "## Tables", "## Known limits", "## Licence",
                    "## How to cite", "## How to load it", "## Fetch and verify", "## Release notes"):
        assert heading in readme
    assert "CC BY 4.0" in readme and "terms of use" in readme and result.version in readme
    assert "raw documents → cleaned text → structure" in readme
    assert NOTES[0] in readme
    for chart in ("top_entities", "countries", "sdgs", "operative_verbs"):
        assert f"(charts/{chart}.svg)" in readme
    snippets = [code for code in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
                if "from datasets" not in code]  # Hugging Face datasets: test_release_metadata.py
    assert len(snippets) == 3
    for code in snippets:
        assert "import polars" in code or "import duckdb" in code or "import pandas" in code
        code = re.sub(r'^release = ".*"$', f"release = {str(result.path)!r}", code, flags=re.M)
        exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "GEO" in printed and "org:ipu" in printed and "A/RES/74/303" in printed


def test_archive_is_deterministic_and_verified_by_its_checksum(built, tmp_path):
    data_dir, result = built
    archive = data_dir / "releases" / f"unparl-{result.version}.zip"
    line = (data_dir / "releases" / f"{archive.name}.sha256").read_text()
    assert line == f"{hashlib.sha256(archive.read_bytes()).hexdigest()}  {archive.name}\n"
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        members = zf.infolist()
        names = [m.filename for m in members]
        assert names == sorted(names)
        assert all(n.startswith(f"unparl-{result.version}/") for n in names)
        assert all(m.date_time == (1980, 1, 1, 0, 0, 0) and m.external_attr == 0o644 << 16 for m in members)
        zf.extractall(tmp_path)
    assert files_of(tmp_path / f"unparl-{result.version}") == files_of(result.path)


def _folder_to_archive(root: Path) -> Path:
    """A small release-like folder: Parquet, charts, JSON Lines, Markdown, JSON, CSV and CoNLL-U."""
    import random

    rng = random.Random(7)
    (root / "charts").mkdir(parents=True)
    pq.write_table(pa.table({"text": ["联合国议会"] * 500, "n": list(range(500))}), root / "tokens.parquet",
                   compression="zstd")
    for i in range(3):
        (root / "charts" / f"c{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.randbytes(3000))
    (root / "paragraphs.jsonl").write_text("".join('{"text": "联合国议会各国"}\n' for _ in range(400)), "utf-8")
    (root / "README.md").write_text("# unparl\n\n" + "各国议会联盟。\n" * 200, "utf-8")
    (root / "statistics.json").write_text('{"corpus": {"documents": 2}}\n' * 50, "utf-8")
    (root / "counts.csv").write_text("name,count\n" + "议会,3\n" * 300, "utf-8")
    (root / "tokens.conllu").write_text("1\t联合国\t_\tNT\n" * 300, "utf-8")
    return root


def test_archive_round_trips_and_stores_what_is_compressed_already(tmp_path):
    folder = _folder_to_archive(tmp_path / "release")
    target = tmp_path / "a.zip"
    digest = release_lib.write_archive(folder, target, "unparl-v1")
    assert digest == hashlib.sha256(target.read_bytes()).hexdigest()
    with zipfile.ZipFile(target) as zf:
        assert zf.testzip() is None  # every member's CRC checks
        members = {m.filename: m for m in zf.infolist()}
        expected = files_of(folder)
        assert list(members) == sorted(f"unparl-v1/{name}" for name in expected)
        for name, data in expected.items():
            assert zf.read(f"unparl-v1/{name}") == data, name
        for name, member in members.items():
            stored = name.endswith((".parquet", ".png"))
            assert member.compress_type == (zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED), name
            assert member.date_time == (1980, 1, 1, 0, 0, 0) and member.external_attr == 0o644 << 16
            if not stored:
                assert member.compress_size < member.file_size, name
    # The command-line tools read it too, where they are installed.
    listed = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(target)], capture_output=True, text=True,
                            check=True)
    assert "unparl-v1/tokens.parquet" in listed.stdout


def test_two_archives_of_one_folder_are_byte_identical(tmp_path):
    folder = _folder_to_archive(tmp_path / "release")
    first = release_lib.write_archive(folder, tmp_path / "one.zip", "unparl-v1")
    os.utime(folder / "README.md", (0, 0))  # times and the order files were made in do not count
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in sorted(files_of(folder), reverse=True):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((folder / name).read_bytes())
    second = release_lib.write_archive(copy, tmp_path / "two.zip", "unparl-v1")
    assert first == second
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_charts_exist_and_carry_their_chinese_labels(built):
    import xml.etree.ElementTree as ET

    _, result = built
    for chart in ("top_entities", "countries", "sdgs", "operative_verbs"):
        text = (result.path / "charts" / f"{chart}.svg").read_text(encoding="utf-8")
        root = ET.fromstring(text)  # well-formed SVG
        assert root.tag.endswith("svg"), chart
        labels = "".join(root.itertext())
        assert re.search(r"[\u4e00-\u9fff]", labels), chart  # Chinese text, not boxes or escapes
        assert result.version not in text  # drawn from the data alone
    sdgs = "".join(ET.fromstring((result.path / "charts" / "sdgs.svg").read_text(encoding="utf-8")).itertext())
    assert "可持续发展目标" in sdgs


def test_a_killed_writer_leaves_nothing_visible(tmp_path, monkeypatch):
    first = cut(tmp_path)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while drawing")

    monkeypatch.setattr(release_lib, "draw_charts", crash)
    with pytest.raises(KeyboardInterrupt):
        cut(tmp_path, corpus_tables(specs=(REPORT, RESOLUTION, NOTE)))
    monkeypatch.undo()
    visible = [p.name for p in (tmp_path / "releases").iterdir() if not p.name.startswith(".")]
    assert visible == [first.version]
    assert not [p for p in (tmp_path / "releases").iterdir() if p.name.startswith(release_lib.TEMP_PREFIX)]
    assert (tmp_path / "LATEST").read_text().strip() == first.version
    # A writer killed by SIGKILL cannot clean up: its hidden folder goes at the next run.
    stale = tmp_path / "releases" / ".build-v2024.05.01.2-dead"
    stale.mkdir()
    (stale / "documents").mkdir()
    (stale / parquet_part("documents")).write_bytes(b"partial")
    # Another writer's temporary file in data_dir is not ours to remove.
    foreign = tmp_path / ".documents.parquet.x1y2.tmp"
    foreign.write_bytes(b"in flight")
    second = cut(tmp_path, corpus_tables(specs=(REPORT, RESOLUTION, NOTE)))
    assert second.created and second.version == "v2024.05.01.2"
    assert not stale.exists()
    assert foreign.exists()


def test_concurrent_builders_take_turns(tmp_path):
    results, errors = [], []
    specs = [(REPORT, RESOLUTION), (REPORT, RESOLUTION, NOTE)]
    prepared = [corpus_tables(specs=s) for s in specs]

    def build(tables):
        try:
            results.append(cut(tmp_path, tables))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=build, args=(t,)) for t in prepared]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(r.version for r in results) == ["v2024.05.01", "v2024.05.01.2"]
    latest = latest_release(tmp_path)
    assert latest is not None and latest.name == "v2024.05.01.2"
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    assert all((latest / name).exists() for name in manifest["files"])


# --- the content hash ------------------------------------------------------------------------

def test_content_hash_is_the_hash_of_the_data_files_in_the_manifest(built):
    _, result = built
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    covered = sorted(name for name in manifest["files"] if release_lib.is_content_file(name))
    # Every table's parts, Parquet, JSON Lines and CoNLL-U, and statistics.json.
    assert covered == sorted([parquet_part(name) for name in ALL_TABLES]
                             + [jsonl_part(name) for name in JSONL_TABLES]
                             + ["conllu/part-00000.conllu", "statistics.json"])
    lines = "".join(f"{name}\0{manifest['files'][name]['sha256']}\n" for name in covered)
    assert result.content_hash == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert release_lib.manifest_content_hash(manifest) == manifest["content_hash"] == result.content_hash
    # What names the version or the date stays out of it.
    for name in ("README.md", "CHANGES.json", "datapackage.json", "croissant.json", "manifest.json",
                 "charts/sdgs.svg"):
        assert not release_lib.is_content_file(name), name


def _one_row_changed(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    paragraphs = tables["paragraphs"]
    text = paragraphs.column("text").to_pylist()
    text[-1] = text[-1] + "。"
    index = paragraphs.schema.get_field_index("text")
    changed = paragraphs.set_column(index, paragraphs.schema.field(index), pa.array(text, paragraphs.schema.field(index).type))
    return {**tables, "paragraphs": changed}


def test_content_hash_is_equal_for_equal_cuts_and_differs_with_one_row(tmp_path):
    first = cut(tmp_path / "one")
    # Another day, so another version and date: the data files and the hash stay the same.
    second = cut(tmp_path / "two", today=DAY + datetime.timedelta(days=9), notes=[])
    assert first.version != second.version
    assert first.content_hash == second.content_hash
    data_files = [name for name in files_of(first.path) if release_lib.is_content_file(name)]
    assert len(data_files) > len(ALL_TABLES)
    for name in data_files:
        assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), name
    changed = cut(tmp_path / "one", _one_row_changed(corpus_tables()))
    assert changed.created and changed.content_hash != first.content_hash
    before = json.loads((first.path / "manifest.json").read_text(encoding="utf-8"))["files"]
    after = json.loads((changed.path / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert set(before) == set(after)
    differing = sorted(n for n in before if release_lib.is_content_file(n) and before[n]["sha256"] != after[n]["sha256"])
    assert parquet_part("paragraphs") in differing and jsonl_part("paragraphs") in differing
    # A part whose rows did not change keeps its bytes, even when written anew.
    assert parquet_part("documents") not in differing and parquet_part("tokens") not in differing


def test_an_unchanged_part_keeps_its_bytes_and_is_a_hard_link(tmp_path, monkeypatch):
    """One document a part (part_rows=1): after one paragraph of one document changes, the other
    document's part files are the previous release's files (same inode), the changed one's new."""
    # The writer's code files are the same through the test (an edit to them rewrites every part).
    monkeypatch.setattr(release_lib, "writer_version", lambda: "writer 1")
    tables = corpus_tables()
    fingerprints = {d: f"fp-{d}" for d in tables["documents"].column("doc_id").to_pylist()}
    first = cut(tmp_path, tables, fingerprints=fingerprints, part_rows=1)
    assert first.parts_written == 2 and first.parts_linked == 0
    changed_doc = tables["paragraphs"].column("doc_id")[-1].as_py()
    second = cut(tmp_path, _one_row_changed(tables), fingerprints={**fingerprints, changed_doc: "fp-edited"},
                 part_rows=1)
    assert second.created and second.parts_written == 1 and second.parts_linked == 1
    layout = {p["part"]: p["documents"] for p in
              json.loads((second.path / "manifest.json").read_text(encoding="utf-8"))["parts"]}
    assert sorted(layout) == ["part-00000", "part-00001"]
    kept = next(int(name[-5:]) for name, docs in layout.items() if changed_doc not in docs)
    changed = next(int(name[-5:]) for name, docs in layout.items() if changed_doc in docs)
    kept_files = ([parquet_part(t, kept) for t in PER_DOCUMENT] + [jsonl_part(t, kept) for t in PER_DOCUMENT
                                                                   if t in JSONL_TABLES]
                  + [f"conllu/part-{kept:05d}.conllu"])
    for name in kept_files:
        old, new = first.path / name, second.path / name
        assert new.read_bytes() == old.read_bytes(), name
        assert os.stat(new).st_ino == os.stat(old).st_ino, name
    assert os.stat(second.path / parquet_part("paragraphs", changed)).st_ino != \
        os.stat(first.path / parquet_part("paragraphs", changed)).st_ino
    assert (second.path / parquet_part("paragraphs", changed)).read_bytes() != \
        (first.path / parquet_part("paragraphs", changed)).read_bytes()
    assert read_table(second.path, "paragraphs").num_rows == read_table(first.path, "paragraphs").num_rows
    assert second.checks and all(passed for passed, _ in second.checks.values())


class _Streamed:
    """A table handed over a batch at a time, as corpus.DocumentTable does."""

    def __init__(self, table: pa.Table, size: int) -> None:
        self.table, self.size, self.num_rows = table, size, table.num_rows

    def batches(self):
        for start in range(0, self.table.num_rows, self.size):
            yield self.table.slice(start, self.size)


def test_parquet_bytes_do_not_depend_on_how_rows_arrive(tmp_path, monkeypatch):
    monkeypatch.setattr(release_lib, "ROW_GROUP_ROWS", 7)
    n = 120
    schema = pa.schema([
        pa.field("doc_id", pa.dictionary(pa.int32(), pa.string())),
        pa.field("text", pa.large_string()),
        pa.field("seq", pa.int64()),
    ])
    table = pa.table({
        "doc_id": pa.array([f"d{i // 30}" for i in range(n)]).dictionary_encode(),
        "text": pa.array([None if i % 11 == 0 else "文" * (i % 5) for i in range(n)], pa.large_string()),
        "seq": pa.array(range(n), pa.int64()),
    }, schema=schema)
    meta = {"unparl:table": "t", "unparl:description": "a test table"}
    whole = release_lib.canonical_table(table, schema, ["doc_id", "seq"])
    expected, rows = release_lib._write_table(tmp_path / "whole.parquet", whole, schema, ["doc_id", "seq"], meta,
                                              jsonl=tmp_path / "whole.jsonl")
    assert rows == n and pq.ParquetFile(tmp_path / "whole.parquet").metadata.num_row_groups == -(-n // 7)
    for size in (1, 5, 13, 30, 50, n):
        folder = tmp_path / f"s{size}"
        folder.mkdir()
        hashes, rows = release_lib._write_table(folder / "whole.parquet", _Streamed(table, size), schema,
                                                ["doc_id", "seq"], meta, jsonl=folder / "whole.jsonl")
        assert rows == n and {p.name: h for p, h in hashes.items()} == {p.name: h for p, h in expected.items()}, size
        assert (folder / "whole.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes(), size
    assert expected == {tmp_path / name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
                        for name in ("whole.parquet", "whole.jsonl")}
    assert read_table(tmp_path, "whole").to_pylist() == whole.to_pylist()


def test_an_empty_table_is_written_with_its_schema_and_no_row_group(tmp_path):
    """Readers that size their batches from the first row group (Hugging Face datasets) fail on
    an empty one, so an empty table is its schema alone, whichever way it arrives."""
    schema = schemas.TABLES["quarantine"]
    hashes, rows = release_lib._write_table(tmp_path / "q.parquet", _Streamed(schema.empty_table(), 10), schema,
                                            None, {"unparl:table": "quarantine"})
    same, _ = release_lib._write_table(tmp_path / "r.parquet", schema.empty_table(), schema, None,
                                       {"unparl:table": "quarantine"})
    assert rows == 0 and hashes[tmp_path / "q.parquet"] == same[tmp_path / "r.parquet"]
    empty = pq.ParquetFile(tmp_path / "q.parquet")
    assert empty.metadata.num_row_groups == 0 and empty.metadata.num_rows == 0
    assert empty.schema_arrow.names == schema.names
    assert empty.schema_arrow.metadata[b"unparl:table"] == b"quarantine"


# The data card's own tests (its golden files, escaping, front matter): tests/test_release_metadata.py.
