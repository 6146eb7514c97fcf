"""Cutting releases from the hand-made corpus of test_stats.py, in tmp_path."""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline import schemas
from pipeline.lib import release as release_lib
from pipeline.lib.release import cut_release, latest_release, next_version
from pipeline.lib.release_charts import cjk_font_path
from pipeline.lib.stats import STATS_SCHEMAS, compute_statistics, summarise
from test_stats import NOTE, REPORT, RESOLUTION, corpus_tables

DAY = datetime.date(2024, 5, 1)
CODE = {"package": "0.1.0", "git_commit": "0123abc", "tokenizer": "jieba 0.42.1"}
NOTES = ["A/74/759: the sidecar declares A/74/759, the text gives none"]
CHECK_RELEASE = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_release.py"


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


def test_parquet_files_are_described_sorted_zstd_and_versioned(built):
    _, result = built
    for name, schema in {**schemas.TABLES, **STATS_SCHEMAS}.items():
        file = pq.ParquetFile(result.path / f"{name}.parquet")
        meta = file.schema_arrow.metadata
        assert meta[b"unparl:version"] == result.version.encode()
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
    archive = f"unparl-{first.version}.tar.gz"
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
    archive = data_dir / "releases" / f"unparl-{result.version}.tar.gz"
    line = (data_dir / "releases" / f"{archive.name}.sha256").read_text()
    assert line == f"{hashlib.sha256(archive.read_bytes()).hexdigest()}  {archive.name}\n"
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
        assert all(n.startswith(f"unparl-{result.version}/") for n in names)
        tar.extractall(tmp_path, filter="data")
    assert files_of(tmp_path / f"unparl-{result.version}") == files_of(result.path)


def test_an_archive_compressed_on_threads_is_one_gzip_stream_every_reader_takes(tmp_path, monkeypatch):
    """Archives are compressed a chunk at a time on threads: the bytes must not depend on the
    number of threads, and gzip, tar and Python, streaming or not, must read them whole."""
    import gzip
    import random
    import zlib

    folder = tmp_path / "release"
    (folder / "charts").mkdir(parents=True)
    rng = random.Random(7)
    for i in range(6):  # a mix of text that compresses and bytes that do not
        (folder / f"t{i}.jsonl").write_text("".join(rng.choice("联合国议会各国") for _ in range(3000)))
        (folder / "charts" / f"b{i}.png").write_bytes(rng.randbytes(5000))
    monkeypatch.setattr(release_lib._ThreadedGzip, "CHUNK", 4096)  # many chunks from a small folder
    written = {}
    for threads in (1, 3):
        target = tmp_path / f"a{threads}.tar.gz"
        digest = release_lib.write_archive(folder, target, "unparl-v1", threads=threads)
        assert digest == hashlib.sha256(target.read_bytes()).hexdigest()
        written[threads] = target.read_bytes()
    assert written[1] == written[3]
    data = written[1]
    # One gzip member: after it, nothing is left over for a second one.
    member = zlib.decompressobj(wbits=31)
    whole = member.decompress(data)
    assert member.eof and member.unused_data == b"" and whole == gzip.decompress(data)
    assert len(whole) > 20 * 4096  # it did go through many chunks
    for mode in ("r:gz", "r|gz"):  # Python's seeking and streaming readers
        with tarfile.open(tmp_path / "a1.tar.gz", mode) as tar:
            tar.extractall(tmp_path / mode.replace("|", "_").replace(":", "_"), filter="data")
        assert files_of(tmp_path / mode.replace("|", "_").replace(":", "_") / "unparl-v1") == files_of(folder)
    listed = subprocess.run(["tar", "tzf", str(tmp_path / "a3.tar.gz")], capture_output=True, text=True, check=True)
    assert sorted(listed.stdout.split()) == sorted(f"unparl-v1/{p.relative_to(folder).as_posix()}"
                                                   + ("/" if p.is_dir() else "") for p in folder.rglob("*"))


def test_a_failed_archive_stops_its_threads_and_writes_no_trailer(tmp_path, monkeypatch):
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "a.txt").write_text("x" * 10_000)
    monkeypatch.setattr(release_lib._ThreadedGzip, "CHUNK", 1024)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tarfile.TarFile, "addfile", broken)
    with pytest.raises(OSError, match="disk full"):
        release_lib.write_archive(folder, tmp_path / "a.tar.gz", "unparl-v1")
    assert not [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")]


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
    assert sorted(visible) == sorted([first.version, f"unparl-{first.version}.tar.gz",
                                      f"unparl-{first.version}.tar.gz.sha256"])
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
