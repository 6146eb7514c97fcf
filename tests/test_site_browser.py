"""The download page in a real browser: headless Chromium (Debian's, driven by Playwright) opens
the page served by `unparl serve`, follows a download link to a Parquet part and gets the very
bytes the manifest describes; the same page opened from disk (file://) links to the same files.
.ci/run installs Debian's chromium when it is missing."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from pipeline.lib.release.site import write_index
from tests.test_site import make_release
from tests.test_site_serve import serving

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
# --headless comes from launch(headless=True); the rest keep the browser off the network and quiet.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("browser") / "data"
    make_release(data, "v2026.12.01", previous=None, documents=["000_report"],
                 added=[{"doc_id": "000_report", "symbol": "A/74/759", "source_sha256": "1" * 64}])
    make_release(data, "v2026.12.02", previous="v2026.12.01", documents=["000_report", "001_resolution"],
                 added=[{"doc_id": "001_resolution", "symbol": "A/RES/74/304", "source_sha256": "2" * 64}])
    write_index(data)
    return data


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
            accept_downloads=True)
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def manifest_entry(data: Path, version: str, rel: str) -> dict:
    return json.loads((data / "releases" / version / "manifest.json").read_text())["files"][rel]


def download_first_tokens_part(page, target: Path) -> tuple[str, str, str]:
    """Click the latest release's first tokens part: (its href, the sha256 the page shows, the
    sha256 of the bytes the browser saved)."""
    cell = page.locator("#latest tbody[id$='-tokens'] td.parquet").first
    link = cell.locator("a")
    shown = cell.locator("code.sha256").inner_text().strip()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    download.save_as(target)
    return link.get_attribute("href"), shown, hashlib.sha256(target.read_bytes()).hexdigest()


def test_served_page_downloads_a_part_whose_sha256_matches_the_manifest(data, browser, tmp_path):
    with serving(data) as (_, port):
        origin = f"http://127.0.0.1:{port}"
        requested: list[str] = []
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        response = page.goto(f"{origin}/")
        assert response is not None and response.status == 200
        assert page.title() == "unparl v2026.12.02: downloads"
        assert page.locator("#latest h2").inner_text() == "Latest release: v2026.12.02"
        # The data card is rendered, its front matter gone.
        assert page.locator("#latest .card-body h1").inner_text() == "unparl v2026.12.02"
        assert "config_name" not in page.content()

        href, shown, got = download_first_tokens_part(page, tmp_path / "part.parquet")
        assert href == "releases/v2026.12.02/tokens/part-00000.parquet"
        entry = manifest_entry(data, "v2026.12.02", "tokens/part-00000.parquet")
        assert got == entry["sha256"] == shown
        assert (tmp_path / "part.parquet").stat().st_size == entry["bytes"]
        # An older release's files are there too, folded away until opened.
        older = page.locator("article#v2026\\.12\\.01 details.files")
        assert older.locator("a[href='releases/v2026.12.01/tokens/part-00000.parquet']").count() == 1
        assert not older.locator("a").first.is_visible()
        older.locator("summary").click()
        assert older.locator("a").first.is_visible()
        # The page asked for nothing beyond the server: no script, font or tracker from elsewhere.
        assert requested and all(url.startswith(origin) for url in requested), requested
        page.close()


def test_page_opened_from_disk_links_to_the_same_files(data, browser, tmp_path):
    page = browser.new_page()
    page.goto((data / "index.html").as_uri())
    assert page.locator("#latest h2").inner_text() == "Latest release: v2026.12.02"
    href, shown, got = download_first_tokens_part(page, tmp_path / "part.parquet")
    assert got == shown == manifest_entry(data, "v2026.12.02", "tokens/part-00000.parquet")["sha256"]
    # Every link of the page resolves to a file or folder next to it.
    hrefs = page.eval_on_selector_all("a[href^='releases/']", "links => links.map(a => a.href)")
    assert hrefs and all(Path(unquote(urlsplit(h).path)).exists() for h in hrefs)
    page.close()
