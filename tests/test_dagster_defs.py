"""The Dagster layer: the definitions load, every asset carries what the UI shows, and the
per-document assets materialise a partition on a test instance with their checks passing."""
from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import schemas
from pipeline.defs.clean import checks as clean_checks
from pipeline.defs.resources import UnparlSettings
from pipeline.defs.structure import checks as structure_checks
from pipeline.defs.tokens import checks as token_checks
from pipeline.definitions import defs
from pipeline.defs.metadata import check_results
from pipeline.lib import invariants, stages
from conftest import CHARTER_FILE, REPORT_ID, RESOLUTION_ID, copy_seeds

PER_DOCUMENT = ["raw_documents", "clean_documents", "document_metadata", "paragraphs", "sentences", "tokens",
                "entities"]
CORPUS = ["entity_catalog", "corpus_statistics", "release"]
GROUPS = {
    "raw_documents": "ingest", "clean_documents": "clean", "document_metadata": "structure",
    "paragraphs": "structure", "sentences": "tokens", "tokens": "tokens", "entities": "entities",
    "entity_catalog": "entities", "corpus_statistics": "stats", "release": "publish",
}
CHECKS = {
    "raw_documents": {"doc_ids_unique"},
    "clean_documents": {"pieces_within_text"},
    "paragraphs": {"para_ids_unique", "paragraph_offsets", "paragraph_kinds_known", "numbers_contiguous",
                   "footnotes_linked"},
    "sentences": {"sent_ids_unique", "sentence_offsets"},
    "tokens": {"token_offsets"},
    "entities": {"entity_offsets", "entity_types_known", "entities_within_paragraphs"},
    "entity_catalog": {"entity_ids_unique"},
    "release": {"checksums_match", "tables_in_datapackage", "counts_agree", "ids_unique"},
}


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


@pytest.fixture(scope="module")
def graph(definitions):
    return definitions.resolve_asset_graph()


def test_definitions_list_the_assets(graph):
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == sorted(PER_DOCUMENT + CORPUS)


def test_asset_lineage(graph):
    def parents(name):
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("raw_documents") == set()
    assert parents("clean_documents") == {"raw_documents"}
    assert parents("document_metadata") == {"clean_documents"}
    assert parents("paragraphs") == {"clean_documents"}
    assert parents("sentences") == {"paragraphs", "document_metadata"}
    assert parents("tokens") == {"sentences"}
    assert parents("entities") == {"tokens"}
    assert parents("entity_catalog") == {"entities"}
    assert parents("corpus_statistics") == {"entity_catalog"}
    assert parents("release") == {"corpus_statistics"}


@pytest.mark.parametrize("name", PER_DOCUMENT + CORPUS)
def test_asset_carries_group_kinds_owners_code_version_description(graph, name):
    node = graph.get(dg.AssetKey(name))
    assert node.group_name == GROUPS[name]
    assert "python" in node.kinds and ("parquet" in node.kinds)
    assert node.owners == ["team:unparl"]
    assert node.code_version and isinstance(node.code_version, str)
    assert node.description and len(node.description) > 40


def test_tokens_code_version_follows_the_user_dictionary(graph, tmp_path, monkeypatch):
    from pipeline.defs import metadata

    files = ("lib/tokens.py", "gazetteers/userdict.txt", "lib/stages.py", "lib/storage.py", "lib/invariants.py",
             "lib/parallel.py", "schemas.py")
    assert graph.get(dg.AssetKey("tokens")).code_version == metadata.code_version(*files)
    assert "jieba" in graph.get(dg.AssetKey("tokens")).kinds
    # a word added to the dictionary gives another code version, so the UI marks tokens stale
    package = tmp_path / "pipeline"
    for name in files:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_bytes((metadata._PACKAGE / name).read_bytes())
    with (package / "gazetteers/userdict.txt").open("a", encoding="utf-8") as f:
        f.write("新词 50 nz\n")
    monkeypatch.setattr(metadata, "_PACKAGE", package)
    assert metadata.code_version(*files) != graph.get(dg.AssetKey("tokens")).code_version


@pytest.mark.parametrize("name", PER_DOCUMENT)
def test_per_document_assets_are_partitioned_by_document(graph, name):
    node = graph.get(dg.AssetKey(name))
    assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
    assert node.partitions_def.name == "documents"
    assert node.backfill_policy == dg.BackfillPolicy.single_run()


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_assets_are_not_partitioned(graph, name):
    assert graph.get(dg.AssetKey(name)).partitions_def is None


def test_asset_checks_are_declared(graph):
    declared: dict[str, set[str]] = {}
    for key in graph.asset_check_keys:
        declared.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
    assert declared == CHECKS


def test_settings_resource_is_provided(definitions):
    assert "settings" in definitions.resources


# --- checks called directly ----------------------------------------------------------------

def test_clean_check_fails_on_a_piece_that_does_not_match():
    table = pa.Table.from_pylist([{"doc_id": "d", "clean_text": "1. 甲。\n2. 乙。"}])
    good = {"d": [{"char_start": 0, "char_end": 5, "text": "1. 甲。"}]}
    bad = {"d": [{"char_start": 1, "char_end": 5, "text": "1. 甲。"}]}
    assert clean_checks.results(table, good)[0].passed
    result = clean_checks.results(table, bad)[0]
    assert not result.passed and result.metadata["broken"].value == 1


def test_structure_checks_pass_on_the_seeds_and_fail_on_a_broken_table(report):
    table = pa.Table.from_pylist(report.paragraphs)
    texts = {report.doc["doc_id"]: report.doc["clean_text"]}
    assert all(r.passed for r in structure_checks.results(table, texts))
    broken = table.set_column(table.schema.get_field_index("char_start"), "char_start",
                              pa.array([s + 1 for s in table.column("char_start").to_pylist()]))
    outcome = {r.check_name: r for r in structure_checks.results(broken, texts)}
    assert not outcome["paragraph_offsets"].passed
    assert outcome["paragraph_offsets"].severity == dg.AssetCheckSeverity.ERROR
    assert outcome["numbers_contiguous"].passed


def test_sentence_and_token_checks(resolution):
    """The invariants the sentences and tokens workers run on each document, as the assets report them."""
    doc_id, text = resolution.doc["doc_id"], resolution.doc["clean_text"]

    def offsets(rows):
        return invariants.document_offsets_hold(doc_id, text, *([r[c] for r in rows] for c in ("text", "char_start", "char_end")))

    def sentence_results(rows):
        return check_results("sentences", {
            "sent_ids_unique": invariants.unique(pa.Table.from_pylist(rows), "sent_id", within="doc_id"),
            "sentence_offsets": offsets(rows)})

    assert all(r.passed for r in sentence_results(resolution.sentences))
    assert all(r.passed for r in check_results("tokens", {"token_offsets": offsets(resolution.tokens)}))
    outcome = {r.check_name: r.passed for r in sentence_results(resolution.sentences + resolution.sentences[:1])}
    assert outcome == {"sent_ids_unique": False, "sentence_offsets": True}
    assert set(outcome) == {spec.name for spec in token_checks.SPECS}


# --- materialising partitions --------------------------------------------------------------

def assets(definitions, names):
    wanted = set(names)
    return [a for a in definitions.assets if any(k.to_user_string() in wanted for k in a.keys)]


def settings_for(seeds: Path, data: Path) -> dict:
    return {"settings": UnparlSettings(seeds_dir=str(seeds), data_dir=str(data))}


def materialization(result, name):
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == name]
    assert len(events) == 1, name
    return events[0].materialization


def test_one_partition_materialises_with_checks_passing(definitions, tmp_path):
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("documents", [REPORT_ID, RESOLUTION_ID])
        result = dg.materialize(assets(definitions, PER_DOCUMENT), partition_key=RESOLUTION_ID,
                                instance=instance, resources=settings_for(seeds, data))
        assert result.success
        evaluations = result.get_asset_check_evaluations()
        assert {e.check_name for e in evaluations} == set().union(
            *(CHECKS[n] for n in PER_DOCUMENT if n in CHECKS))
        assert [e.check_name for e in evaluations if not e.passed] == []
        paragraphs = materialization(result, "paragraphs")
        assert paragraphs.partition == RESOLUTION_ID
        assert paragraphs.metadata["dagster/row_count"].value == 60
        assert paragraphs.metadata["by_kind"].value["operative"] == 24
        assert "|" in paragraphs.metadata["preview"].value
        docs = materialization(result, "document_metadata")
        assert docs.metadata["dagster/row_count"].value == 1
        assert "A/RES/74/303" in docs.metadata["warnings"].value
        clean = materialization(result, "clean_documents")
        assert clean.metadata["footnotes_moved"].value == 9
        assert materialization(result, "tokens").metadata["backend"].value.startswith("jieba")
    # only the requested partition was written
    assert [p.name for p in (data / "work" / "paragraphs").iterdir()] == [f"{RESOLUTION_ID}.parquet"]
    table = pq.read_table(data / "work" / "paragraphs" / f"{RESOLUTION_ID}.parquet")
    assert table.schema.equals(schemas.PARAGRAPHS, check_metadata=False)


def test_report_partition_counts(definitions, tmp_path):
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("documents", [REPORT_ID])
        result = dg.materialize(assets(definitions, PER_DOCUMENT[:4]), partition_key=REPORT_ID,
                                instance=instance, resources=settings_for(seeds, data))
        assert result.success
        assert materialization(result, "clean_documents").metadata["page_breaks_rejoined"].value == 6
        paragraphs = materialization(result, "paragraphs")
        assert paragraphs.metadata["dagster/row_count"].value == 102
        kinds = paragraphs.metadata["by_kind"].value
        assert kinds == {"front_matter": 5, "heading": 19, "numbered": 72, "list_item": 6}
        raw = materialization(result, "raw_documents")
        assert raw.metadata["quarantined"].value == 0


def test_a_partition_range_runs_in_one_run_and_matches_the_build(definitions, tmp_path, built):
    """A second build in another folder gives byte-identical work files (stable ids, no timestamps)."""
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("documents", [REPORT_ID, RESOLUTION_ID])
        result = dg.materialize(assets(definitions, PER_DOCUMENT), instance=instance,
                                resources=settings_for(seeds, data), tags={
                                    "dagster/asset_partition_range_start": REPORT_ID,
                                    "dagster/asset_partition_range_end": RESOLUTION_ID})
        assert result.success
        partitions = {e.partition for e in result.get_asset_materialization_events()
                      if e.asset_key.to_user_string() == "raw_documents"}
        assert partitions == {REPORT_ID, RESOLUTION_ID}
        assert len(instance.get_run_records()) == 1
    for stage in stages.STAGES:
        for doc_id in (REPORT_ID, RESOLUTION_ID):
            ours = (data / "work" / stage / f"{doc_id}.parquet").read_bytes()
            theirs = (built.data / "work" / stage / f"{doc_id}.parquet").read_bytes()
            assert ours == theirs, (stage, doc_id)
    ids = pq.read_table(data / "work" / "paragraphs" / f"{REPORT_ID}.parquet", columns=["para_id"])
    assert ids.column("para_id").to_pylist()[:3] == ["A/74/759:fm1", "A/74/759:fm2", "A/74/759:fm3"]


def test_rerunning_a_partition_replaces_its_rows(definitions, tmp_path):
    seeds, data = copy_seeds(tmp_path / "seeds"), tmp_path / "data"
    chosen = assets(definitions, PER_DOCUMENT[:4])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("documents", [RESOLUTION_ID])
        for _ in range(2):
            result = dg.materialize(chosen, partition_key=RESOLUTION_ID, instance=instance,
                                    resources=settings_for(seeds, data))
            assert result.success
    assert pq.read_table(data / "work" / "paragraphs" / f"{RESOLUTION_ID}.parquet").num_rows == 60


def test_quarantined_file_flows_through_as_empty_tables(definitions, tmp_path):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    (seeds / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("documents", ["scan"])
        result = dg.materialize(assets(definitions, PER_DOCUMENT), partition_key="scan", instance=instance,
                                resources=settings_for(seeds, data))
        assert result.success
        assert materialization(result, "raw_documents").metadata["quarantined"].value == 1
        assert materialization(result, "paragraphs").metadata["dagster/row_count"].value == 0
        assert materialization(result, "tokens").metadata["dagster/row_count"].value == 0
    raw = stages.read_work(data, "raw", "scan").to_pylist()[0]
    assert (raw["status"], raw["reason"]) == ("quarantined", "binary")


def test_a_new_kind_of_document_goes_through_every_check(definitions, tmp_path):
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    shutil.copy(CHARTER_FILE, seeds / CHARTER_FILE.name)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("documents", ["UN_Charter.zh"])
        result = dg.materialize(assets(definitions, PER_DOCUMENT), partition_key="UN_Charter.zh",
                                instance=instance, resources=settings_for(seeds, data))
        assert result.success
        assert materialization(result, "raw_documents").metadata["quarantined"].value == 0
        failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
        assert failed == []
