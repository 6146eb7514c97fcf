"""The names a release is published under: versions (calendar versions, vYYYY.MM.DD, then
vYYYY.MM.DD.2 for a second release on the same day, as PUDL names its releases) and the
archive's file name. The release writer and the download page both read them."""
from __future__ import annotations

import re

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
