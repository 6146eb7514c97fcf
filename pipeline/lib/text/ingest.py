"""Reading source files: discovery, sidecars, decoding, and the reasons a file is set aside.

A document is any entry of the seeds folder that is not hidden (its name starts with '.'),
not a sidecar and not a folder (list_documents, the one rule). Its sidecar, `<name>.meta.json`
beside it (for `report.txt`: `report.meta.json`), declares metadata the text lacks. Every
input is read through read_input: a symbolic link is followed only to a file inside the
folder, and nothing but a regular file is ever opened for reading (a FIFO would block).
Nothing here ever turns a name from a file or a sidecar into a path: ids are sanitised to one
safe path component.
"""
from __future__ import annotations

import codecs
import datetime
import errno
import hashlib
import json
import math
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from charset_normalizer import from_bytes

from pipeline.lib.text.encodings import INVISIBLE as _INVISIBLE, detect_encoding
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from pipeline.lib.storage import sha256_file  # noqa: F401 - planning and others read it from here
from pipeline.lib.text import formats
from pipeline.schemas import METADATA_FIELDS

SIDECAR_SUFFIX = ".meta.json"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Signatures of common binary formats, so they get a precise reason rather than "undecodable".
_MAGIC = (
    (b"%PDF", "a PDF file"), (b"PK\x03\x04", "a zip archive (or an Office file)"),
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"), (b"\xd0\xcf\x11\xe0", "an old Office file"),
    (b"\x7fELF", "an executable"), (b"PAR1", "a Parquet file"),
)
_MULTIBYTE = ("gb18030", "big5", "shift_jis", "euc_kr")
# Below this many bytes, text that is not UTF-8 cannot be told from another encoding or from noise.
MIN_DETECT_BYTES = 16
MAX_SIDECAR_BYTES = 1024 * 1024


class Rejected(Exception):
    """A file that cannot be processed; `reason` is a short code, the message says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def content_key(sha256: str | None, sidecar_sha256: str | None) -> str:
    """What a document's work files are built from: changes when its bytes (their sha256) or
    its sidecar's change. A missing sidecar counts as an empty digest."""
    return hashlib.sha256(f"{sha256 or ''}:{sidecar_sha256 or ''}".encode()).hexdigest()


@dataclass(frozen=True)
class Source:
    doc_id: str
    path: Path
    sidecar: Path | None
    sha256: str
    size: int
    sidecar_sha256: str | None = None
    error: str | None = None  # why the file cannot be processed, if it cannot (its detail)
    error_reason: str | None = None  # the reason code of `error`: unreadable, outside_seeds, not_a_file, bad_sidecar
    sidecar_size: int | None = None

    @property
    def content_key(self) -> str:
        """Changes when the document or its sidecar changes (see content_key)."""
        return content_key(self.sha256, self.sidecar_sha256)

    @property
    def name(self) -> str:
        """The file's name as it is recorded (display_name)."""
        return display_name(self.path.name)


@dataclass
class Decoded:
    text: str
    encoding: str | None
    confidence: float | None
    warnings: list[str] = field(default_factory=list)
    source_format: str = "txt"  # what the bytes were read as (formats.sniff)
    pages: int | None = None
    page_map: list[tuple[int, int, int]] | None = None  # (start, end, page) runs of text offsets


def name_bytes(name: str) -> bytes:
    """A file name's bytes as the file system holds them (bytes that are not UTF-8 come back from
    the surrogates Python decoded them to)."""
    try:
        return os.fsencode(name)
    except UnicodeEncodeError:  # a surrogate that no file system name decodes to
        return name.encode("utf-8", "surrogatepass")


# A backslash that a name holds before x and two hex digits: it would read as an escaped byte.
_READS_AS_ESCAPE = re.compile(rb"\\(?=x[0-9A-Fa-f]{2})")


def display_name(name: str) -> str:
    """A file name as text that can be stored (Parquet, JSON): a UTF-8 name as it is; in a name
    that is not valid UTF-8, each byte that is not is escaped as \\xNN, so the bytes can be told.
    Lossless: a backslash the name itself holds before x and two hex digits is escaped too
    (\\x5c), so the UTF-8 name `\\xe6.txt` is not recorded like the byte 0xE6 followed by `.txt`."""
    return _READS_AS_ESCAPE.sub(rb"\\x5c", name_bytes(name)).decode("utf-8", "backslashreplace")


def doc_id_for(path: Path) -> str:
    """A stable id from the file name: one safe path component, never '.' or '..'."""
    stem = path.name[:-4] if path.name.lower().endswith(".txt") else path.name
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", unicodedata.normalize("NFKC", stem)).strip("._-")[:100]
    if not safe or safe != stem:
        # The name lost characters: a hash of the whole name (its bytes) keeps the id the file's
        # own, whatever other files sit beside it (报告 2020.txt and 决议 2020.txt both give '2020').
        safe = f"{safe or 'doc'}_{hashlib.sha256(name_bytes(path.name)).hexdigest()[:8]}"
    return safe


def sidecar_for(path: Path) -> Path:
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return path.with_name(stem + SIDECAR_SUFFIX)


@dataclass(frozen=True)
class Entry:
    """A document as the folder lists it, before any of it is read: its id, its sidecar (when
    the folder holds one) and, when it must not be read, why (reason and detail)."""

    doc_id: str
    path: Path
    sidecar: Path | None = None
    reason: str | None = None
    detail: str | None = None


def list_documents(folder: Path) -> list[Entry]:
    """Every document of the folder, sorted by name, with its id: the one rule scan_sources and
    the planner (planning.observe) share.

    A document is every entry whose name does not start with '.' (hidden: `.DS_Store`, `..txt`)
    and does not end with `.meta.json` (a sidecar), except folders. Links to a file inside the
    folder are documents like the file; a link elsewhere, a broken link, a FIFO, a socket or a
    link to a folder is listed with the reason it is set aside unread (outside_seeds,
    unreadable, not_a_file). Ids come from doc_id_for; an id that equals an earlier one, ignoring
    case (a case-insensitive file system would give them one work file), gets a hash of the
    file name's bytes appended, so ids stay distinct and stable.
    """
    folder = Path(folder)
    with os.scandir(folder) as found:
        names = sorted(e.name for e in found if not e.name.startswith(".") and not e.name.endswith(SIDECAR_SUFFIX)
                       and not e.is_dir(follow_symlinks=False))
    entries: list[Entry] = []
    seen: set[str] = set()  # ids so far, lowercased
    for name in names:
        path = folder / name
        doc_id = base = doc_id_for(path)
        if doc_id.lower() in seen:
            digest = hashlib.sha256(name_bytes(name)).hexdigest()
            for n in (8, 16, 64):
                doc_id = f"{base}_{digest[:n]}"
                if doc_id.lower() not in seen:
                    break
        seen.add(doc_id.lower())
        entries.append(entry_for(path, doc_id))
    return entries


def entry_for(path: Path, doc_id: str | None = None) -> Entry:
    """One document file of a folder, looked at without reading it (see list_documents)."""
    path = Path(path)
    sidecar: Path | None = sidecar_for(path)
    try:
        os.lstat(sidecar)
    except OSError:  # none (or a name too long for the file system to hold one)
        sidecar = None
    problem = _examine(path)
    if problem is None and sidecar is not None:
        problem = _examine(sidecar)
        if problem is not None and problem[0] != "outside_seeds":
            problem = ("bad_sidecar", problem[1])
    reason, detail = problem or (None, None)
    return Entry(doc_id if doc_id is not None else doc_id_for(path), path, sidecar, reason, detail)


def _examine(path: Path) -> tuple[str, str] | None:
    """Why a file of the folder must not be read, as (reason, detail); None when it may be: a
    regular file, or a link to one inside the folder. Follows no link out of the folder and
    opens nothing."""
    label = _label(path)
    link = ""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            link = "a symbolic link to "
            try:
                info = os.stat(path)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return "unreadable", f"{label}: a symbolic link that loops"
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    return "unreadable", f"{label}: a broken symbolic link (its target does not exist)"
                raise
            if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(path.parent)):
                return "outside_seeds", (f"{label}: a symbolic link whose target lies outside the seeds folder: "
                                         "not read (links are followed only to files inside it)")
    except OSError as exc:
        return "unreadable", f"{label}: cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(info.st_mode):
        return None
    mode = info.st_mode
    kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "something other than a file")
    return "not_a_file", f"{label}: {link}{kind}, not a regular file: not opened"


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def _open_input(path: Path) -> BinaryIO:
    """The file open for reading, under _examine's rule; raises Rejected or OSError. The target
    is opened by its resolved path without following links, without blocking, and checked to be
    a regular file once open (it may have been replaced since it was examined)."""
    problem = _examine(path)
    if problem is not None:
        raise Rejected(*problem)
    f = os.fdopen(os.open(os.path.realpath(path), _OPEN_FLAGS), "rb")
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise Rejected("not_a_file", f"{_label(path)}: not a regular file: not opened")
    return f


def read_input(path: Path) -> bytes:
    """A document's bytes, read the one way every input is read (_open_input). Raises Rejected
    (outside_seeds, unreadable, not_a_file) or OSError."""
    with _open_input(path) as f:
        return f.read()


def read_natively(path: Path) -> bool:
    """Whether this document's reader is native code (formats.NATIVE_FORMATS), by `sniff` on its
    first and last bytes, opened the one way every input is (_open_input)."""
    try:
        with _open_input(path) as f:
            head = f.read(1024)
            f.seek(max(len(head), os.fstat(f.fileno()).st_size - 2048))
            tail = f.read(2048)
    except (Rejected, OSError):
        return False
    return formats.sniff(head + tail) in formats.NATIVE_FORMATS


def _hash_input(path: Path) -> tuple[str, int]:
    """The sha256 and the number of the bytes read."""
    digest, size = hashlib.sha256(), 0
    with _open_input(path) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def input_state(entry: Entry) -> tuple[int, int]:
    """The size and change time (ns: the later of modification and status change, so a fixed
    permission counts too) of a document and its sidecar together, as the planner watches them:
    a link followed only when it may be read; (-1, -1) when it cannot be looked at."""
    size, mtime = 0, 0
    try:
        for path in (entry.path, entry.sidecar):
            if path is not None:
                info = os.stat(path) if entry.reason is None else os.lstat(path)
                size, mtime = size + info.st_size, max(mtime, info.st_mtime_ns, info.st_ctime_ns)
    except OSError:  # gone since the listing, or unreadable: the chain sets it aside
        return -1, -1
    return size, mtime


def scan_entry(entry: Entry) -> Source:
    """The document with its hash and its sidecar's; a file that cannot be read carries the
    reason and detail (error_reason, error) instead, never an exception."""
    base = {"doc_id": entry.doc_id, "path": entry.path, "sidecar": entry.sidecar}
    if entry.reason is not None:
        return Source(**base, sha256="", size=0, error=entry.detail, error_reason=entry.reason)
    try:
        sha256, size = _hash_input(entry.path)
    except Rejected as exc:
        return Source(**base, sha256="", size=0, error=exc.detail, error_reason=exc.reason)
    except OSError as exc:  # unreadable, or gone since the listing: set aside, never fatal
        return Source(**base, sha256="", size=0, error=f"{_label(entry.path)}: cannot be read ({exc.strerror or exc})",
                      error_reason="unreadable")
    if entry.sidecar is None:
        return Source(**base, sha256=sha256, size=size)
    try:
        sidecar_sha256, sidecar_size = _hash_input(entry.sidecar)
    except Rejected as exc:
        return Source(**base, sha256=sha256, size=size, error=exc.detail,
                      error_reason="outside_seeds" if exc.reason == "outside_seeds" else "bad_sidecar")
    except OSError as exc:
        return Source(**base, sha256=sha256, size=size, error_reason="bad_sidecar",
                      error=f"{_label(entry.sidecar)}: cannot be read ({exc.strerror or exc})")
    return Source(**base, sha256=sha256, size=size, sidecar_sha256=sidecar_sha256, sidecar_size=sidecar_size)


def scan_sources(folder: Path) -> list[Source]:
    """Every document in the folder (list_documents), sorted by name, with its hash and its
    sidecar's, or the reason it cannot be read."""
    return [scan_entry(entry) for entry in list_documents(folder)]


# --- sidecars ------------------------------------------------------------------------------
# What a sidecar may declare (README, "Sidecar files"). The checks are the model's; read_sidecar
# only reads the file and turns a ValidationError into a one-line reason.

_DETAIL_CHARS = 300  # a Rejected detail of the validation: one line, this long at most
_LINE_CHARS = 2000
_PROSE_CHARS = 10_000
_MAX_DRAFTS = 200
_INT64 = range(-(2**63), 2**63)
# C0 and C1 control characters and lone surrogates (which cannot be written as UTF-8). Free-text
# fields (title, source, notes) may hold line breaks and tabs; identifiers may not.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_PROSE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?", re.ASCII)
# RFC 5646 language tags: language (with extlangs), script, region, variants, extensions, private use.
_LANGUAGE_TAG = re.compile(r"""
    [a-z]{2,3}(?:-[a-z]{3}){0,3}
    (?:-[a-z]{4})?
    (?:-(?:[a-z]{2}|[0-9]{3}))?
    (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*
    (?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*
    (?:-x(?:-[a-z0-9]{1,8})+)?
    """, re.ASCII | re.IGNORECASE | re.VERBOSE)


def _short(value: object, chars: int = 40) -> str:
    """repr, cut: one line (control characters escaped) and short."""
    text = repr(value)
    return text if len(text) <= chars else text[:chars - 1] + "…"


def _check_chars(text: str, pattern: re.Pattern[str] = _CONTROL) -> str:
    found = pattern.search(text)
    if found:
        char = found.group()
        what = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
        raise ValueError(f"{what} (U+{ord(char):04X}) at position {found.start()} is not allowed")
    return text


def _check_prose(text: str) -> str:
    return _check_chars(text, _CONTROL_IN_PROSE)


def _check_date(text: str) -> str:
    match = _ISO_DATE.fullmatch(text)
    try:
        if match and datetime.date(int(match[1]), int(match[2]), int(match[3] or 1)):
            return text
    except ValueError:
        pass
    raise ValueError(f"must be an ISO 8601 date (YYYY-MM-DD or YYYY-MM) that exists, not {_short(text)}")


def _check_language(text: str) -> str:
    if not _LANGUAGE_TAG.fullmatch(text):
        raise ValueError(f"must be a BCP 47 language tag such as 'zh-Hans', 'zh' or 'en', not {_short(text)}")
    return text


def _check_notes(notes: str | dict) -> str | dict:
    """Free text, or a JSON object whose strings obey the free-text rules and whose numbers
    fit in 64 bits, and that is no longer than free text may be."""
    if isinstance(notes, str):
        if len(notes) > _PROSE_CHARS:
            raise ValueError(f"should have at most {_PROSE_CHARS:,} characters, not {len(notes):,}")
        return _check_prose(notes)

    def walk(value: object, where: str) -> None:
        if isinstance(value, str):
            try:
                _check_prose(value)
            except ValueError as exc:
                raise ValueError(f"at {where or 'the top'}: {exc}") from None
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key, f"{where or 'the top'}, key {_short(key)}")
                walk(item, f"{where}[{_short(key)}]")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"at {where}: {value} is not a JSON number")
        elif isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
            raise ValueError(f"at {where}: the integer does not fit in 64 bits")

    walk(notes, "")
    size = len(json.dumps(notes, ensure_ascii=False))
    if size > _PROSE_CHARS:
        raise ValueError(f"should have at most {_PROSE_CHARS:,} characters as JSON, not {size:,}")
    return notes


_Line = Annotated[str, Field(max_length=_LINE_CHARS), AfterValidator(_check_chars)]
_Title = Annotated[str, Field(max_length=_LINE_CHARS), AfterValidator(_check_prose)]
_Prose = Annotated[str, Field(max_length=_PROSE_CHARS), AfterValidator(_check_prose)]
_Date = Annotated[str, AfterValidator(_check_date)]  # kept as the declared string: "2020-09" stays a month
_Language = Annotated[str, Field(max_length=100), AfterValidator(_check_language)]
_Notes = Annotated[str | dict[str, Any], AfterValidator(_check_notes)]


class Sidecar(BaseModel):
    """A `<name>.meta.json`: any of these fields, each may be null. Strict: no coercion, so
    "74" is not a session and 74.0 not an integer."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    symbol: _Line | None = None
    doc_type: _Line | None = None
    title: _Title | None = None
    session: Annotated[int, Field(ge=1, le=200)] | None = None
    agenda_item: _Line | None = None
    date: _Date | None = None
    resolution_number: _Line | None = None
    plenary_meeting: Annotated[int, Field(ge=1, le=2000)] | None = None
    draft_symbols: Annotated[list[_Line], Field(max_length=_MAX_DRAFTS)] | None = None
    organ: _Line | None = None
    meeting: Annotated[int, Field(ge=1, le=100_000)] | None = None
    original_language: _Language | None = None
    job_number: _Line | None = None
    distribution: _Line | None = None
    language: _Language | None = None
    source: _Prose | None = None
    notes: _Notes | None = None


assert set(METADATA_FIELDS) <= set(Sidecar.model_fields), "a metadata field a sidecar cannot declare"
# How the fields' JSON types are named in a reason (the default: str).
_EXPECTED = {"session": "int", "plenary_meeting": "int", "meeting": "int", "draft_symbols": "list", "notes": "str/dict"}


def _json_type(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _one_line(text: str) -> str:
    return " ".join(text.removeprefix("Value error, ").split())


def _explain(errors: list[dict], value: dict, room: int) -> str:
    """Each bad field named, with pydantic's message: one line, at most `room` characters."""
    fields: dict[str, list[str]] = {}  # field: its problems, in the order pydantic found them
    unknown = False
    for error in errors:
        key, *rest = error["loc"] or ("?",)
        key, message = str(key), _one_line(error["msg"])
        name = _short(key)
        problems = fields.setdefault(key, [])
        if error["type"] == "extra_forbidden":
            unknown = True
            problem = f"unknown field {name} ({message})"
        elif error["type"].endswith("_type") and not (rest and isinstance(rest[0], int)):
            # the value's own type is wrong (a union reports once per member it tried)
            problem = f"field {name} must be {_EXPECTED.get(key, 'str')}, not {_json_type(value.get(key))}"
            previous = next((p for p in problems if p.startswith(problem)), None)
            if previous is not None:
                problems[problems.index(previous)] = f"{previous[:-1]}; {message})"
                continue
            problem += f" ({message})"
        elif error["type"].endswith("_type"):
            item = value[key][rest[0]]
            problem = (f"field {name} must be a list of strings: item {rest[0]} is "
                       f"{_json_type(item)} ({message})")
        else:
            where = "".join(f" item {part}" for part in rest if isinstance(part, int))
            problem = f"field {name}{where}: {message}"
        problems.append(problem)
    parts = [problem for problems in fields.values() for problem in problems]
    if unknown:
        parts.append(f"known fields: {', '.join(sorted(Sidecar.model_fields))}")
    text = "; ".join(parts)
    if len(text) > room and len(fields) > 1:
        text = f"{len(fields)} bad fields ({', '.join(map(_short, fields))}): {text}"
    return text if len(text) <= room else text[:room - 1] + "…"


def _label(path: Path) -> str:
    """The file's name as a reason shows it: storable (display_name), on one line."""
    name = display_name(path.name)
    return repr(name)[1:-1] if _CONTROL.search(name) else name


def read_sidecar(path: Path | None, *, max_bytes: int = MAX_SIDECAR_BYTES,
                 expected_sha256: str | None = None) -> dict:
    """The declared metadata, as the JSON gave them (the fields it holds, nulls included);
    raises Rejected("bad_sidecar", …) when it is not a JSON object that Sidecar accepts or
    cannot be read (outside_seeds for a link out of the folder), and Rejected("changing", …)
    when its bytes are not those of expected_sha256 (it changed since it was hashed)."""
    if path is None:
        return {}
    name = _label(path)
    try:
        with _open_input(path) as f:
            size = os.fstat(f.fileno()).st_size
            data = f.read(max_bytes + 1) if size <= max_bytes else None
    except Rejected as exc:
        raise Rejected("outside_seeds" if exc.reason == "outside_seeds" else "bad_sidecar", exc.detail) from exc
    except OSError as exc:
        raise Rejected("bad_sidecar", f"{name}: cannot be read ({exc.strerror or exc})") from exc
    if data is None or len(data) > max_bytes:
        size = size if data is None else len(data)
        raise Rejected("bad_sidecar", f"{name}: {size:,} bytes is over the sidecar limit of {max_bytes:,} bytes")
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise Rejected("changing", f"{name}: the sidecar changed while it was read: left for the next build")
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Rejected("bad_sidecar", f"{name}: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise Rejected("bad_sidecar", f"{name}: must hold a JSON object, not {type(value).__name__}")
    try:
        sidecar = Sidecar.model_validate(value)
    except ValidationError as exc:
        room = max(_DETAIL_CHARS - len(name) - 2, 120)
        raise Rejected("bad_sidecar", f"{name}: {_explain(exc.errors(include_url=False), value, room)}") from exc
    return {key: getattr(sidecar, key) for key in value}


def decode_bytes(data: bytes, *, name: str = "", max_bytes: int = DEFAULT_MAX_BYTES) -> Decoded:
    """Bytes to text: BOMs first, then strict UTF-8, then detection. Raises Rejected."""
    label = f"{name}: " if name else ""
    if len(data) > max_bytes:
        raise Rejected("too_large", f"{label}{len(data):,} bytes is over the limit of {max_bytes:,} bytes")
    if not data.strip():
        raise Rejected("empty", f"{label}the file is empty or holds only white space")
    source_format = formats.sniff(data)  # by content: a PDF named .txt is a PDF
    if source_format != "txt":
        return _read_format(source_format, data, label)
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise Rejected("binary", f"{label}the file is {what}, not text")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise Rejected("truncated" if exc.end >= len(data) - 3 else "undecodable",
                               f"{label}{encoding} with a byte-order mark, but invalid at byte {exc.start}") from exc
            return _checked(Decoded(text.lstrip("\ufeff"), encoding.replace("-sig", ""), 1.0), label)
    try:
        return _checked(Decoded(data.decode("utf-8"), "utf-8", 1.0), label)
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            raise Rejected("truncated", f"{label}UTF-8 text cut off in the middle of a character "
                           f"at byte {exc.start}") from exc
        utf8_error = exc
    if b"\x00" in data[:4096]:
        raise Rejected("binary", f"{label}the file holds NUL bytes and no byte-order mark: binary, not text")
    if len(data) < MIN_DETECT_BYTES:
        raise Rejected("undecodable", f"{label}not UTF-8, and {len(data)} bytes are too few to tell "
                       "its encoding: save it as UTF-8")
    detected = detect_encoding(data)
    if detected is None:
        _reject_if_truncated(data, label)
        raise Rejected("undecodable", f"{label}not text in any supported encoding "
                       f"(not UTF-8: {utf8_error.reason} at byte {utf8_error.start})")
    encoding, confidence = detected
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:  # detection looks at samples of a large file, decoding at all of it
        _reject_if_truncated(data, label)
        raise Rejected("undecodable", f"{label}looks like {encoding}, but byte {exc.start} is not "
                       f"{encoding}: {exc.reason}") from exc
    decoded = Decoded(text, encoding, confidence)
    if encoding in ("big5", "big5hkscs", "cp950"):
        decoded.warnings.append("traditional characters (Big5): kept as they are")
    return _checked(decoded, label)


def _read_format(source_format: str, data: bytes, label: str) -> Decoded:
    """A PDF, Word or HTML file through its reader (pipeline/lib/text/formats), then the checks
    every text gets."""
    try:
        extracted = formats.read(source_format, data, label=label.removesuffix(": "))
    except formats.Unreadable as exc:
        raise Rejected(exc.reason, exc.detail) from exc
    confidence = 1.0 if extracted.encoding else None
    return _checked(Decoded(extracted.text, extracted.encoding, confidence, list(extracted.warnings), source_format,
                            extracted.pages, extracted.page_map), label)


def _reject_if_truncated(data: bytes, label: str) -> None:
    """Raise 'truncated' when the bytes are text in a multibyte encoding but for a last,
    incomplete character (a file cut off while it was copied or downloaded)."""
    for encoding in _MULTIBYTE:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(data, final=False)
        except UnicodeDecodeError:
            continue
        pending = len(decoder.getstate()[0])
        if pending and from_bytes(data[:-pending], cp_isolation=[encoding]).best() is not None:
            raise Rejected("truncated", f"{label}{encoding} text cut off in the middle of a character "
                           f"at byte {len(data) - pending}")


def _checked(decoded: Decoded, label: str) -> Decoded:
    text = decoded.text
    if decoded.source_format == "txt":
        decoded.pages, decoded.page_map = formats.form_feed_pages(text)
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")
    if controls > max(8, len(text) // 100):
        raise Rejected("binary", f"{label}{controls} control characters: binary, not text")
    if not text.translate(_INVISIBLE).strip():
        raise Rejected("empty", f"{label}the file holds only white space or invisible characters")
    _check_content(text, label)  # markup, no words, no Chinese (below)
    if "\ufffd" in text:
        decoded.warnings.append("the text holds U+FFFD replacement characters from an earlier conversion")
    return decoded


# --- what the text is: markup, words, Chinese, and which script -----------------------------
# Decoding sets aside (README, "When something goes wrong") a page of markup (`markup`), a text
# with no letter or digit at all (`empty`: punctuation alone makes no sentences worth keeping)
# and a text with no Chinese character (`not_chinese`). The language of a kept text is its
# script's: text_language.

# Han characters: CJK Unified Ideographs, Extension A, the compatibility ideographs, 〇 and the
# supplementary-plane extensions.
_HAN = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af]")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")  # of any script, Han included
# A tag of an HTML element that a page saved as text holds (an HTML-to-text conversion is not
# attempted: a hand-made one would keep scripts and lose structure).
_HTML_TAG = re.compile(
    r"</?(html|head|body|title|meta|link|script|style|div|span|p|br|hr|a|img|table|thead|tbody|tr|td|th|"
    r"ul|ol|li|dl|dt|dd|h[1-6]|b|i|u|em|strong|font|sup|sub|center|section|article|header|footer|nav|"
    r"main|form|input|pre|blockquote|iframe|o:p)\b[^<>]{0,1000}>", re.IGNORECASE)
_MARKUP_START = ("<!doctype html", "<html", "<?xml")
# This many HTML tags make a text markup; fewer do when there is one in every
# MARKUP_CHARS_PER_TAG characters (a short fragment such as "<p>…</p><p>…</p>").
MARKUP_TAGS = 10
MARKUP_CHARS_PER_TAG = 100


def _check_content(text: str, label: str) -> None:
    """Raise Rejected when the decoded text is markup, holds no letter or digit, or no Chinese."""
    head = text[:1000].lstrip().lower()
    tags = []
    for match in _HTML_TAG.finditer(text):
        tags.append(match.group(1).lower())
        if len(tags) >= MARKUP_TAGS:
            break
    started = next((start for start in _MARKUP_START if head.startswith(start)), None)
    if started or len(tags) >= MARKUP_TAGS or (len(tags) >= 2 and len(tags) * MARKUP_CHARS_PER_TAG >= len(text)):
        if started == "<?xml" and "<html" not in text[:5000].lower():
            raise Rejected("markup", f"{label}XML (it starts with '<?xml'), not plain text: export the text")
        found = (f"it starts with {text[:1000].lstrip()[:len(started)]!r}" if started else
                 f"{'at least ' if len(tags) >= MARKUP_TAGS else ''}{len(tags)} HTML tags, the first <{tags[0]}>")
        raise Rejected("markup", f"{label}HTML ({found}), not plain text: "
                       "save the whole web page (it is read as HTML), or export the text")
    if not _LETTER_OR_DIGIT.search(text):
        raise Rejected("empty", f"{label}no letter, digit or Chinese character: only punctuation and "
                       f"symbols ({len(text):,} characters)")
    if not _HAN.search(text):
        raise Rejected("not_chinese", f"{label}no Chinese characters were found in its {len(text):,} "
                       "characters: the corpus holds texts in Chinese")


# Encodings that hold traditional characters only: a text decoded from one is zh-Hant.
TRADITIONAL_ENCODINGS = frozenset({"big5", "big5hkscs", "cp950"})
# The language is judged on at most this many characters: 20 slices spread over a longer text.
LANGUAGE_SAMPLE = 200_000
_SCRIPT_ONLY: tuple[frozenset[str], frozenset[str]] | None = None


def _han_of(encoding: str, leads: range, trails: range) -> set[str]:
    """Every Han character of a double-byte encoding, from Python's own codec table."""
    found = set()
    for lead in leads:
        for trail in trails:
            try:
                char = bytes((lead, trail)).decode(encoding)
            except UnicodeDecodeError:
                continue
            if _HAN.fullmatch(char):
                found.add(char)
    return found


def script_only() -> tuple[frozenset[str], frozenset[str]]:
    """(traditional-only, simplified-only) Han characters: those Big5 holds and GB2312 does not,
    and the reverse. GB2312 (1980) is the character set of simplified Chinese, Big5 (1984) that of
    traditional Chinese; a character both hold is written alike in both scripts (的, 大), while 议 is
    GB2312's alone and 議 Big5's. About 8,700 and 2,400 characters, from the codec tables of
    Python's standard library, so there is no list to keep up to date."""
    global _SCRIPT_ONLY
    if _SCRIPT_ONLY is None:
        simplified = _han_of("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
        traditional = _han_of("big5", range(0x81, 0xFF), range(0x40, 0xFF))
        _SCRIPT_ONLY = frozenset(traditional - simplified), frozenset(simplified - traditional)
    return _SCRIPT_ONLY


def text_language(text: str, encoding: str | None = None) -> str:
    """The BCP 47 tag of a Chinese text's script: 'zh-Hant' when it was decoded from Big5 or holds
    more traditional-only than simplified-only characters, else 'zh-Hans' (also for a text whose
    characters are all written alike in both scripts). A sidecar's `language` overrides it."""
    if encoding in TRADITIONAL_ENCODINGS:
        return "zh-Hant"
    if len(text) > LANGUAGE_SAMPLE:
        step = len(text) // 20
        text = "".join(text[i:i + LANGUAGE_SAMPLE // 20] for i in range(0, 20 * step, step))
    traditional, simplified = script_only()
    return "zh-Hant" if sum(map(traditional.__contains__, text)) > sum(map(simplified.__contains__, text)) \
        else "zh-Hans"
