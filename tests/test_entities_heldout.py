"""The entity tagger on held-out text: real UN documents it was not developed on.

tests/gold/entities_gold_heldout.json was annotated blind (from the text alone) over the whole
operative part of A/RES/61/211 and the UN Charter from its preamble through Article 35, both in
../shared/samples. The floors sit a little below what the tagger reaches, so that a regression
fails; they are set on the types with enough mentions to measure (ORG, GPE, LAW) and on the
overall and linking scores.
"""
from __future__ import annotations

import re

import pytest

from pipeline.lib.entities import tagger as ent
from pipeline.schemas import entity_class
from pipeline.lib.entities.evaluation import (
    DEFAULT_HELDOUT_GOLD, DEFAULT_SAMPLES, evaluate, format_report, load_gold, main,
    tag_gold_documents,
)

HELDOUT_F1_FLOOR = {"ORG": 0.97, "GPE": 0.90, "LAW": 0.95}
HELDOUT_OVERALL_F1_FLOOR = 0.97
HELDOUT_LINKING_FLOOR = 0.97

pytestmark = pytest.mark.skipif(not DEFAULT_SAMPLES.is_dir(), reason="../shared/samples is absent")


@pytest.fixture(scope="module")
def heldout_result():
    gold = load_gold(DEFAULT_HELDOUT_GOLD)
    rows, missing = tag_gold_documents(gold)
    return evaluate(rows, gold), missing


def test_heldout_gold_covers_the_resolution_and_forty_charter_paragraphs():
    gold = load_gold(DEFAULT_HELDOUT_GOLD)
    by_file = {d["source_file"]: d["paragraphs"] for d in gold["documents"]}
    resolution = by_file["A_RES_61_211.operative-part.zh.txt"]
    assert sorted(int(re.search(r":op(\d+)$", pid).group(1)) for pid in resolution) == list(range(1, 20))
    charter = by_file["UN_Charter.zh.txt"]
    assert len(charter) >= 40
    assert sum(len(mentions) for mentions in charter.values()) >= 100


def test_heldout_gold_para_ids_exist_in_the_pipeline(heldout_result):
    _, missing = heldout_result
    assert missing == []


@pytest.mark.parametrize("type_", sorted(HELDOUT_F1_FLOOR))
def test_heldout_f1_floor(heldout_result, type_):
    result, _ = heldout_result
    assert result["per_type"][type_]["f1"] >= HELDOUT_F1_FLOOR[type_], format_report(result)


def test_heldout_overall_and_linking_floor(heldout_result):
    result, _ = heldout_result
    assert result["overall"]["f1"] >= HELDOUT_OVERALL_F1_FLOOR, format_report(result)
    assert result["linking"]["accuracy"] >= HELDOUT_LINKING_FLOOR, format_report(result)


def test_cli_scores_the_heldout_gold(capsys):
    assert main(["--heldout"]) == 0
    assert "152 paragraphs" in capsys.readouterr().out


# ------------------------------------------------------------------ the general fixes, as units

def _found(text: str) -> list[tuple[str, str, str]]:
    paragraphs = [{"para_id": "T:p1", "kind": "numbered", "char_start": 0, "char_end": len(text)}]
    sentences = [{"sent_id": "T:p1.s1", "para_id": "T:p1", "char_start": 0, "char_end": len(text)}]
    rows = ent.tag_entities(doc_id="t", symbol="A/75/1", doc_type="report", clean_text=text,
                            paragraphs=paragraphs, sentences=sentences)
    return [(entity_class(r), r["text"], r["entity_id"]) for r in rows]


@pytest.mark.parametrize("text, mention, value", [
    ("签字于一九四二年一月一日联合国宣言", "一九四二年一月一日", "1942-01-01"),
    ("一九四三年十月三十日在莫斯科签订", "一九四三年十月三十日", "1943-10-30"),
    ("于二〇一九年十二月通过", "二〇一九年十二月", "2019-12"),
])
def test_dates_in_han_numerals(text, mention, value):
    assert [(t, x) for t, x, _ in _found(text) if t == "DATE"] == [("DATE", mention)]
    assert ("DATE", mention, f"date:{value}") in _found(text)


@pytest.mark.parametrize("text, expected", [
    ("请秘书处提交报告", [("ORG", "秘书处", "org:secretariat")]),
    ("向国民议会秘书处提供支助", [("ACTOR", "国民议会", "actor:national-parliaments")]),
    ("设立了联合秘书处", []),
    ("《联合国气候变化框架公约》秘书处签署了备忘录", [("LAW", "《联合国气候变化框架公约》", "law:unfccc")]),
])
def test_bare_secretariat_only_when_unqualified(text, expected):
    assert _found(text) == expected


def test_member_states_of_the_un_are_one_actor():
    # 联合国会员国 is the Member States; with a word between them (联合国任何会员国) the
    # 联合国 that qualifies them names the Organization
    assert _found("联合国会员国和联合国任何会员国") == [
        ("ACTOR", "联合国会员国", "actor:member-states"), ("ORG", "联合国", "org:un"),
        ("ACTOR", "会员国", "actor:member-states")]


@pytest.mark.parametrize("text, expected", [
    ("联合国驻地协调员系统", [("ACTOR", "联合国驻地协调员系统", "actor:resident-coordinator-system")]),
    ("联合国发展援助框架", []),
])
def test_un_prefixed_groups_hide_the_un(text, expected):
    assert _found(f"鼓励{text}协助") == expected


def test_short_title_of_a_gazetteer_programme_links_to_it():
    rows = _found("执行《2001-2010 十年期支援最不发达国家行动纲领》和《行动纲领》的目标")
    assert [r[2] for r in rows] == ["law:brussels-programme-of-action"] * 2
