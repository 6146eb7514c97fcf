"""Shared fixtures: the real seed documents, processed once, and one corpus built through Dagster.

Processing a document costs a fraction of a second and a full Dagster build of the seeds about
eight, so both are session-scoped; tests that change the seeds build into their own folders.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from pipeline.lib import chain
from pipeline.lib.document import ProcessedDocument, process_document
from pipeline.lib.text.ingest import read_sidecar

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SAMPLES = REPO.parent / "shared" / "samples"
CHECK_RELEASE = REPO.parent / "shared" / "tools" / "check_release.py"

REPORT_FILE = SEEDS / "000_9d28c16df01d42a8.txt"
RESOLUTION_FILE = SEEDS / "001_5d5ca6e1adb1dee0.txt"
REPORT_ID = "000_9d28c16df01d42a8"
RESOLUTION_ID = "001_5d5ca6e1adb1dee0"
CHARTER_FILE = SAMPLES / "UN_Charter.zh.txt"
A_RES_61_211_FILE = SAMPLES / "A_RES_61_211.operative-part.zh.txt"

LETTER = (
    "尊敬的主席先生：\n\n"
    "我谨代表我国政府，感谢您在本届会议期间的出色领导。我们高度赞赏各国议会联盟的工作。\n\n"
    "我国愿继续与联合国开发计划署合作，推动可持续发展。\n\n"
    "顺致崇高的敬意。\n"
)


def sidecar_path(document: Path) -> Path:
    return document.with_name(document.name.removesuffix(".txt") + ".meta.json")


def process_file(path: Path, *, with_sidecar: bool = True) -> ProcessedDocument:
    sidecar = read_sidecar(sidecar_path(path)) if with_sidecar and sidecar_path(path).exists() else None
    return process_document(path.read_text("utf-8"), source_file=path.name, sidecar=sidecar,
                            with_entities=False)


def by_id(doc: ProcessedDocument) -> dict[str, dict]:
    return {p["para_id"]: p for p in doc.paragraphs}


@pytest.fixture(scope="session")
def report() -> ProcessedDocument:
    return process_file(REPORT_FILE)


@pytest.fixture(scope="session")
def resolution() -> ProcessedDocument:
    return process_file(RESOLUTION_FILE)


@pytest.fixture(scope="session")
def charter() -> ProcessedDocument:
    return process_file(CHARTER_FILE)


@pytest.fixture(scope="session")
def a_res_61_211() -> ProcessedDocument:
    return process_file(A_RES_61_211_FILE)


def copy_seeds(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in SEEDS.iterdir():
        if path.is_file() and not path.name.startswith("."):
            shutil.copy2(path, target / path.name)
    return target


@dataclass
class Built:
    seeds: Path
    data: Path
    instance: dg.DagsterInstance
    report: object  # pipeline.build.BuildReport

    @property
    def release(self) -> Path:
        return self.data / "releases" / (self.data / "LATEST").read_text().strip()


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    """The seeds built once through Dagster (pipeline.build.build) on a test instance. Read only."""
    from pipeline.build import build

    root = tmp_path_factory.mktemp("built")
    seeds = copy_seeds(root / "seeds")
    data = root / "data"
    with dg.instance_for_test() as instance:
        result = build(seeds, data, instance=instance)
        yield Built(seeds, data, instance, result)


@pytest.fixture
def edit_package(monkeypatch):
    """Pretend a file of the package was edited (its bytes read with a line more), leaving it as it is."""
    real = Path.read_bytes
    edited: dict[Path, bytes] = {}

    def read_bytes(self):
        return real(self) + edited.get(self, b"")

    monkeypatch.setattr(Path, "read_bytes", read_bytes)

    def edit(entry: str, extra: bytes = b"\n# edited\n") -> None:
        assert (chain.PACKAGE / entry).is_file(), entry
        edited[chain.PACKAGE / entry] = extra
        chain.code_version.cache_clear()

    yield edit
    monkeypatch.undo()
    chain.code_version.cache_clear()
