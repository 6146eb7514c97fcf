"""Word 97–2003 (DOC): converted to DOCX by LibreOffice headless (`soffice`, or `libreoffice`,
on PATH), then read as a DOCX. Without LibreOffice a DOC is set aside as `unsupported_format`
(README, "Formats", says how to install it)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.lib.text.formats import Extracted, Unreadable

CONVERT_SECONDS = 120


def converter() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def read_doc(data: bytes, *, label: str = "") -> Extracted:
    from pipeline.lib.text.formats.docx import read_docx

    name = f"{label}: " if label else ""
    program = converter()
    if program is None:
        raise Unreadable("unsupported_format", f"{name}a Word 97-2003 (DOC) file: reading it needs LibreOffice "
                         "(soffice on PATH; e.g. apt-get install libreoffice-writer-nogui), or save it as DOCX")
    with tempfile.TemporaryDirectory(prefix="unparl-doc-") as folder:
        source = Path(folder) / "document.doc"
        source.write_bytes(data)
        try:
            subprocess.run([program, "--headless", "--norestore", f"-env:UserInstallation=file://{folder}/profile",
                            "--convert-to", "docx", "--outdir", folder, str(source)],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=CONVERT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Unreadable("corrupt", f"{name}LibreOffice could not convert the DOC file ({exc})") from exc
        converted = Path(folder) / "document.docx"
        if not converted.is_file():
            raise Unreadable("corrupt", f"{name}LibreOffice could not convert the DOC file (damaged?)")
        extracted = read_docx(converted.read_bytes(), label=label)
    extracted.source_format = "doc"
    return extracted
