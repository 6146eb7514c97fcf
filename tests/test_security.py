"""Security: the UI binds to localhost, nothing read from inputs is unpickled or evaluated,
and names from files and sidecars never become paths."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import dagster as dg
import pytest

from pipeline.lib.text.ingest import doc_id_for
from pipeline.lib.workdir import TABLES, WorkPathError, corpus_folder, work_path
from conftest import REPO, REPORT_FILE
from pipeline.lib.release.cut import read_table

PACKAGE = REPO / "pipeline"
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_make_ui_binds_the_dagster_ui_to_localhost():
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^ui:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no ui target in the Makefile"
    # `dagster dev` or `dg dev`, with the host given as -h/--host.
    assert re.search(r"\b(dagster|dg) dev\b.*\s(-h|--host)[\s=]+127\.0\.0\.1\b", recipe.group(1)), recipe.group(1)
    assert "0.0.0.0" not in makefile


def test_readme_says_where_the_ui_listens():
    assert "127.0.0.1" in (REPO / "README.md").read_text()


UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "jsonpickle", "marshal", "shelve"}
UNSAFE_CALLS = {"eval", "exec", "__import__"}
UNSAFE_YAML = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_pickle_eval_or_unsafe_yaml_in_the_package(path):
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += [a.name for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            problems.append(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in UNSAFE_CALLS:
                problems.append(f"{func.id}() at line {node.lineno}")
            if (isinstance(func, ast.Attribute) and func.attr in UNSAFE_YAML
                    and isinstance(func.value, ast.Name) and func.value.id == "yaml"):
                problems.append(f"yaml.{func.attr}() at line {node.lineno}")
    assert not problems, problems


def test_grep_finds_no_pickle_eval_or_yaml_load():
    pattern = re.compile(r"\bpickle\b|(?<![\w.])eval\(|\bexec\(|yaml\.load\(|yaml\.unsafe_load")
    hits = [f"{p.relative_to(REPO)}:{i}: {line.strip()}" for p in SOURCES
            for i, line in enumerate(p.read_text("utf-8").splitlines(), 1) if pattern.search(line)]
    assert not hits, hits


# --- names never become paths ---------------------------------------------------------------

EVIL_IDS = ["../../etc/passwd", "A/RES/..", "..", ".", "", "a\\..\\b", "x\x00y", "/etc/passwd",
            "../" * 20 + "tmp/evil"]


@pytest.mark.parametrize("doc_id", EVIL_IDS)
def test_work_paths_refuse_ids_that_could_leave_the_folder(tmp_path, doc_id):
    for table in TABLES:
        with pytest.raises(WorkPathError):
            work_path(tmp_path, table, doc_id)


@pytest.mark.parametrize("name", ["../x", "a/../../b", "LATEST", "", "..", "entity_catalog/../x"])
def test_corpus_paths_refuse_odd_names(tmp_path, name):
    with pytest.raises(WorkPathError):
        corpus_folder(tmp_path, name)


@pytest.mark.parametrize("name", ["..txt", "....", "..\\..\\evil.txt", "%2e%2e%2fetc%2fpasswd.txt",
                                  "名字 ..txt", "-rf .txt", ".. .txt", "\u202e..txt"])
def test_doc_ids_from_file_names_are_one_safe_component(name):
    doc_id = doc_id_for(Path(name))
    assert re.fullmatch(r"[0-9A-Za-z_][0-9A-Za-z_.-]*", doc_id), doc_id
    assert doc_id not in (".", "..") and "/" not in doc_id and "\\" not in doc_id


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.slow
def test_hostile_names_in_files_and_sidecars_write_only_inside_the_data_folder(tmp_path):
    from pipeline.build import build
    from pipeline.defs.resources import UnparlSettings

    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    text = REPORT_FILE.read_text("utf-8")[:3000]
    hostile = {  # file name: symbol its sidecar declares
        "%2e%2e%2fetc.txt": "../../etc/passwd",
        "x\\..\\..\\evil.txt": "A/RES/..",
        "normal.txt": "/etc/passwd",
        "名 ..txt": "..\\..\\windows",
    }
    # A name starting with a dot is hidden: not a document at all.
    (seeds / "..txt").write_text(text, "utf-8")
    (seeds / "..meta.json").write_text(json.dumps({"symbol": "../../etc/shadow"}), "utf-8")
    for i, (name, symbol) in enumerate(hostile.items()):
        (seeds / name).write_text(text + f"\n\n{i}号补充。\n", "utf-8")
        (seeds / (name.rsplit(".", 1)[0] + ".meta.json")).write_text(json.dumps({"symbol": symbol}), "utf-8")
    before = _tree(tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        build(seeds, data, instance=instance,
              resources={"settings": UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))})
    new = _tree(tmp_path) - before
    assert new and all(p == "data" or p.startswith("data/") for p in new), sorted(new)[:20]
    assert not [p for p in _tree(tmp_path.parent) if p.endswith("passwd") or p.endswith("evil")]

    # The symbols are kept as data, verbatim, in the ids a researcher cites.
    release = data / "releases" / (data / "LATEST").read_text().strip()
    docs = read_table(release, "documents").to_pylist()
    assert sorted(d["symbol"] for d in docs) == sorted(hostile.values())
    assert read_table(release, "quarantine").num_rows == 0
    prefixes = {p.rsplit(":", 1)[0] for p in read_table(release, "paragraphs").column("para_id").to_pylist()}
    assert prefixes == set(hostile.values())
    for doc in docs:
        assert re.fullmatch(r"[0-9A-Za-z_][0-9A-Za-z_.-]*", doc["doc_id"]), doc["doc_id"]


@pytest.mark.slow
def test_a_partition_key_that_is_a_path_fails_without_writing(tmp_path):
    from pipeline.defs.documents.assets import document_stages
    from pipeline.defs.resources import UnparlSettings

    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    (seeds / "report.txt").write_text("1. 欢迎。", "utf-8")
    before = _tree(tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("documents", ["../../etc/passwd"])
        result = dg.materialize([document_stages], instance=instance, partition_key="../../etc/passwd",
                                resources={"settings": UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))},
                                raise_on_error=False)
    assert not result.success
    assert not [p for p in _tree(tmp_path) - before if "passwd" in p or not p.startswith("data")]
