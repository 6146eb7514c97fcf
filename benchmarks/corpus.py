"""A synthetic corpus of N documents built from the seeds, for the benchmark.

Each document is one of the seeds with its numbered paragraphs shuffled within their
section, some dropped and some repeated (so lengths vary from about a third to one and a half
of the seed's), then renumbered 1 … n; its own symbol (in the text where the text prints one,
and in a sidecar) and its own file name, so every document is distinct and nothing is shared
between them but the dictionary. Footnote markers and bodies are left out: shuffled, they
would no longer match. The same seed number gives the same corpus.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
# Blank lines part blocks; so does a numbered line (some paragraphs lost their blank line).
_BLOCKS = re.compile(r"\n[ \t\u3000]*\n+|\n(?=\d+\. )")
_NUMBERED = re.compile(r"^(\d+)\. ")
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+|[A-Z])\. ")
_FOOTNOTE_BODY = re.compile(r"^[¹²³⁴⁵⁶⁷⁸⁹⁰]+ ")
_MARKER = re.compile(r"(?<=\S)[¹²³⁴⁵⁶⁷⁸⁹⁰]+")
_CLOSING = re.compile(r"全体会议|^\d{4} 年 \d+ 月 \d+ 日$")
_RES_NUMBER = re.compile(r"^(\d+)/(\d+)\. ", re.M)


@dataclass
class Template:
    name: str
    doc_type: str
    head: list[str]                 # blocks before the first numbered paragraph
    sections: list[tuple[str | None, list[list[str]]]]  # (heading, chunks); a chunk = its blocks
    tail: list[str]                 # closing blocks (date, plenary meeting)


def _template(path: Path, sidecar: dict) -> Template:
    blocks = [b.strip("\n") for b in _BLOCKS.split(path.read_text("utf-8")) if b.strip()]
    blocks = [_MARKER.sub("", b) for b in blocks if not _FOOTNOTE_BODY.match(b.strip())]
    first = next(i for i, b in enumerate(blocks) if _NUMBERED.match(b))
    head, rest = blocks[:first], blocks[first:]
    end = next((i for i, b in enumerate(rest) if _CLOSING.search(b.strip())), len(rest))
    body, tail = rest[:end], rest[end:]
    sections: list[tuple[str | None, list[list[str]]]] = [(None, [])]
    for block in body:
        if _HEADING.match(block):
            sections.append((block, []))
        elif _NUMBERED.match(block) or not sections[-1][1]:
            sections[-1][1].append([block])
        else:  # a paragraph's continuation (page break, list items) stays with it
            sections[-1][1][-1].append(block)
    doc_type = sidecar.get("doc_type") or ("resolution" if "RES" in sidecar.get("symbol", "") else "report")
    return Template(path.stem, doc_type, head, [s for s in sections if s[0] or s[1]], tail)


def templates(seeds_dir: Path = SEEDS) -> list[Template]:
    found = []
    for path in sorted(seeds_dir.glob("*.txt")):
        sidecar_path = path.with_name(path.stem + ".meta.json")
        sidecar = json.loads(sidecar_path.read_text("utf-8")) if sidecar_path.exists() else {}
        found.append(_template(path, sidecar))
    return found


def synthesize(template: Template, index: int, rng: random.Random) -> tuple[str, dict]:
    """One document's text and sidecar."""
    session = 60 + index % 20
    number = 1000 + index
    head = list(template.head)
    out = head[:]
    counter = 0
    for heading, chunks in template.sections:
        if heading:
            out.append(heading)
        if not chunks:
            continue
        share = rng.uniform(0.35, 1.5)
        k = max(1, round(len(chunks) * share))
        picked = rng.sample(chunks, min(k, len(chunks))) + rng.choices(chunks, k=max(0, k - len(chunks)))
        rng.shuffle(picked)
        for chunk in picked:
            counter += 1
            first = _NUMBERED.sub(f"{counter}. ", chunk[0], count=1) if _NUMBERED.match(chunk[0]) else chunk[0]
            out.extend([first, *chunk[1:]])
    out.extend(template.tail)
    text = "\n\n".join(out) + "\n"
    if template.doc_type == "resolution":
        text = _RES_NUMBER.sub(f"{session}/{number}. ", text, count=1)
        symbol = f"A/RES/{session}/{number}"
    else:
        symbol = f"A/{session}/{number}"
    sidecar = {"symbol": symbol, "doc_type": template.doc_type,
               "source": f"benchmark: synthesised from seed {template.name} (document {index})"}
    return text, sidecar


def write_document(folder: Path, index: int, text: str, sidecar: dict) -> Path:
    path = folder / f"bench_{index:06d}.txt"
    path.write_text(text, "utf-8")
    path.with_name(path.stem + ".meta.json").write_text(json.dumps(sidecar, ensure_ascii=False, indent=1), "utf-8")
    return path


def build_corpus(folder: Path, n: int, *, seed: int = 20200904, start: int = 0) -> list[Path]:
    """Writes documents start … start+n-1 into folder; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    found = templates()
    paths = []
    for index in range(start, start + n):
        rng = random.Random(seed * 1_000_003 + index)
        text, sidecar = synthesize(found[index % len(found)], index, rng)
        paths.append(write_document(folder, index, text, sidecar))
    return paths
