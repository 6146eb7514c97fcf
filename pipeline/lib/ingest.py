"""Reading source files: discovery, sidecars, decoding, and the reasons a file is set aside.

A document is any regular file in the seeds folder that is not hidden and not a
sidecar. Its sidecar, `<name>.meta.json` beside it (for `report.txt`: `report.meta.json`),
declares metadata the text lacks. Nothing here ever turns a name from a file or a
sidecar into a path: ids are sanitised to one safe path component.
"""
from __future__ import annotations

import codecs
import datetime
import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from charset_normalizer import from_bytes
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from pipeline.lib.storage import sha256_file
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
# Encodings detection chooses among, after BOMs and strict UTF-8. The corpus is Chinese: on a tie
# (a short GB18030 text also decodes as EUC-KR, a short Big5 one as Shift-JIS) Chinese wins.
_DETECTED = ["gb18030", "big5", "utf_16", "shift_jis", "euc_kr", "cp1252"]
_CHINESE = {"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950"}
_MULTIBYTE = ("gb18030", "big5", "shift_jis", "euc_kr")
# Below this many bytes, text that is not UTF-8 cannot be told from another encoding or from noise.
MIN_DETECT_BYTES = 16
MAX_SIDECAR_BYTES = 1024 * 1024
# Invisible characters cleaning drops: a file of nothing else is empty.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


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
    error: str | None = None  # why the file could not be read, if it could not

    @property
    def content_key(self) -> str:
        """Changes when the document or its sidecar changes (see content_key)."""
        return content_key(self.sha256, self.sidecar_sha256)


@dataclass
class Decoded:
    text: str
    encoding: str
    confidence: float
    warnings: list[str] = field(default_factory=list)


def doc_id_for(path: Path) -> str:
    """A stable id from the file name: one safe path component, never '.' or '..'."""
    stem = path.name[:-4] if path.name.lower().endswith(".txt") else path.name
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", unicodedata.normalize("NFKC", stem)).strip("._-")[:100]
    if not safe or safe != stem:
        # The name lost characters: a hash of the whole name keeps the id the file's own,
        # whatever other files sit beside it (报告 2020.txt and 决议 2020.txt both give '2020').
        safe = f"{safe or 'doc'}_{hashlib.sha256(path.name.encode()).hexdigest()[:8]}"
    return safe




def is_document_file(path: Path) -> bool:
    return (path.is_file() and not path.name.startswith(".")
            and not path.name.endswith(SIDECAR_SUFFIX))


def sidecar_for(path: Path) -> Path:
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return path.with_name(stem + SIDECAR_SUFFIX)


def scan_sources(folder: Path) -> list[Source]:
    """Every document in the folder, sorted by name, with its hash and sidecar.

    Two files that sanitise to the same id get the later one suffixed with a hash,
    so ids stay distinct and stable.
    """
    sources: list[Source] = []
    seen: set[str] = set()
    for path in sorted(p for p in Path(folder).iterdir() if is_document_file(p)):
        doc_id = doc_id_for(path)
        if doc_id in seen:
            doc_id = f"{doc_id}_{hashlib.sha256(path.name.encode()).hexdigest()[:8]}"
        seen.add(doc_id)
        sidecar = sidecar_for(path)
        has_sidecar = sidecar.is_file()
        try:
            sources.append(Source(
                doc_id=doc_id, path=path, sidecar=sidecar if has_sidecar else None,
                sha256=sha256_file(path), size=path.stat().st_size,
                sidecar_sha256=sha256_file(sidecar) if has_sidecar else None,
            ))
        except OSError as exc:  # unreadable, or gone since the listing: set aside, never fatal
            sources.append(Source(doc_id=doc_id, path=path, sidecar=sidecar if has_sidecar else None,
                                  sha256="", size=0, error=f"{path.name}: cannot be read ({exc.strerror or exc})"))
    return sources


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
    language: _Language | None = None
    source: _Prose | None = None
    notes: _Notes | None = None


assert set(METADATA_FIELDS) <= set(Sidecar.model_fields), "a metadata field a sidecar cannot declare"
# How the fields' JSON types are named in a reason (the default: str).
_EXPECTED = {"session": "int", "plenary_meeting": "int", "draft_symbols": "list", "notes": "str/dict"}


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
    """The file's name as a reason shows it: on one line."""
    return repr(path.name)[1:-1] if _CONTROL.search(path.name) else path.name


def read_sidecar(path: Path | None, *, max_bytes: int = MAX_SIDECAR_BYTES) -> dict:
    """The declared metadata, as the JSON gave them (the fields it holds, nulls included);
    raises Rejected("bad_sidecar", …) when it is not a JSON object that Sidecar accepts."""
    if path is None:
        return {}
    name = _label(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Rejected("bad_sidecar", f"{name}: cannot be read ({exc.strerror})") from exc
    if size > max_bytes:
        raise Rejected("bad_sidecar", f"{name}: {size:,} bytes is over the sidecar limit of {max_bytes:,} bytes")
    try:
        value = json.loads(path.read_bytes().decode("utf-8-sig"))
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
    detected = _detect(data)
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


def _detect(data: bytes) -> tuple[str, float] | None:
    """charset-normalizer's choice (Chinese on a tie) and its confidence, 1 - chaos."""
    matches = list(from_bytes(data, cp_isolation=_DETECTED))
    if matches:
        best = min(matches, key=lambda m: (round(float(m.chaos), 3), m.encoding not in _CHINESE,
                                           -float(m.coherence)))
        encoding = "gb18030" if best.encoding in ("gb2312", "gbk") else best.encoding  # the superset
        return encoding, round(1.0 - float(best.chaos), 4)
    # Zero-width characters and soft hyphens look like noise to the detector: when a Chinese
    # encoding decodes the bytes strictly, let the detector judge the visible text alone.
    for encoding in ("gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        visible = text.translate(_INVISIBLE)
        if visible == text or not visible.strip():
            continue
        again = _detect(visible.encode(encoding))
        if again is not None and again[0] == encoding:
            return again
    return None


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
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")
    if controls > max(8, len(text) // 100):
        raise Rejected("binary", f"{label}{controls} control characters: binary, not text")
    if not text.translate(_INVISIBLE).strip():
        raise Rejected("empty", f"{label}the file holds only white space or invisible characters")
    if "\ufffd" in text:
        decoded.warnings.append("the text holds U+FFFD replacement characters from an earlier conversion")
    return decoded
