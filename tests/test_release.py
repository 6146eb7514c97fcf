"""Cutting releases from the hand-made corpus of test_stats.py, in tmp_path."""
from __future__ import annotations

import datetime
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
from pipeline.lib.release.cut import cut_release, latest_release, next_version
from pipeline.lib.release.card import data_card
from pipeline.lib.release.charts import cjk_font_path
from pipeline.lib.release.stats import STATS_SCHEMAS, compute_statistics, summarise
from test_stats import NOTE, REPORT, RESOLUTION, corpus_tables

DAY = datetime.date(2024, 5, 1)
CODE = {"package": "0.1.0", "git_commit": "0123abc", "tokenizer": "jieba 0.42.1"}
NOTES = ["A/74/759: the sidecar declares A/74/759, the text gives none"]
CHECK_RELEASE = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_release.py"
GOLD = Path(__file__).resolve().parent / "gold"


def inputs_for(tables) -> list[dict]:
    docs = tables["documents"]
    return [{"source_file": f, "sha256": s, "bytes": b} for f, s, b in zip(
        *(docs.column(c).to_pylist() for c in ("source_file", "source_sha256", "source_bytes")))]


def cut(data_dir: Path, tables=None, today=DAY, notes=NOTES):
    tables = tables if tables is not None else corpus_tables()
    stats = compute_statistics(tables)
    return cut_release(data_dir, tables, stats, summarise(tables, stats), inputs=inputs_for(tables),
                       notes=notes, code_version=CODE, today=today)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    result = cut(data_dir)
    return data_dir, result


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_release_layout_and_latest(built):
    data_dir, result = built
    assert result.created and result.version == "v2024.05.01"
    assert (data_dir / "LATEST").read_text().strip() == result.version
    assert latest_release(data_dir) == data_dir / "releases" / result.version
    names = set(files_of(result.path))
    for name in [*schemas.TABLES, *STATS_SCHEMAS]:
        assert f"{name}.parquet" in names
    assert {"documents.jsonl", "paragraphs.jsonl", "entities.jsonl", "statistics.json", "manifest.json",
            "datapackage.json", "croissant.json", "README.md", "CHANGES.json"} <= names
    # No temporary leftovers beside the release.
    assert not [p for p in (data_dir / "releases").iterdir() if p.name.startswith(".")]


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
    assert manifest["files"]["tokens.parquet"]["rows"] == manifest["tables"]["tokens"] > 0


def test_parquet_files_are_described_sorted_zstd_and_unversioned(built):
    _, result = built
    for name, schema in {**schemas.TABLES, **STATS_SCHEMAS}.items():
        file = pq.ParquetFile(result.path / f"{name}.parquet")
        meta = file.schema_arrow.metadata
        assert meta[b"unparl:table"] == name.encode() and meta[b"unparl:description"]
        # Neither the version nor the date: the file's sha256 is a key of its content.
        assert b"unparl:version" not in meta
        assert result.version.encode() not in (result.path / f"{name}.parquet").read_bytes()
        for field in file.schema_arrow:
            assert field.metadata and field.metadata.get(b"description"), f"{name}.{field.name}"
        assert file.metadata.row_group(0).column(0).compression == "ZSTD" if file.metadata.num_row_groups else True
    paragraphs = pq.read_table(result.path / "paragraphs.parquet")
    assert str(paragraphs.schema.field("kind").type).startswith("dictionary")
    keys = list(zip(paragraphs.column("doc_id").to_pylist(), paragraphs.column("seq").to_pylist()))
    assert keys == sorted(keys)
    tokens = pq.read_table(result.path / "tokens.parquet")
    keys = list(zip(*(tokens.column(c).to_pylist() for c in schemas.SORT_KEYS["tokens"])))
    assert keys == sorted(keys)


def test_jsonl_is_utf8_one_object_a_line(built):
    _, result = built
    for name in ("documents", "paragraphs", "entities"):
        text = (result.path / f"{name}.jsonl").read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) == pq.read_metadata(result.path / f"{name}.parquet").num_rows
        assert "\\u" not in text and "联合国" in text
    paragraph = json.loads((result.path / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert list(paragraph) == schemas.PARAGRAPHS.names


def test_release_says_where_every_document_stands(built):
    _, result = built
    status = pq.read_table(result.path / "document_status.parquet").to_pylist()
    lines = [json.loads(line) for line in
             (result.path / "document_status.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines == status
    by_doc = {row["doc_id"]: row for row in status}
    assert by_doc["broken"]["status"] == "quarantined" and by_doc["broken"]["reason"] == "binary"
    documents = pq.read_table(result.path / "documents.parquet").to_pylist()
    for doc in documents:
        assert by_doc[doc["doc_id"]]["status"] == "ok"
        assert by_doc[doc["doc_id"]]["n_tokens"] == doc["n_tokens"] > 0
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["document_status"] == len(documents) + 1


def test_frictionless_accepts_the_data_package(built):
    frictionless = pytest.importorskip("frictionless")
    _, result = built
    package = json.loads((result.path / "datapackage.json").read_text(encoding="utf-8"))
    described = {r["path"] for r in package["resources"]}
    assert {p for p in files_of(result.path) if p.endswith((".parquet", ".jsonl", ".png"))} <= described
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
    assert meta["@type"] == "sc:Dataset" and meta["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    for key in ("name", "description", "license", "citeAs", "datePublished", "version", "distribution", "recordSet"):
        assert meta.get(key), key
    parquet = {p for p in files_of(result.path) if p.endswith(".parquet")}
    assert {d["contentUrl"] for d in meta["distribution"]} == parquet
    for distribution in meta["distribution"]:
        assert distribution["@type"] == "cr:FileObject" and len(distribution["sha256"]) == 64
    for record_set in meta["recordSet"]:
        for field in record_set["field"]:
            assert field["dataType"].startswith("sc:") and field["source"]["extract"]["column"]


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
    archive = f"unparl-{first.version}.zip"
    assert (tmp_path / "one/releases" / archive).read_bytes() == (tmp_path / "two/releases" / archive).read_bytes()
    assert first.content_hash == second.content_hash


def test_input_order_does_not_change_the_bytes(tmp_path):
    tables = corpus_tables()
    shuffled = {name: t.take(list(reversed(range(t.num_rows)))) for name, t in tables.items()}
    a = cut(tmp_path / "a", tables)
    b = cut(tmp_path / "b", shuffled)
    assert a.content_hash == b.content_hash
    for name in [*schemas.TABLES, "documents.jsonl"]:
        file = name if name.endswith(".jsonl") else f"{name}.parquet"
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
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == sorted(
        [first.version, f"unparl-{first.version}.zip", f"unparl-{first.version}.zip.sha256"])
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
        assert f"(charts/{chart}.png)" in readme
    snippets = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
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


def test_charts_exist_and_the_font_covers_chinese(built):
    _, result = built
    for chart in ("top_entities", "countries", "sdgs", "operative_verbs"):
        data = (result.path / "charts" / f"{chart}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 2000
        assert b"Software" not in data  # no matplotlib version stamped in
    font = cjk_font_path()
    assert font is not None, "no CJK font: install mplfonts (or Debian fonts-noto-cjk)"
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(font), fontNumber=0, lazy=True).getBestCmap()
    for char in "联合国议会鼓励欢迎格鲁吉亚可持续发展目标无贫穷":
        assert ord(char) in cmap, char


def test_a_killed_writer_leaves_nothing_visible(tmp_path, monkeypatch):
    first = cut(tmp_path)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while drawing")

    monkeypatch.setattr(release_lib, "draw_charts", crash)
    with pytest.raises(KeyboardInterrupt):
        cut(tmp_path, corpus_tables(specs=(REPORT, RESOLUTION, NOTE)))
    monkeypatch.undo()
    visible = [p.name for p in (tmp_path / "releases").iterdir() if not p.name.startswith(".")]
    assert sorted(visible) == sorted([first.version, f"unparl-{first.version}.zip",
                                      f"unparl-{first.version}.zip.sha256"])
    assert (tmp_path / "LATEST").read_text().strip() == first.version
    # A writer killed by SIGKILL cannot clean up: its hidden folder goes at the next run.
    stale = tmp_path / "releases" / ".build-v2024.05.01.2-dead"
    stale.mkdir()
    (stale / "documents.parquet").write_bytes(b"partial")
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
    assert covered == sorted([f"{name}.parquet" for name in [*schemas.TABLES, *STATS_SCHEMAS]]
                             + [f"{name}.jsonl" for name in release_lib.JSONL_TABLES] + ["statistics.json"])
    lines = "".join(f"{name}\0{manifest['files'][name]['sha256']}\n" for name in covered)
    assert result.content_hash == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert release_lib.manifest_content_hash(manifest) == manifest["content_hash"] == result.content_hash
    # What names the version or the date stays out of it.
    for name in ("README.md", "CHANGES.json", "datapackage.json", "croissant.json", "manifest.json",
                 "charts/sdgs.png"):
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
    for path in sorted(first.path.glob("*.parquet")) + sorted(first.path.glob("*.jsonl")):
        assert path.read_bytes() == (second.path / path.name).read_bytes(), path.name
    changed = cut(tmp_path / "one", _one_row_changed(corpus_tables()))
    assert changed.created and changed.content_hash != first.content_hash
    before = json.loads((first.path / "manifest.json").read_text(encoding="utf-8"))["files"]
    after = json.loads((changed.path / "manifest.json").read_text(encoding="utf-8"))["files"]
    differing = sorted(n for n in before if release_lib.is_content_file(n) and before[n]["sha256"] != after[n]["sha256"])
    assert "paragraphs.parquet" in differing and "paragraphs.jsonl" in differing
    assert "documents.parquet" not in differing  # an unchanged table keeps its bytes


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
        assert rows == n and hashes == expected, size
        assert (folder / "whole.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes(), size
    assert expected == {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
                        for name in ("whole.parquet", "whole.jsonl")}
    assert pq.read_table(tmp_path / "whole.parquet").to_pylist() == whole.to_pylist()


def test_an_empty_table_is_written_with_one_empty_row_group(tmp_path):
    schema = schemas.TABLES["quarantine"]
    hashes, rows = release_lib._write_table(tmp_path / "q.parquet", _Streamed(schema.empty_table(), 10), schema,
                                            None, {"unparl:table": "quarantine"})
    same, _ = release_lib._write_table(tmp_path / "r.parquet", schema.empty_table(), schema, None,
                                       {"unparl:table": "quarantine"})
    assert rows == 0 and hashes["q.parquet"] == same["r.parquet"]
    assert pq.ParquetFile(tmp_path / "q.parquet").metadata.num_row_groups == 1


# --- the data card ---------------------------------------------------------------------------

def card_context(busy: bool) -> dict:
    """The card's inputs, hand-made: a cell with | and a line break, missing values, a category,
    list and large_string column, and, when `busy`, notes, charts and documents added, changed
    and removed."""
    documents = pa.schema([
        pa.field("doc_id", pa.string(), nullable=False, metadata={"description": "Document id."}),
        pa.field("doc_type", pa.dictionary(pa.int32(), pa.string()), metadata={"description": "Type | kind."}),
        pa.field("clean_text", pa.large_string(), metadata={"description": "The cleaned\ntext."}),
        pa.field("warnings", pa.list_(pa.string()), metadata={"description": "Warnings."}),
        pa.field("n_tokens", pa.int64()),
    ])
    sdgs = pa.schema([pa.field("goal", pa.int8(), metadata={"description": "Goal number."}),
                      pa.field("share", pa.float64(), metadata={"description": "Share of mentions."})])
    context = {
        "version": "v2024.05.01.2",
        "today": DAY,
        "content_hash": "sha256:" + "ab" * 32,
        "tables": {"documents": documents.empty_table(),
                   "stats_sdgs": pa.table({"goal": range(1, 18), "share": [0.5] * 17}, schema=sdgs)},
        "descriptions": {"documents": "One row per document.", "stats_sdgs": "Mentions | of each goal."},
        "summary": {"corpus": {"documents": 3, "tokens": 1200}, "documents": [
            {"doc_id": "000_a", "symbol": "A/74/759", "doc_type": "report", "title": "互动|报告\n第二行",
             "date": "2020-03", "n_paragraphs": 19, "n_tokens": 800},
            {"doc_id": "001_b", "symbol": None, "doc_type": "resolution", "title": None, "n_paragraphs": 4}]},
        "inputs": [{"source_file": "b|c.txt", "sha256": "f" * 64, "bytes": 10}, {"source_file": "a.txt", "sha256": "e" * 64}],
        "notes": [],
        "code_version": {"package": "0.1.0", "git_commit": "0123abc"},
        "changes": {"previous_version": "v2024.05.01", "documents": {"added": [], "changed": [], "removed": []},
                    "rows": {"documents": {"before": 3, "after": 3, "change": 0}}},
        "charts": {},
        "archive": "unparl-v2024.05.01.2.zip",
    }
    if busy:
        context.update({
            "notes": ["A/74/759: one | two\nthree", "four"],
            "code_version": CODE,
            "charts": {"sdgs": "charts/sdgs.png", "a_new_one": "charts/a_new_one.png"},
            "changes": {"previous_version": None, "documents": {
                "added": [{"doc_id": "002_note", "symbol": "A/75/1", "source_sha256": "c" * 64}],
                "changed": [{"doc_id": "001_b", "symbol": None, "source_sha256": "d" * 64}],
                "removed": [{"doc_id": "003_x", "symbol": "A|B", "source_sha256": "e" * 64}]},
                "rows": {"documents": {"change": 1}, "tokens": {"change": -5}, "quarantine": {"change": 0}}},
        })
    return context


@pytest.mark.parametrize("case", ["busy", "quiet"])
def test_data_card_from_the_template_equals_the_reference(case):
    """tests/gold/data_card_<case>.md is what the card's code before the template wrote for this
    context, with the sentences about the archive (now ZIP) and the content hash brought up to date."""
    card = data_card(card_context(case == "busy"))
    assert card.encode() == (GOLD / f"data_card_{case}.md").read_bytes()


def test_the_card_template_is_package_data():
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "templates/*" in project["tool"]["setuptools"]["package-data"]["pipeline"]
    from pipeline.lib.release.card import CARD_TEMPLATE, templates

    assert Path(templates().get_template(CARD_TEMPLATE).filename).parent.name == "templates"
