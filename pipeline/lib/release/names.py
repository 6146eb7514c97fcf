"""The names a release is published under: versions (calendar versions, vYYYY.MM.DD, then
vYYYY.MM.DD.2 for a second release on the same day, as PUDL names its releases) and the
archive's file name, which the release writer and the download page both read; and the
template environment its generated texts share."""
from __future__ import annotations

import re

import jinja2

DATASET = "unparl"
ARCHIVE_SUFFIX = ".zip"
VERSION_PATTERN = re.compile(r"^v(\d{4})\.(\d{2})\.(\d{2})(?:\.(\d+))?$")


def version_key(name: str) -> tuple[int, int, int, int] | None:
    """A version name's sort key, or None for a name that is not a version."""
    match = VERSION_PATTERN.match(name)
    if not match:
        return None
    year, month, day, n = match.groups()
    return int(year), int(month), int(day), int(n or 1)


def archive_name(version: str) -> str:
    return f"{DATASET}-{version}{ARCHIVE_SUFFIX}"


def template_environment(*, autoescape: bool) -> jinja2.Environment:
    """The environment every generated text of a release is rendered in (pipeline/templates,
    package data): the data card (Markdown, escaped by its own filters), the SVG charts and the
    download page (XML and HTML, autoescaped). A name a template uses and the caller does not
    give is an error, not an empty string."""
    return jinja2.Environment(loader=jinja2.PackageLoader("pipeline", "templates"), autoescape=autoescape,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)
