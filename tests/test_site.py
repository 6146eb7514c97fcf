"""The download page (data/index.html): built from the release folders alone, every listed file
is linked relative to the page and carries the manifest's size, rows and sha256; the data card is
rendered with raw HTML escaped; nothing from a release becomes markup.

The releases here are small fakes in the release layout (a few Parquet parts written with
pyarrow, a manifest as the layout specifies), so the page is tested on its own."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.lib.release.site import ReleaseUnreadable, render_card, strip_front_matter, write_index

CARD = """---
license: cc-by-4.0
language:
- zh
configs:
- config_name: tokens
  data_files: tokens/*.parquet
---
# unparl {version}

United Nations documents in Chinese. Load [the tokens](tokens/part-00000.parquet) or read
[the manifest](manifest.json); the UN's own copy: <https://undocs.org/zh/A/74/759>.

| table | rows |
|---|---:|
| tokens | 3 |

<script>alert("card")</script> and [a trap](javascript:alert(1)).
"""

HOSTILE_SYMBOL = 'A/74/<b onmouseover="x">759</b>'


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parquet(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def make_release(data: Path, version: str, *, previous: str | None, documents: list[str],
                 added: list[dict], symbol: str = "A/74/759") -> Path:
    """A small release folder in the release layout, its archive and LATEST."""
    folder = data / "releases" / version
    files: dict[str, dict] = {}
    tables: dict[str, int] = {}

    def record(rel: str, table: str | None = None, fmt: str | None = None, rows: int | None = None) -> None:
        path = folder / rel
        entry = {"sha256": sha256(path), "bytes": path.stat().st_size}
        if table:
            entry.update(table=table, format=fmt, rows=rows)
            if fmt == "parquet":
                tables[table] = tables.get(table, 0) + rows
        files[rel] = entry

    doc_schema = pa.schema([("doc_id", pa.string()), ("symbol", pa.string())])
    token_schema = pa.schema([("doc_id", pa.string()), ("text", pa.string())])
    for number, doc_id in enumerate(documents):
        part = f"part-{number:05d}"
        docs = [{"doc_id": doc_id, "symbol": symbol}]
        _parquet(folder / "documents" / f"{part}.parquet", docs, doc_schema)
        record(f"documents/{part}.parquet", "documents", "parquet", 1)
        (folder / "jsonl" / "documents").mkdir(parents=True, exist_ok=True)
        (folder / "jsonl" / "documents" / f"{part}.jsonl").write_text(json.dumps(docs[0]) + "\n")
        record(f"jsonl/documents/{part}.jsonl", "documents", "jsonl", 1)
        tokens = [{"doc_id": doc_id, "text": t} for t in ("联合国", "秘书长", "报告")]
        _parquet(folder / "tokens" / f"{part}.parquet", tokens, token_schema)
        record(f"tokens/{part}.parquet", "tokens", "parquet", 3)
        (folder / "conllu").mkdir(parents=True, exist_ok=True)
        (folder / "conllu" / f"{part}.conllu").write_text(f"# newdoc id = {doc_id}\n")
        record(f"conllu/{part}.conllu", "conllu", "conllu", 1)
    _parquet(folder / "quarantine" / "part-00000.parquet", [], pa.schema([("source_file", pa.string())]))
    record("quarantine/part-00000.parquet", "quarantine", "parquet", 0)
    (folder / "README.md").write_text(CARD.format(version=version), encoding="utf-8")
    record("README.md")
    changes = {"previous_version": previous,
               "documents": {"added": added, "changed": [], "removed": []},
               "rows": {"tokens": {"before": None if previous is None else 3, "after": tables["tokens"],
                                   "change": tables["tokens"] - (0 if previous is None else 3)}}}
    (folder / "CHANGES.json").write_text(json.dumps(changes), encoding="utf-8")
    record("CHANGES.json")
    (folder / "datapackage.json").write_text(json.dumps({"resources": [
        {"name": "tokens", "description": "Tokens <with> part-of-speech tags."}]}), encoding="utf-8")
    record("datapackage.json")
    manifest = {"name": "unparl", "version": version, "release_date": "2026-12-0" + version[-1],
                "previous_version": previous, "content_hash": "sha256:" + "ab" * 32, "code_version": {},
                "inputs": [], "tables": tables, "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    archive = data / "releases" / f"unparl-{version}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"unparl-{version}/{path.relative_to(folder)}")
    archive.with_name(archive.name + ".sha256").write_text(f"{sha256(archive)}  {archive.name}\n")
    (data / "LATEST").write_text(version + "\n")
    return folder


@pytest.fixture
def data(tmp_path) -> Path:
    """Two releases: the first adds a report, the second a resolution (whose symbol is hostile)."""
    data = tmp_path / "data"
    make_release(data, "v2026.12.01", previous=None, documents=["000_report"],
                 added=[{"doc_id": "000_report", "symbol": "A/74/759", "source_sha256": "1" * 64}])
    make_release(data, "v2026.12.02", previous="v2026.12.01", documents=["000_report", "001_resolution"],
                 added=[{"doc_id": "001_resolution", "symbol": HOSTILE_SYMBOL, "source_sha256": "2" * 64}],
                 symbol="A/RES/74/304")
    (data / "releases" / ".build-abc").mkdir()  # a cut in progress: never listed
    (data / "work").mkdir()
    return data


class Page(HTMLParser):
    """The links, headings and text of a page, as a reader of it sees them."""

    def __init__(self, html: str):
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.tags: list[str] = []
        self.text: list[str] = []
        self._href: str | None = None
        self._link_text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), ""

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, self._link_text))
            self._href = None

    def handle_data(self, data):
        self.text.append(data)
        if self._href is not None:
            self._link_text += data

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def test_versions_newest_first_with_date_and_changes(data):
    page = Page(write_index(data).read_text("utf-8"))
    text = page.all_text
    assert "Latest release: v2026.12.02" in text
    versions = text[text.index("All versions"):]
    assert versions.index("v2026.12.02 (latest)") < versions.index("v2026.12.01")
    assert "2026-12-02" in text and "2026-12-01" in text
    assert "Added (1): A/74/759" in text
    assert ".build-abc" not in text


def test_every_file_of_every_release_is_linked_relative_with_its_manifest_figures(data):
    html = write_index(data).read_text("utf-8")
    page = Page(html)
    hrefs = {href for href, _ in page.links}
    for folder in sorted((data / "releases").glob("v*")):
        manifest = json.loads((folder / "manifest.json").read_text())
        for rel, entry in manifest["files"].items():
            href = f"releases/{folder.name}/{rel}"
            assert href in hrefs, href
            assert entry["sha256"] in html
        assert f"releases/{folder.name}/manifest.json" in hrefs
    for href in hrefs:
        if href.startswith("releases/"):
            # Relative to the page, and pointing at a file or folder that exists.
            assert (data / unquote(href)).exists(), href
        else:
            assert href.startswith(("https://", "#")), href
    # Row counts per table and per part, and the size of a part.
    assert "6 rows" in page.all_text  # tokens of v2026.12.02: two parts of 3
    assert "Tokens <with> part-of-speech tags." in page.all_text


def test_the_archive_is_linked_with_its_sha256(data):
    html = write_index(data).read_text("utf-8")
    for version in ("v2026.12.01", "v2026.12.02"):
        archive = data / "releases" / f"unparl-{version}.zip"
        assert f'href="releases/unparl-{version}.zip"' in html
        assert sha256(archive) in html


def test_the_latest_card_is_rendered_without_front_matter_or_raw_html(data):
    html = write_index(data).read_text("utf-8")
    page = Page(html)
    assert "config_name" not in html and "cc-by-4.0" not in html
    assert "<h1>unparl v2026.12.02</h1>" in html
    assert "<table>" in html  # the card's Markdown table
    # The card's relative links point into its release folder; raw HTML stays text.
    assert ("releases/v2026.12.02/tokens/part-00000.parquet", "the tokens") in page.links
    assert "<script>" not in html and '&lt;script&gt;alert(&quot;card&quot;)&lt;/script&gt;' in html
    assert not any(href.startswith("javascript:") for href, _ in page.links)
    assert ("https://undocs.org/zh/A/74/759", "https://undocs.org/zh/A/74/759") in page.links


def test_values_from_a_release_are_escaped(data):
    html = write_index(data).read_text("utf-8")
    assert "<b onmouseover" not in html
    assert "A/74/&lt;b onmouseover=&#34;x&#34;&gt;759&lt;/b&gt;" in html
    assert "script" not in Page(html).tags


def test_same_folders_same_bytes_written_atomically_and_readable(data):
    first = write_index(data).read_bytes()
    path = write_index(data)
    assert path == data / "index.html" and path.read_bytes() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in data.iterdir() if p.name.startswith(".")] == []


def test_latest_names_the_release_shown_first(data):
    (data / "LATEST").write_text("v2026.12.01\n")
    text = Page(write_index(data).read_text("utf-8")).all_text
    assert "Latest release: v2026.12.01" in text and "v2026.12.01 (latest)" in text


def test_a_folder_with_no_release_yet(tmp_path):
    text = Page(write_index(tmp_path).read_text("utf-8")).all_text
    assert "No release has been cut yet." in text


@pytest.mark.parametrize(("content", "reason"), [(None, "missing"), ("{not json", "not readable JSON"),
                                                 ("[]", "expected a JSON object")])
def test_an_unreadable_manifest_is_an_error_naming_it(data, content, reason):
    manifest = data / "releases" / "v2026.12.01" / "manifest.json"
    if content is None:
        manifest.unlink()
    else:
        manifest.write_text(content)
    with pytest.raises(ReleaseUnreadable, match=rf"v2026\.12\.01/manifest\.json: {reason}"):
        write_index(data)
    assert not (data / "index.html").exists()


def test_front_matter_is_only_the_leading_block():
    assert strip_front_matter("---\na: 1\n---\n# Title\n---\nafter\n") == "# Title\n---\nafter\n"
    assert strip_front_matter("# No front matter\n---\n") == "# No front matter\n---\n"
    html = render_card("See [stats](statistics.json) and [top](#top) and ![c](charts/a.png)", "releases/v1/")
    assert 'href="releases/v1/statistics.json"' in html and 'href="#top"' in html
    assert 'src="releases/v1/charts/a.png"' in html


def test_index_ignores_other_files_in_the_data_folder(data):
    (data / "releases" / "notes.txt").write_text("x")
    (data / "releases" / "v-not-a-version").mkdir()
    text = Page(write_index(data).read_text("utf-8")).all_text
    assert "v-not-a-version" not in text and "notes.txt" not in text
    assert os.listdir(data / "releases" / ".build-abc") == []


@pytest.mark.slow
def test_the_page_of_a_real_build_links_every_file_with_its_sha256(built, tmp_path):
    """On a release the writer cut from the seeds (copied, the build is shared): every file of
    the manifest is linked, and each link leads to bytes with the sha256 shown."""
    data = tmp_path / "data"
    shutil.copytree(built.data / "releases", data / "releases")
    shutil.copy(built.data / "LATEST", data / "LATEST")
    html = write_index(data).read_text("utf-8")
    page = Page(html)
    hrefs = {href for href, _ in page.links}
    release = built.release.name
    manifest = json.loads((data / "releases" / release / "manifest.json").read_text())
    for rel, entry in manifest["files"].items():
        href = f"releases/{release}/{rel}"
        assert href in hrefs, href
        assert sha256(data / unquote(href)) == entry["sha256"] and entry["sha256"] in html
    assert "Latest release: " + release in page.all_text
    assert any(href.endswith(".conllu") for href in hrefs)


def test_an_older_release_with_many_files_is_summed_up(data, monkeypatch):
    from pipeline.lib.release import site

    monkeypatch.setattr(site, "LIST_FILES_UP_TO", 3)
    page = Page(write_index(data).read_text("utf-8"))
    hrefs = {href for href, _ in page.links}
    # The newest release stays listed file by file; the older one links its folder and manifest.
    assert "releases/v2026.12.02/tokens/part-00001.parquet" in hrefs
    assert "releases/v2026.12.01/tokens/part-00000.parquet" not in hrefs
    assert {"releases/v2026.12.01/manifest.json", "releases/v2026.12.01/tokens/"} <= hrefs
    assert "5 data files" in page.all_text  # documents (Parquet, JSON Lines), tokens, quarantine, CoNLL-U
