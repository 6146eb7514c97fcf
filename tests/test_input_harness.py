"""A harness over hostile inputs (issue 14, "A harness, not just cases"): generated file names and
sidecars, built in-process the way `unparl build` walks a folder.

Names are any bytes a POSIX file name may hold (1 to 255 bytes, no '/' and no NUL, not '.' or
'..'): bytes that are not UTF-8, names at the length limit, names that differ only in case,
names ending in `.meta.json`, hidden names. Sidecars hold any JSON value in any field of the
README's "Sidecar files" table, unknown fields, integers beyond 64 bits, NaN-like strings, NUL
and nested objects, or are not JSON at all. For every generated folder: planning, the stages
and the corpus assembly raise nothing and fail no document; every document gets exactly one
status row, under a distinct, lossless name; good documents (Chinese text, valid or absent
sidecar) are released; bad ones are quarantined with a reason from the README's table and a
detail naming the file (the sidecar, for `bad_sidecar`); nothing outside the data folder is
written.

The build is the one `unparl build` runs without Dagster: planning.plan, runner.run_documents,
stamps.write_stamp for each document not failed, corpus.assemble.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pipeline.lib import chain, planning, runner, stamps
from pipeline.lib.corpus import assemble

REPO = Path(__file__).resolve().parents[1]
SETTINGS = "x"
NAME_MAX = 255
SIDECAR = b".meta.json"


def documented_reasons() -> set[str]:
    readme = (REPO / "README.md").read_text("utf-8")
    table = readme[readme.index("## When something goes wrong"):]
    table = table[:table.index("\n## ", 3)]
    return set(re.findall(r"^\| `(\w+)` \|", table, re.M))


REASONS = documented_reasons()


# --- file names -------------------------------------------------------------------------------

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
PIECE = st.one_of(
    st.binary(min_size=1, max_size=12),  # any bytes at all
    st.text(CJK, min_size=1, max_size=12).map(lambda s: s.encode("utf-8")),
    st.text(CJK, min_size=1, max_size=12).map(lambda s: s.encode("gbk")),  # 报告.txt saved in GBK
    st.sampled_from([b"report", b"Report", b"A", b"a", b"\\xff", b"\\", b" ", b"\n", b"\t", b"\r", b"\x1b", b"\x7f",
                     b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x80\x8b", b"-", b"~", b"*", b"?", b"'", b'"', b"..",
                     b"%s", b"{}", b"CON", b".txt", b".meta", b".meta.json", b"2020", b"A_74_759"]),
)
SUFFIX = st.sampled_from([b".txt", b".txt", b".txt", b".TXT", b"", b".md", b".", b".meta.json", b".txt.meta.json",
                          b".Meta.JSON"])
PREFIX = st.sampled_from([b"", b"", b"", b"", b".", b".."])
PADDING = "报告".encode("utf-8") * 50  # long enough to bring any name to the limit


@st.composite
def file_names(draw) -> bytes:
    prefix, suffix = draw(PREFIX), draw(SUFFIX)
    stem = b"".join(draw(st.lists(PIECE, min_size=1, max_size=4)))
    if draw(st.integers(0, 4)) == 0:  # a name at or near the limit, cut where it falls (mid-character too)
        length = draw(st.integers(240, NAME_MAX))
        stem = (stem + PADDING)[:max(1, length - len(prefix) - len(suffix))]
    name = (prefix + stem)[:NAME_MAX - len(suffix)] + suffix
    name = name.replace(b"/", b"_").replace(b"\x00", b"_")
    return name if name not in (b".", b"..") else name + b"x"


# --- texts --------------------------------------------------------------------------------------

GOOD_TEXTS = [
    "大会\n\n{i}. 欢迎各国议会联盟的工作。\n",
    "尊敬的主席先生：\n\n我谨代表我国政府，感谢您在本届会议期间的出色领导。第{i}段。\n",
    "第七十四届会议\n议程项目{i}\n\n联合国系统的活动\n\n秘书长的报告\n",
    # A whole web page is read as HTML, whatever its name and in any of these encodings.
    "<!DOCTYPE html><html><body><p>大会</p><p>{i}. 欢迎各国议会联盟的工作。</p></body></html>",
]
ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-16"]  # UTF-16 with its byte-order mark
BAD_TEXTS = [
    b"", b"  \n\t \r\n", "\u200b\u200b\n".encode(), "。，！？……\n".encode(), b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n",
    b"PK\x03\x04\x14\x00\x00\x00", b"\x89PNG\r\n\x1a\n\x00\x00", b"Hello, world. This is an English letter.\n",
    "<p>大会</p><p>欢迎</p>".encode(), "大会".encode()[:-1],  # an HTML fragment is markup
    b"\xff\xfe\xfd", b"\x00\x01\x02\x03" * 10,
]


@dataclass(frozen=True)
class Text:
    kind: str  # good, bad, or either (bytes whose fate is not known in advance)
    choice: int = 0
    encoding: str = "utf-8"
    data: bytes = b""

    def bytes(self, i: int) -> bytes:
        if self.kind == "good":
            return GOOD_TEXTS[self.choice % len(GOOD_TEXTS)].format(i=i).encode(self.encoding)
        if self.kind == "bad":
            return BAD_TEXTS[self.choice % len(BAD_TEXTS)]
        return self.data


TEXTS = st.one_of(
    st.builds(Text, st.just("good"), st.integers(0, 99), st.sampled_from(ENCODINGS)),
    st.builds(Text, st.just("good"), st.integers(0, 99)),
    st.builds(Text, st.just("bad"), st.integers(0, len(BAD_TEXTS) - 1)),
    st.builds(Text, st.just("either"), data=st.binary(max_size=48)),
    st.builds(Text, st.just("either"), data=st.text(CJK, min_size=4, max_size=30).map(lambda s: s.encode("gbk"))),
)


# --- sidecars -------------------------------------------------------------------------------------
# Each generated sidecar carries a verdict: valid, invalid, or unknown (valid or not by rules of
# form the README leaves open, such as how long a title may be): a valid one leaves a good text
# released, an invalid one sets it aside as bad_sidecar, an unknown one may do either.

LINE_FIELDS = ("symbol", "doc_type", "agenda_item", "resolution_number")  # identifiers: one line
PROSE_FIELDS = ("title", "source")  # free text: line breaks and tabs allowed
FIELDS = (*LINE_FIELDS, *PROSE_FIELDS, "session", "plenary_meeting", "date", "draft_symbols", "language", "notes")
LANGUAGES = ["zh-Hans", "zh-Hant", "zh", "en", "fr", "zh-Hant-TW", "zh-CN"]
INT64 = range(-(2**63), 2**63)
NAN_LIKE = ["NaN", "nan", "Infinity", "-Infinity", "null", "None", "1e999", "", " ", "\x00", "A/74/759\x00", "\ud800",
            "74", "74.0", "true", "2021-02-30", "2020-13-01", "20200904", "zh_Hans", "中文", "<script>alert(1)</script>"]

ANY_TEXT = st.one_of(st.text(max_size=20), st.sampled_from(NAN_LIKE), st.text(st.characters(codec="utf-8"), max_size=8))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 2, max_value=2**70),
                    st.integers(max_value=0, min_value=-(2**70)), st.floats(), ANY_TEXT)
ANY_JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(ANY_TEXT, inner, max_size=3)), max_leaves=8)
PLAIN_LINE = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)
VALID = {
    **{f: st.one_of(PLAIN_LINE, st.sampled_from(["A/74/759", "report", "125", "74/304"])) for f in LINE_FIELDS},
    **{f: st.text(st.characters(exclude_categories=("Cc", "Cs")) | st.sampled_from("\n\t"), max_size=60)
       for f in PROSE_FIELDS},
    "session": st.integers(1, 150), "plenary_meeting": st.integers(1, 500),
    "date": st.dates(datetime.date(1945, 1, 1), datetime.date(2100, 12, 31)).map(datetime.date.isoformat),
    "draft_symbols": st.lists(PLAIN_LINE, max_size=4), "language": st.sampled_from(LANGUAGES),
    "notes": st.one_of(PLAIN_LINE, st.dictionaries(PLAIN_LINE, st.one_of(
        st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
        PLAIN_LINE, st.lists(PLAIN_LINE, max_size=2)), max_size=3)),
}


def _controls(text: str, allowed: str = "") -> bool:
    return any((unicodedata.category(ch) in ("Cc", "Cs")) and ch not in allowed for ch in text)


def verdict(key: str, value) -> str:
    """Whether a field's value is one the README's sidecar table (and issue 14's rules of form:
    numbers in sane ranges, dates that exist, no NUL or control characters) accepts."""
    if key not in FIELDS:
        return "invalid"  # an unknown field, even when null
    if value is None:
        return "valid"
    if key in LINE_FIELDS or key in PROSE_FIELDS:
        if not isinstance(value, str) or _controls(value, "\n\t\r" if key in PROSE_FIELDS else ""):
            return "invalid"
        return "unknown" if "\r" in value or len(value) > 200 else "valid"
    if key in ("session", "plenary_meeting"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1 or value not in INT64:
            return "invalid"
        return "valid" if value <= (150 if key == "session" else 500) else "unknown"
    if key == "date":
        if not isinstance(value, str) or not re.search(r"\d", value) or _controls(value):
            return "invalid"
        try:
            return "valid" if datetime.date.fromisoformat(value).isoformat() == value else "unknown"
        except ValueError:
            return "invalid" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.A) else "unknown"
    if key == "language":
        if not isinstance(value, str) or not value or not value.isascii() or _controls(value) or " " in value:
            return "invalid"
        return "valid" if value in LANGUAGES else "unknown"
    if key == "draft_symbols":
        if not isinstance(value, list):
            return "invalid"
        return worst([verdict("symbol", item) if item is not None else "invalid" for item in value])
    if key == "notes":
        if isinstance(value, str):
            return verdict("title", value)
        if not isinstance(value, dict):
            return "invalid"
        found = []

        def walk(item) -> None:
            if isinstance(item, str):
                found.append(verdict("title", item))
            elif isinstance(item, float) and not math.isfinite(item):
                found.append("invalid")
            elif isinstance(item, int) and not isinstance(item, bool) and item not in INT64:
                found.append("invalid")
            elif isinstance(item, dict):
                for k, v in item.items():
                    walk(k)
                    walk(v)
            elif isinstance(item, list):
                for v in item:
                    walk(v)

        walk(value)
        return worst(found)
    raise AssertionError(key)


def worst(verdicts) -> str:
    verdicts = set(verdicts)
    return "invalid" if "invalid" in verdicts else "unknown" if "unknown" in verdicts else "valid"


@dataclass(frozen=True)
class Sidecar:
    data: bytes
    verdict: str


@st.composite
def sidecars(draw) -> Sidecar:
    shape = draw(st.integers(0, 9))
    if shape == 0:  # not a JSON object, or not JSON in UTF-8
        broken = [b"", b"{", b"{} x", b"\xff\xfe{}", b"[]", b"null", b"NaN", b'"title"', b"74",
                  '{"title": "大会"}'.encode("gbk"), '{"title": "大会"}'.encode("utf-16"), b"{" * 5000 + b"}" * 5000]
        return Sidecar(draw(st.sampled_from(broken) | ANY_JSON.map(lambda v: json.dumps([v]).encode())), "invalid")
    value = {}
    for key in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=5)):
        value[key] = draw(VALID[key] if draw(st.booleans()) else ANY_JSON)
    if shape == 1:  # unknown fields: a typo, another case, anything
        value[draw(st.sampled_from(["Session", "sesion", "symbols", "extra", "", "\x00", "title "]) | ANY_TEXT)] = \
            draw(ANY_JSON)
    found = worst(verdict(k, v) for k, v in value.items())
    data = json.dumps(value, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data  # a UTF-8 byte-order mark, as Windows editors write it
    return Sidecar(data, found)


# --- the world: a folder that is the whole file system the build may touch ------------------------

@dataclass
class Folder:
    files: dict[bytes, bytes] = field(default_factory=dict)
    texts: dict[bytes, str] = field(default_factory=dict)  # document name -> good, bad, either
    sidecars: dict[bytes, str] = field(default_factory=dict)  # sidecar name -> valid, invalid, unknown
    seed: bytes = b"seed.txt"


def sidecar_name(name: bytes) -> bytes:
    """README: for `seeds/report.txt`, `seeds/report.meta.json`."""
    return (name.rsplit(b".", 1)[0] if b"." in name else name) + SIDECAR


def is_document(name: bytes) -> bool:
    """README (Security): every entry whose name does not start with '.' and does not end with
    '.meta.json', except folders."""
    return not name.startswith(b".") and not name.endswith(SIDECAR)


@st.composite
def folders(draw) -> Folder:
    folder = Folder()
    folder.files[folder.seed] = GOOD_TEXTS[0].format(i=1).encode()
    folder.texts[folder.seed] = "good"
    reserved = {sidecar_name(folder.seed)}
    if draw(st.booleans()):  # the good document sometimes has a valid sidecar
        sidecar = Sidecar(json.dumps({k: draw(VALID[k]) for k in draw(st.lists(st.sampled_from(FIELDS), unique=True,
                                                                                 max_size=4))}).encode(), "valid")
        folder.files[sidecar_name(folder.seed)] = sidecar.data
        folder.sidecars[sidecar_name(folder.seed)] = "valid"
    count = 2

    def put_text(name: bytes, text: Text) -> None:
        nonlocal count
        if name in folder.files or name in reserved:
            return
        count += 1
        folder.files[name] = text.bytes(count)
        folder.texts[name] = text.kind

    def put_sidecar(name: bytes, sidecar: Sidecar) -> None:
        if name in folder.files or name in reserved or len(name) > NAME_MAX:
            return  # a name too long for the file system: the document has no sidecar
        folder.files[name] = sidecar.data
        folder.sidecars[name] = sidecar.verdict

    for _ in range(draw(st.integers(1, 5))):
        name = draw(file_names())
        if name.endswith(SIDECAR):  # a sidecar, perhaps of no document
            put_sidecar(name, draw(sidecars()))
            continue
        text = draw(TEXTS)
        put_text(name, text)
        if draw(st.booleans()) and not name.startswith(b"."):
            put_sidecar(sidecar_name(name), draw(sidecars()))
        if draw(st.integers(0, 3)) == 0 and name.swapcase() != name:  # A.txt beside a.txt
            put_text(name.swapcase(), text)
        if draw(st.integers(0, 3)) == 0 and display(name).encode() != name:
            put_text(display(name).encode()[:NAME_MAX], draw(TEXTS))  # a UTF-8 name spelling \xNN out
    if draw(st.integers(0, 4)) == 0:  # a copy of the good document under another name
        name = draw(file_names())
        if is_document(name) and name not in folder.files and sidecar_name(name) not in folder.files:
            folder.files[name] = folder.files[folder.seed]
            folder.texts[name] = "copy"
    return folder


def display(name: bytes) -> str:
    """README: a name that is not UTF-8 is recorded with each such byte escaped as \\xNN (and a
    backslash of the name's own that would read as such an escape, as \\x5c)."""
    return re.sub(rb"\\(?=x[0-9A-Fa-f]{2})", rb"\\x5c", name).decode("utf-8", "backslashreplace")


def undisplay(recorded: str) -> bytes:
    """The name's bytes back from the recorded name: each \\xNN is the byte NN."""
    parts = re.split(r"\\x([0-9A-Fa-f]{2})", recorded)
    return b"".join(bytes([int(p, 16)]) if i % 2 else p.encode("utf-8") for i, p in enumerate(parts))


def named(detail: str, name: bytes) -> bool:
    shown = display(name)
    return shown in detail or repr(shown)[1:-1] in detail


def snapshot(world: bytes, skip: bytes) -> dict[bytes, tuple]:
    """Every entry under world but skip: its kind, size and content hash (bytes paths)."""
    found = {}
    for top, dirs, files in os.walk(world):
        dirs[:] = [d for d in dirs if os.path.join(top, d) != skip]
        for name in dirs + files:
            path = os.path.join(top, name)
            info = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            found[os.path.relpath(path, world)] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return found


def build(seeds: Path, data: Path):
    """What `unparl build` does for a new folder, without Dagster."""
    plan = planning.plan(seeds, data, known=set(), settings=SETTINGS)
    keys = plan.to_process
    outcomes = runner.run_documents(keys, data_dir=data, seeds_dir=seeds, workers=1)
    for key, by_stage in outcomes.items():
        if not any(o.status == "failed" or o.reason == "changing" for o in by_stage.values()):
            stamps.write_stamp(data, key, chain.NAMES, SETTINGS)
    return plan, outcomes, assemble(data, keys)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """One build first, so the tokenizer's dictionary (and its cache in the system's temporary
    folder) is loaded before the examples' worlds are watched."""
    root = tmp_path_factory.mktemp("warm")
    (root / "seeds").mkdir()
    (root / "seeds" / "a.txt").write_text(GOOD_TEXTS[0].format(i=1), "utf-8")
    *_, corpus = build(root / "seeds", root / "data")
    assert corpus.status.column("status").to_pylist() == ["ok"]


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(folder=folders())
def test_any_folder_builds_releases_the_good_and_sets_aside_the_bad_writing_only_data(warm, folder):
    with tempfile.TemporaryDirectory(prefix="unparl-harness-") as root:
        world = Path(root)
        seeds, data, elsewhere, cwd, tmp = (world / n for n in ("seeds", "data", "elsewhere", "cwd", "tmp"))
        for path in (seeds, elsewhere, cwd, tmp):
            path.mkdir()
        (elsewhere / "secret.txt").write_text("机密：不得公布的文字。\n", "utf-8")
        for name, data_bytes in folder.files.items():
            with open(os.path.join(os.fsencode(seeds), name), "wb") as f:
                f.write(data_bytes)
        before = snapshot(os.fsencode(world), os.fsencode(data))
        # Relative paths and temporary files land in the world too, where they are seen.
        here, temp = os.getcwd(), tempfile.tempdir
        os.chdir(cwd)
        tempfile.tempdir = str(tmp)
        try:
            plan, outcomes, corpus = build(seeds, data)
        finally:
            os.chdir(here)
            tempfile.tempdir = temp
        after = snapshot(os.fsencode(world), os.fsencode(data))
        assert after == before, ("written outside the data folder",
                                 sorted(set(after.items()) ^ set(before.items())))
        check(folder, plan, outcomes, corpus)


def check(folder: Folder, plan, outcomes, corpus) -> None:
    """What the build of the folder must have given (the corpus's files are still there)."""
    documents = sorted(n for n in folder.files if is_document(n))
    # Planned: every document, under an id that is one safe file name, distinct ignoring case.
    keys = plan.to_process
    assert len(keys) == len(documents), (plan.summary(), documents)
    assert len({k.lower() for k in keys}) == len(keys), keys
    for key in keys:
        assert re.fullmatch(r"[0-9A-Za-z_][0-9A-Za-z_.-]*", key) and len(f"{key}.parquet") <= NAME_MAX, key
    # The build fails nothing: an input is quarantined, never an error.
    failed = {(d, s, o.detail) for d, by in outcomes.items() for s, o in by.items() if o.status == "failed"}
    assert not failed, failed
    statuses = corpus.status.to_pylist()
    assert sorted(r["doc_id"] for r in statuses) == sorted(keys)
    # Each document's row is found by its recorded name, which is lossless: one row per file.
    by_name: dict[str, list[dict]] = {}
    for row in statuses:
        by_name.setdefault(row["source_file"], []).append(row)
    assert sorted(map(undisplay, by_name)) == documents, (sorted(by_name), documents)
    assert sorted(by_name) == sorted(map(display, documents)), (sorted(by_name), documents)
    assert all(len(rows) == 1 for rows in by_name.values()), [n for n, rows in by_name.items() if len(rows) > 1]

    copies = [n for n in documents if folder.texts[n] == "copy"] + [folder.seed]
    released = {r["doc_id"] for r in statuses if r["status"] == "ok"}
    assert set(corpus.documents.column("doc_id").to_pylist()) == released
    for name in documents:
        row = by_name[display(name)][0]
        text = folder.texts[name]
        sidecar = sidecar_name(name)
        has_sidecar = len(sidecar) <= NAME_MAX and sidecar in folder.files
        verdict_ = folder.sidecars[sidecar] if has_sidecar else "valid"
        context = (name, row, verdict_, folder.files.get(sidecar) if has_sidecar else None)
        if row["status"] != "ok":
            assert row["status"] == "quarantined", context
            assert row["reason"] in REASONS, context
            blamed = sidecar if row["reason"] == "bad_sidecar" else name
            assert named(row["detail"] or "", blamed), context
        if text == "copy" or name == folder.seed and len(copies) > 1:
            continue  # one of the copies, below
        if text == "good" and verdict_ == "valid":
            assert row["status"] == "ok", context
        elif text == "good" and verdict_ == "invalid":
            assert (row["status"], row["reason"]) == ("quarantined", "bad_sidecar"), context
        elif text == "good":
            assert row["status"] == "ok" or row["reason"] == "bad_sidecar", context
        elif text == "bad":
            assert row["status"] == "quarantined" and row["reason"] != "bad_sidecar", context
    # Of files with the same bytes, exactly one is released; the others are duplicates.
    rows = [by_name[display(n)][0] for n in copies]
    assert sorted(r["status"] for r in rows) == ["ok"] + ["quarantined"] * (len(rows) - 1), rows
    assert all(r["reason"] == "duplicate" for r in rows if r["status"] != "ok"), rows
    # The good document's text is released: its paragraphs are in the corpus.
    seed_id = next(r["doc_id"] for r in rows if r["status"] == "ok")
    paragraphs = corpus.tables()["paragraphs"].read(["doc_id", "text"]).to_pylist()
    assert any(p["doc_id"] == seed_id and "欢迎各国议会联盟的工作" in p["text"] for p in paragraphs), paragraphs
    # The quarantine lists exactly the documents set aside.
    assert sorted(corpus.quarantine.column("source_file").to_pylist()) == sorted(
        r["source_file"] for r in statuses if r["status"] == "quarantined")
