"""HTML through selectolax's Lexbor engine, a real HTML5 parser (it parses as browsers do, broken
markup included): block elements become paragraphs, `<sup>` numbers footnote markers, and
scripts, styles, navigation, forms and embedded objects are dropped. A web page has no fixed
pages: its page map is empty.

The bytes are decoded in the order a browser uses: a byte-order mark, the charset the page
declares (`<meta charset>`), strict UTF-8, then detection (charset-normalizer).
"""
from __future__ import annotations

import codecs
import re

from pipeline.lib.text.formats import SUPERSCRIPT_DIGITS, Extracted, TextBuilder, Unreadable

DROPPED = ("script", "style", "nav", "noscript", "template", "form", "iframe", "object", "embed", "svg", "canvas",
           "button", "select", "textarea", "head")
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr",
    "html", "legend", "li", "main", "menu", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul",
})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def decode_html(data: bytes, name: str) -> tuple[str, str]:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, "replace"), encoding.replace("-sig", "")
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        label = declared.group(1).decode("ascii").lower()
        try:
            encoding = codecs.lookup("gb18030" if label in ("gb2312", "gbk") else label).name
            return data.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # The text reader's detection, where Chinese wins a tie: alone, charset-normalizer takes a
    # short page in GBK for Korean (cp949).
    from pipeline.lib.text.encodings import detect_encoding

    detected = detect_encoding(data)
    if detected is None:
        raise Unreadable("undecodable", f"{name}an HTML page in no encoding that can be told: save it as UTF-8")
    encoding = detected[0]
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise Unreadable("undecodable", f"{name}an HTML page that looks like {encoding}, but byte {exc.start} is "
                         f"not {encoding}: save it as UTF-8") from exc


def read_html(data: bytes, *, label: str = "") -> Extracted:
    from selectolax.lexbor import LexborHTMLParser

    name = f"{label}: " if label else ""
    text, encoding = decode_html(data, name)
    tree = LexborHTMLParser(text)
    for node in tree.css(", ".join(DROPPED)):
        node.decompose()
    root = tree.body or tree.root
    builder = TextBuilder()
    if root is not None:
        for paragraph in _blocks(root):
            builder.paragraph([(paragraph, None)])
    return Extracted(builder.text, "html", None, None, encoding=encoding)


def _blocks(root) -> list[str]:
    """The text of every block, in document order; a block's inline text is one paragraph."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = "".join(current)
        current.clear()
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            blocks.append(text)

    stack = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if node.is_text_node:
            current.append(node.text_content or "")
            continue
        tag = node.tag
        if leaving:
            if tag in BLOCKS:
                flush()
            continue
        if tag == "br":
            current.append("\n")
            continue
        if tag == "sup":
            marker = node.text(deep=True).strip()
            if marker.isdigit():
                current.append(marker.translate(SUPERSCRIPT_DIGITS))
                continue
        if tag in BLOCKS:
            flush()
        stack.append((node, True))
        children = []
        child = node.first_child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend((child, False) for child in reversed(children))
    flush()
    return blocks
