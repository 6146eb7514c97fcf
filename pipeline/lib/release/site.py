"""The download page: `data/index.html`, a static catalogue of every release in the data folder.

It is rebuilt from the release folders alone (each one's manifest.json, CHANGES.json and
README.md), so it can be regenerated at any time and says only what the folders hold: versions
newest first with their date and change list; per table the links to its parts (Parquet, JSON
Lines, CoNLL-U) with sizes, row counts and sha256; the archive with its sha256; the newest
release's data card rendered. Links are relative, so the page works opened from disk (file://)
as well as served (`unparl serve`); it needs no JavaScript. Every value from the folders is
escaped by the template (Jinja2 autoescape), and the card is rendered by markdown-it-py with raw
HTML off, so nothing a release holds becomes markup. Same folders, same bytes.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2
from markdown_it import MarkdownIt

from pipeline import schemas
from pipeline.lib import storage
from pipeline.lib.release.names import DATASET, archive_name, template_environment, version_key

INDEX_FILE = "index.html"
# An older release with more data files than this is summed up per table (rows, parts, sizes)
# rather than listed file by file: its manifest.json lists them all, and the page stays small
# at archive scale. The newest release is always listed in full.
LIST_FILES_UP_TO = 300
RELEASES = "releases"
FORMATS = ("parquet", "jsonl", "conllu")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)


class ReleaseUnreadable(ValueError):
    """A release folder whose metadata cannot be read; the message names the file and the reason."""


@dataclass
class FileLink:
    href: str
    name: str
    bytes: int | None = None
    sha256: str | None = None
    rows: int | None = None

    @property
    def size(self) -> str:
        return human_size(self.bytes)


@dataclass
class Part:
    name: str
    files: dict[str, FileLink] = field(default_factory=dict)  # format → file

    @property
    def rows(self) -> int | None:
        main = self.files.get("parquet") or next(iter(self.files.values()), None)
        return main.rows if main else None


@dataclass
class Table:
    name: str
    rows: int | None
    description: str
    parts: list[Part] = field(default_factory=list)
    by_name: dict[str, Part] = field(default_factory=dict)

    def size(self, fmt: str) -> str:
        """The total size of the table's files in one format ('' when it has none)."""
        sizes = [p.files[fmt].bytes or 0 for p in self.parts if fmt in p.files]
        return human_size(sum(sizes)) if sizes else ""


@dataclass
class Release:
    version: str
    date: str
    previous_version: str | None
    content_hash: str
    tables: list[Table]
    conllu: list[FileLink]
    other_files: list[FileLink]
    changes: dict
    archive: FileLink | None
    card_html: str | None
    latest: bool = False

    @property
    def href(self) -> str:
        return f"{RELEASES}/{quote(self.version)}/"

    @property
    def file_count(self) -> int:
        return sum(len(p.files) for t in self.tables for p in t.parts) + len(self.conllu)


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


# --- reading the release folders ---------------------------------------------------------------

def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReleaseUnreadable(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseUnreadable(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ReleaseUnreadable(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


_PLAIN = re.compile(r"[A-Za-z0-9_./-]*")


def _quote(rel: str) -> str:
    """A path for an href: most are plain already (part-00000.parquet), the rest percent-encoded."""
    return rel if _PLAIN.fullmatch(rel) else quote(rel)


def _table_order(name: str) -> tuple[int, str]:
    known = list(schemas.TABLES)
    return (known.index(name), name) if name in known else (len(known), name)


def read_release(folder: Path, *, card: bool = False) -> Release:
    """One release folder as the page shows it (its card rendered only when asked)."""
    version = folder.name
    base = f"{RELEASES}/{quote(version)}/"  # links are relative to the page, in the data folder
    manifest = _read_json(folder / "manifest.json")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ReleaseUnreadable(f"{folder / 'manifest.json'}: no \"files\" object")
    changes = _read_json(folder / "CHANGES.json") if (folder / "CHANGES.json").is_file() else {}
    row_counts = manifest.get("tables") or {}
    descriptions = _descriptions(folder)

    tables: dict[str, Table] = {}
    conllu: list[FileLink] = []
    other: list[FileLink] = []
    for rel in sorted(files):
        entry = files[rel]
        if not isinstance(entry, dict):
            raise ReleaseUnreadable(f"{folder / 'manifest.json'}: the entry of {rel!r} is not an object")
        link = FileLink(base + _quote(rel), rel, entry.get("bytes"), entry.get("sha256"), entry.get("rows"))
        fmt, table = entry.get("format"), entry.get("table")
        if fmt == "conllu":
            conllu.append(link)
        elif fmt in FORMATS and table:
            described = tables.setdefault(table, Table(table, row_counts.get(table), descriptions.get(table, "")))
            part_name = rel.rsplit("/", 1)[-1].split(".", 1)[0]
            described.by_name.setdefault(part_name, Part(part_name)).files[fmt] = link
        else:
            other.append(link)
    for table in tables.values():
        table.parts = [table.by_name[name] for name in sorted(table.by_name)]
    manifest_path = folder / "manifest.json"
    other.append(FileLink(base + "manifest.json", "manifest.json", manifest_path.stat().st_size,
                          storage.sha256_file(manifest_path)))
    other.sort(key=lambda f: f.name)

    card_html = None
    if card and (folder / "README.md").is_file():
        card_html = render_card((folder / "README.md").read_text(encoding="utf-8"), base)
    return Release(
        version=version,
        date=str(manifest.get("release_date") or ""),
        previous_version=manifest.get("previous_version"),
        content_hash=str(manifest.get("content_hash") or ""),
        tables=sorted(tables.values(), key=lambda t: _table_order(t.name)),
        conllu=conllu,
        other_files=other,
        changes=changes,
        archive=_archive(folder.parent, version),
        card_html=card_html,
    )


def _descriptions(folder: Path) -> dict[str, str]:
    """Each table's description, as the release's own datapackage.json gives it."""
    if not (folder / "datapackage.json").is_file():
        return {}
    resources = _read_json(folder / "datapackage.json").get("resources") or []
    return {r["name"]: str(r.get("description") or "") for r in resources
            if isinstance(r, dict) and isinstance(r.get("name"), str)}


def _archive(releases: Path, version: str) -> FileLink | None:

    name = archive_name(version)
    path = releases / name
    if not path.is_file():
        return None
    digest_file = path.with_name(name + ".sha256")
    sha256 = None
    if digest_file.is_file():
        words = digest_file.read_text(encoding="utf-8").split()
        sha256 = words[0] if words and re.fullmatch(r"[0-9a-f]{64}", words[0]) else None
    return FileLink(f"{RELEASES}/{quote(name)}", name, path.stat().st_size, sha256)


def list_releases(data_dir: Path) -> list[Path]:
    """The release folders under data_dir/releases, newest first (hidden build folders and
    anything not named like a version are not releases)."""

    root = Path(data_dir) / RELEASES
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if p.is_dir() and version_key(p.name)]
    return sorted(folders, key=lambda p: version_key(p.name), reverse=True)


# --- the data card -----------------------------------------------------------------------------

@cache
def _markdown() -> MarkdownIt:
    # CommonMark with raw HTML off (it is shown as text), plus the tables the card uses.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def strip_front_matter(text: str) -> str:
    """The card without its YAML front matter (the `---` block Hugging Face reads)."""
    return _FRONT_MATTER.sub("", text.lstrip("\ufeff"), count=1)


def render_card(text: str, base: str) -> str:
    """A release's README.md as HTML: front matter stripped, raw HTML escaped, relative links
    and images made relative to `base` (the release folder, as seen from the page)."""
    md = _markdown()
    tokens = md.parse(strip_front_matter(text))
    for token in tokens:
        for child in [token, *(token.children or [])]:
            for attr in ("href", "src"):
                value = child.attrGet(attr)
                if isinstance(value, str) and _is_relative(value):
                    child.attrSet(attr, base + value)
    return md.renderer.render(tokens, md.options, {})


def _is_relative(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith(("/", "#"))


# --- the page -----------------------------------------------------------------------------------

@cache
def _templates() -> jinja2.Environment:
    env = template_environment(autoescape=True)
    env.filters["size"] = human_size
    return env


def render_index(data_dir: Path) -> str:
    """The page's HTML, from every release folder under data_dir/releases."""
    data_dir = Path(data_dir)
    latest_name = None
    if (data_dir / "LATEST").is_file():
        latest_name = (data_dir / "LATEST").read_text(encoding="utf-8").strip() or None
    folders = list_releases(data_dir)
    if latest_name not in {f.name for f in folders}:  # no LATEST yet (or it names no folder here)
        latest_name = folders[0].name if folders else None
    releases = []
    for folder in folders:
        release = read_release(folder, card=folder.name == latest_name)
        release.latest = folder.name == latest_name
        releases.append(release)
    latest = next((r for r in releases if r.latest), None)

    return _templates().get_template("index.html.j2").render(
        dataset=DATASET, releases=releases, latest=latest, list_files_up_to=LIST_FILES_UP_TO,
    )


def write_index(data_dir: Path) -> Path:
    """Regenerate data_dir/index.html atomically (readable by all, as the releases are)."""
    path = Path(data_dir) / INDEX_FILE
    storage.atomic_write_text(path, render_index(data_dir))
    os.chmod(path, 0o644)
    return path


# --- serving ------------------------------------------------------------------------------------

# What a data folder publishes; its work files and anything hidden (a release being built, the
# lock) are not served.
PUBLIC = ("index.html", "LATEST", "README.md", RELEASES)


def make_server(data_dir: Path, port: int = 8000, host: str = "127.0.0.1"):
    """A read-only HTTP server of the data folder's public part (GET and HEAD only; stdlib
    http.server). Port 0 takes a free port: read it from `server.server_address`."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = Path(data_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{data_dir}: no such data folder")

    class Handler(SimpleHTTPRequestHandler):
        # SimpleHTTPRequestHandler answers GET and HEAD only (anything else: 501). On top of its
        # own refusal of '..', a path must resolve inside the public part of the folder.
        def translate_path(self, path: str) -> str:
            translated = Path(super().translate_path(path))
            try:
                rel = translated.resolve().relative_to(root)
            except ValueError:
                return str(root / ".not-served")
            parts = rel.parts
            if parts and (parts[0] not in PUBLIC or any(p.startswith(".") for p in parts)):
                return str(root / ".not-served")
            return str(translated)

        def list_directory(self, path):
            if Path(path).resolve() == root:  # the folder itself: the page, not a listing
                self.send_error(404, "No index.html yet: cut a release first")
                return None
            return super().list_directory(path)

    handler = functools.partial(Handler, directory=str(root))
    return ThreadingHTTPServer((host, port), handler)
