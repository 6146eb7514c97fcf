"""PDF reading against the tokenizer: `make bench`'s formats section, or `python -m benchmarks.formats`.

The seeds (and the A/RES/61/211 sample) are typeset as UN PDFs (tests/un_layout.py); for each
the PDF reader's time (PDFium's text runs, lines, furniture removal, footnotes, paragraphs) is
set against the tokenizer's (the tokens stage's work: pipeline.lib.text.tokens.tokenize_columns
with the backend) on the same document's sentences. Each is the best of RUNS, as other work on
the machine only ever adds time. Target (issue 16): reading costs at most 20% of tokenizing.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_READ_VS_TOKENIZER = 0.20
RUNS = 3


def _generator():
    sys.path.insert(0, str(REPO / "tests"))
    import un_layout

    return un_layout


def measure(backend: str | None = None, copies: int = 5) -> dict:
    """Seconds to read each PDF and to tokenize its sentences (best of RUNS), and the ratio
    over all documents. `copies` repeats each document in one PDF, for pages in the hundreds."""
    from pipeline.lib.text import formats, tokens
    from pipeline.lib.text.clean import clean
    from pipeline.lib.text.sentences import split_sentences
    from pipeline.lib.text.structure import parse

    un_layout = _generator()
    documents = {"report": (REPO / "seeds" / "000_9d28c16df01d42a8.txt", un_layout.REPORT),
                 "resolution": (REPO / "seeds" / "001_5d5ca6e1adb1dee0.txt", un_layout.RESOLUTION)}
    tag = tokens.tagger(backend)
    list(tag("预热。"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="unparl-bench-formats-") as folder:
        for name, (seed, head) in documents.items():
            paras = un_layout.seed_layout(seed)
            path = Path(folder) / f"{name}.pdf"
            body = [p for p in paras if p.kind != "front_matter"]
            pages = un_layout.typeset_pdf(paras + body * (copies - 1), head, path)
            data = path.read_bytes()
            reads = []
            for _ in range(RUNS):
                start = time.perf_counter()
                extracted = formats.read("pdf", data)
                reads.append(time.perf_counter() - start)
            cleaned = clean(extracted.text)
            paragraphs = parse(cleaned, doc_id=name).paragraphs
            sentences = split_sentences(cleaned.clean_text, paragraphs)
            tokenizing = []
            for _ in range(RUNS):
                start = time.perf_counter()
                tokens.tokenize_columns(cleaned.clean_text, sentences, backend)
                tokenizing.append(time.perf_counter() - start)
            rows.append({"document": name, "pages": pages, "pdf_bytes": len(data),
                         "characters": len(cleaned.clean_text), "read_seconds": min(reads),
                         "tokenizer_seconds": min(tokenizing)})
    read = sum(r["read_seconds"] for r in rows)
    tokenize = sum(r["tokenizer_seconds"] for r in rows)
    return {"backend": tokens.backend_name(backend), "documents": rows, "read_seconds": read,
            "tokenizer_seconds": tokenize, "read_vs_tokenizer": read / tokenize,
            "target": TARGET_READ_VS_TOKENIZER}


def print_result(result: dict) -> None:
    print(f"\nPDF reading vs the tokenizer ({result['backend']}):")
    for r in result["documents"]:
        print(f"  {r['document']:<11}{r['pages']:>5} pages {r['characters']:>9,} characters: read "
              f"{r['read_seconds']:.3f} s, tokenize {r['tokenizer_seconds']:.3f} s "
              f"({r['read_seconds'] / r['tokenizer_seconds']:.1%})")
    ratio, target = result["read_vs_tokenizer"], result["target"]
    print(f"  reading (extraction and furniture removal) / tokenizer = {ratio:.1%} "
          f"(target ≤ {target:.0%}: {'met' if ratio <= target else 'MISSED'})")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.formats", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default=None)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    print_result(measure(args.backend, args.copies))
