"""The entity tagger: pattern units, invariants, and a floor on the gold sample."""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pycountry
import pytest

from pipeline.lib.entities.catalog import build_catalog

from pipeline.lib.entities import tagger as ent
from pipeline.lib.entities.evaluation import (
    DEFAULT_GOLD, TARGET_F1, TARGET_LINKING, TARGET_TYPES, evaluate, format_report, load_gold,
    tag_gold_documents,
)
from pipeline.schemas import ENTITY_CATALOG, ENTITY_METHODS, ENTITY_SUBTYPES, ENTITY_TYPES, entity_class

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"


def tag(text: str, *, symbol: str | None = "A/75/1", doc_type: str | None = "report") -> list[dict]:
    """Tag a text whose paragraphs are separated by blank lines."""
    paragraphs, sentences, pos = [], [], 0
    for index, chunk in enumerate(text.split("\n\n")):
        start = text.index(chunk, pos)
        end = start + len(chunk)
        pos = end
        para_id = f"T:p{index + 1}"
        paragraphs.append({"para_id": para_id, "kind": "numbered", "char_start": start, "char_end": end})
        sentences.append({"sent_id": f"{para_id}.s1", "para_id": para_id, "char_start": start, "char_end": end})
    return ent.tag_entities(doc_id="t", symbol=symbol, doc_type=doc_type, clean_text=text,
                            paragraphs=paragraphs, sentences=sentences)


def found(text: str, **kwargs) -> list[tuple[str, str, str]]:
    return [(entity_class(r), r["text"], r["entity_id"]) for r in tag(text, **kwargs)]


# ------------------------------------------------------------------ DATE and PERCENT

@pytest.mark.parametrize("text, mention, value", [
    ("2019 年 7 月该部举办了活动", "2019 年 7 月", "2019-07"),
    ("2019年7月该部举办了活动", "2019年7月", "2019-07"),
    ("于 2020 年 9 月 4 日通过", "2020 年 9 月 4 日", "2020-09-04"),
    ("在 2020 年纪念", "2020 年", "2020"),
    ("每年 6 月 30 日纪念", "6 月 30 日", "--06-30"),
    ("在 2018-2020 两年期内", "2018-2020", "2018/2020"),
    ("在整个 2018/19 年度让", "2018/19 年度", "2018/2019"),
    ("二〇一九年通过", "二〇一九年", "2019"),
])
def test_date_normalisation(text, mention, value):
    rows = [r for r in tag(text) if entity_class(r) == "DATE"]
    assert [(r["text"], r["value"]) for r in rows] == [(mention, value)]
    assert rows[0]["entity_id"] == f"date:{value}"


@pytest.mark.parametrize("text", ["第 141 届大会", "13 月 40 日", "2030 年代"])
def test_no_false_dates(text):
    assert [r for r in tag(text) if entity_class(r) == "DATE"] == []


@pytest.mark.parametrize("text, mention, value", [
    ("上升到 24.5%。", "24.5%", "0.245"),
    ("配额为 30%", "30%", "0.3"),
    ("增加了27%。", "27%", "0.27"),
    ("占百分之三十", "百分之三十", "0.3"),
    ("达到 100％", "100％", "1"),
])
def test_percent_normalisation(text, mention, value):
    rows = [r for r in tag(text) if entity_class(r) == "PERCENT"]
    assert [(r["text"], r["value"]) for r in rows] == [(mention, value)]


# ------------------------------------------------------------------ DOC

@pytest.mark.parametrize("text, mention, entity_id", [
    ("综合报告(A/HRC/38/25)。", "A/HRC/38/25", "doc:A/HRC/38/25"),
    ("(A/74/L.85/Add.1)", "A/74/L.85/Add.1", "doc:A/74/L.85/Add.1"),
    ("见 FCCC/CP/2015/10/Add.1，附件。", "FCCC/CP/2015/10/Add.1", "doc:FCCC/CP/2015/10/Add.1"),
    ("⁹ A/74/759。", "A/74/759", "doc:A/74/759"),
    ("根据大会第 72/278 号决议，", "第 72/278 号决议", "doc:A/RES/72/278"),
    ("第72/278号决议", "第72/278号决议", "doc:A/RES/72/278"),
    ("正如大会在 72/278 号决议中呼吁的那样", "72/278 号决议", "doc:A/RES/72/278"),
    ("安全理事会第 1540(2004)号决议", "第 1540(2004)号决议", "doc:S/RES/1540(2004)"),
    ("第 1/CP.21 号决定，附件。", "第 1/CP.21 号决定", "doc:1/CP.21"),
    ("人权理事会第 38/25 号决议", "第 38/25 号决议", "doc:A/HRC/RES/38/25"),
    ("经社理事会第 2019/15 号决议", "第 2019/15 号决议", "doc:E/RES/2019/15"),
    ("大会第 57/32 号决定", "第 57/32 号决定", "doc:A/DEC/57/32"),
])
def test_doc_symbols_and_resolutions(text, mention, entity_id):
    docs = [(r["text"], r["entity_id"]) for r in tag(text) if entity_class(r) == "DOC"]
    assert docs == [(mention, entity_id)]


@pytest.mark.parametrize("text", ["HIV/AIDS 问题", "COVID-19 大流行病", "2018/19 年度"])
def test_not_symbols(text):
    assert [r for r in tag(text) if entity_class(r) == "DOC"] == []


@pytest.mark.parametrize("text, symbol, expected", [
    ("回顾第338(1973)号、十月二十五日第340(1973)号、344(1973)号和第362(1974)号等决议，", None,
     [("338(1973)", "doc:S/RES/338(1973)"), ("340(1973)", "doc:S/RES/340(1973)"),
      ("344(1973)", "doc:S/RES/344(1973)"), ("362(1974)", "doc:S/RES/362(1974)")]),
    ("第338(1973)号、340(1973)号和341(1973)号决议", None,
     [("338(1973)", "doc:S/RES/338(1973)"), ("340(1973)", "doc:S/RES/340(1973)"),
      ("341(1973)", "doc:S/RES/341(1973)")]),
    ("重申其决议案四十六(一九四八)，", None, [("决议案四十六(一九四八)", "doc:S/RES/46(1948)")]),
    ("秘书长的报告(S/11670和Corr.1和2)，", None,
     [("S/11670", "doc:S/11670"), ("Corr.1", "doc:S/11670/Corr.1"), ("2", "doc:S/11670/Corr.2")]),
    ("见S/PRST/2002/40和E/2020/L.12", None,
     [("S/PRST/2002/40", "doc:S/PRST/2002/40"), ("E/2020/L.12", "doc:E/2020/L.12")]),
    ("安全理事会第 1540 (2004) 号决议", None, [("第 1540 (2004) 号决议", "doc:S/RES/1540(2004)")]),
])
def test_every_reference_of_a_list_and_every_symbol_form(text, symbol, expected):
    assert [(r["text"], r["entity_id"]) for r in tag(text, symbol=symbol) if entity_class(r) == "DOC"] == expected


@pytest.mark.parametrize("text, symbol, expected", [
    ("安全理事会第4872次会议通过", None, ("第4872次会议", "event:S/PV.4872")),
    ("第一八二一次会议通过。", "S/RES/365(1974)", ("第一八二一次会议", "event:S/PV.1821")),
    ("2020年9月4日第63次全体会议", "A/RES/74/304", ("第63次全体会议", "event:A/74/PV.63")),
])
def test_meetings_are_events_named_by_their_record(text, symbol, expected):
    assert expected in [(r["text"], r["entity_id"]) for r in tag(text, symbol=symbol) if entity_class(r) == "EVENT"]


def test_a_meeting_of_an_unknown_organ_is_not_guessed():
    assert [r for r in tag("第12次会议", symbol=None) if entity_class(r) == "EVENT"] == []


def test_resolution_own_number_names_the_document():
    rows = tag("74/303. 联合国与各国议会的互动", symbol="A/RES/74/304", doc_type="resolution")
    assert ("DOC", "74/303", "doc:A/RES/74/304") in [(entity_class(r), r["text"], r["entity_id"]) for r in rows]


# ------------------------------------------------------------------ SDG

@pytest.mark.parametrize("text, expected", [
    ("妇女参与(目标 5)和其他", [("目标 5", "sdg:5")]),
    ("伙伴关系(目标 13 和 17)。", [("目标 13", "sdg:13"), ("17", "sdg:17")]),
    ("为支持实现目标3和其他", [("目标3", "sdg:3")]),
    ("目标 1、2 和 3", [("目标 1", "sdg:1"), ("2", "sdg:2"), ("3", "sdg:3")]),
    ("具体目标 5.5", [("目标 5.5", "sdg:5.5")]),
    ("目标 18", []),
    ("到 2030 年的目标 2030", []),
])
def test_sdg_goals(text, expected):
    assert [(r["text"], r["entity_id"]) for r in tag(text) if entity_class(r) == "SDG"] == expected


# ------------------------------------------------------------------ LAW

def test_nested_titles_are_one_mention():
    text = "通过了《关于〈2030年议程〉的宣言》和《关于《巴黎协定》的说明》。"
    titles = [(entity_class(r), r["text"]) for r in tag(text) if entity_class(r) in ("LAW", "PUBLICATION")]
    assert titles == [("LAW", "《关于〈2030年议程〉的宣言》"), ("PUBLICATION", "《关于《巴黎协定》的说明》")]


@pytest.mark.parametrize("title", [
    "《2030 年议程》", "《2030年议程》", "《2030 年可持续发展议程》", "《2030年可持续发展议程》",
])
def test_title_spellings_link_to_one_entity(title):
    assert [r["entity_id"] for r in tag(f"执行{title}。") if entity_class(r) == "LAW"] == ["law:2030-agenda"]


def test_short_title_links_to_the_full_one_in_the_same_document():
    text = "考虑到《某国同某组织的合作协定》，并表示注意到 2016 年修订的《合作协定》。"
    laws = [r["entity_id"] for r in tag(text) if entity_class(r) == "LAW"]
    assert laws == ["law:某国同某组织的合作协定"] * 2


def test_title_hides_the_places_and_dates_inside_it():
    rows = tag("落实《2015-2030年仙台减少灾害风险框架》和《巴黎协定》")
    assert [(entity_class(r), r["entity_id"]) for r in rows] == [
        ("LAW", "law:sendai-framework"), ("LAW", "law:paris-agreement")]


# ------------------------------------------------------------------ ORG, GPE, abbreviations

def test_abbreviation_learned_and_linked():
    text = "东部地区合作理事会(东合会)召开会议。\n\n此后东合会还继续工作。"
    rows = [(entity_class(r), r["text"], r["entity_id"], r["method"]) for r in tag(text)]
    full_id = "org:东部地区合作理事会"
    assert rows == [
        ("ORG", "东部地区合作理事会", full_id, "abbreviation"),
        ("ORG", "东合会", full_id, "abbreviation"),
        ("ORG", "东合会", full_id, "abbreviation"),
    ]


@pytest.mark.parametrize("brackets", [("(", ")"), ("（", "）")])
def test_abbreviation_of_pattern_found_body_either_bracket(brackets):
    left, right = brackets
    text = f"联合国海洋测绘研究所{left}海测所{right}发布报告。\n\n海测所还指出。"
    ids = {r["entity_id"] for r in tag(text) if entity_class(r) == "ORG"}
    texts = [r["text"] for r in tag(text) if entity_class(r) == "ORG"]
    assert ids == {"org:联合国海洋测绘研究所"}
    assert texts == ["联合国海洋测绘研究所", "海测所", "海测所"]


def test_gazetteer_knows_common_short_forms():
    rows = found("联合国开发计划署(开发署)和开发署，以及联哥核查团和议联")
    assert [r[2] for r in rows] == ["org:undp", "org:undp", "org:undp", "org:unvmc", "org:ipu"]


@pytest.mark.parametrize("text, expected", [
    ("联合国马里多层面综合稳定团(马里稳定团)", [("ORG", "org:minusma"), ("ORG", "org:minusma")]),
    ("联合国哥伦比亚核查团", [("ORG", "org:unvmc")]),
    ("马里国民议会继续合作", [("ORG", "org:parliament:MLI")]),
    ("与新西兰众议院合作", [("ORG", "org:parliament:NZL:lower")]),
    ("多民族玻利维亚国众议院", [("ORG", "org:parliament:BOL:lower")]),
])
def test_country_inside_org_is_part_of_it(text, expected):
    assert [(entity_class(r), r["entity_id"]) for r in tag(text)] == expected


@pytest.mark.parametrize("text", [
    "发展中国家",
    "增加纳入妇女",
    "葡萄牙语国家、法语国家和阿拉伯语国家",
    "副秘书长和助理秘书长",
])
def test_categories_and_substrings_are_not_entities(text):
    assert tag(text) == []


@pytest.mark.parametrize("text, expected", [
    ("会员国和各国议会以及联合国系统", [("ACTOR", "会员国", "actor:member-states"),
                                       ("ACTOR", "各国议会", "actor:national-parliaments"),
                                       ("ACTOR", "联合国系统", "actor:un-system")]),
    ("联合国各实体和联合国国家工作队", [("ACTOR", "联合国各实体", "actor:un-entities"),
                                       ("ACTOR", "联合国国家工作队", "actor:un-country-teams")]),
    ("请秘书长提交报告", [("ACTOR", "秘书长", "actor:secretary-general")]),
    ("民间社会、非政府组织、私营部门和学术界", [
        ("ACTOR", "民间社会", "actor:civil-society"), ("ACTOR", "非政府组织", "actor:ngos"),
        ("ACTOR", "私营部门", "actor:private-sector"), ("ACTOR", "学术界", "actor:academia")]),
    ("发展中国家的议会", [("ACTOR", "议会", "actor:national-parliaments")]),
    ("实现可持续发展目标", [("SDG", "可持续发展目标", "sdg:all")]),
    ("可持续发展目标 5", [("SDG", "可持续发展目标 5", "sdg:5")]),
])
def test_collective_and_office_actors(text, expected):
    assert found(text) == expected


def test_actors_and_publications_keep_the_contracts_types_and_say_their_subtype():
    rows = tag("促请会员国参考《全球议会报告》和第74/304号决议")
    assert [(r["text"], r["type"], r["subtype"]) for r in rows] == [
        ("会员国", "ORG", "ACTOR"), ("《全球议会报告》", "DOC", "PUBLICATION"), ("第74/304号决议", "DOC", None)]
    assert {r["type"] for r in rows} <= set(ENTITY_TYPES)
    assert all(ENTITY_SUBTYPES[r["subtype"]] == r["type"] for r in rows if r["subtype"])
    assert [r["value"] for r in rows][1:] == [None, "A/RES/74/304"]


def test_another_bodys_secretary_general_is_not_the_un_one():
    assert ("ACTOR", "秘书长", "actor:secretary-general") not in found("各国议会联盟秘书长致辞")


@pytest.mark.parametrize("text, expected", [
    ("南亚和葡萄牙语国家共同体的议员", ("ORG", "葡萄牙语国家共同体", "org:cplp")),
    ("葡萄牙语国家的议员", None),
    ("向波兰议会提供", ("ORG", "波兰议会", "org:parliament:POL")),
])
def test_language_adjectives_are_no_countries(text, expected):
    rows = found(text)
    assert all(r[2] != "gpe:PRT" for r in rows)
    if expected:
        assert expected in rows


def test_titles_are_instruments_or_publications():
    rows = found("通过了《资产申报法》和手册《消除强迫劳动》，及题为《保持和平作为实现可持续发展的手段》的决议和"
                 "《投资政策审议》，并支持《2030年议程》。")
    assert [(t, i) for t, _, i in rows] == [
        ("LAW", "law:资产申报法"), ("PUBLICATION", "pub:消除强迫劳动"),
        ("PUBLICATION", "pub:保持和平作为实现可持续发展的手段"), ("PUBLICATION", "pub:投资政策审议"),
        ("LAW", "law:2030-agenda")]


def test_a_countrys_constitution_is_that_countrys():
    rows = found("马里国民议会修订了《宪法》。\n\n阿富汗的《宪法》为妇女保留席位。\n\n《宪法》规定")
    assert [r[2] for r in rows if r[0] == "LAW"] == [
        "law:constitution@MLI", "law:constitution@AFG", "law:constitution@AFG"]


def test_short_title_links_to_the_compact_printed_before():
    rows = found("《安全、有序和正常移民全球契约》。\n\n根据《全球契约》，")
    assert [r[2] for r in rows if r[0] == "LAW"] == ["law:gcm", "law:gcm"]


@pytest.mark.parametrize("text, iso3", [
    ("坦桑尼亚联合共和国", "TZA"), ("坦桑尼亚", "TZA"), ("多民族玻利维亚国", "BOL"),
    ("俄罗斯联邦", "RUS"), ("格鲁吉亚", "GEO"), ("大韩民国", "KOR"), ("巴勒斯坦国", "PSE"),
    ("教廷", "VAT"), ("中华人民共和国", "CHN"),
])
def test_country_names(text, iso3):
    assert found(f"在{text}，") == [("GPE", text, f"gpe:{iso3}")]


def test_regions_and_places():
    ids = [r["entity_id"] for r in tag("在萨赫勒、非洲和太平洋岛屿国家以及布干维尔和纽约")]
    assert ids == ["gpe:sahel", "gpe:africa", "gpe:pacific-islands", "gpe:bougainville", "gpe:new-york"]


def test_general_assembly_and_its_session():
    rows = found("向大会第七十六届会议提交报告")
    assert rows == [("ORG", "大会", "org:unga"), ("EVENT", "第七十六届会议", "event:unga-session-76")]


@pytest.mark.parametrize("text, event_id", [
    ("第五次世界议长大会", "event:world-conference-of-speakers-5"),
    ("第五届世界议长大会", "event:world-conference-of-speakers-5"),
    ("第 141 届各国议会联盟大会", "event:ipu-assembly-141"),
    ("高级别政治论坛", "event:hlpf"),
    ("国际议会日", "event:international-day-of-parliamentarism"),
])
def test_events(text, event_id):
    assert [r["entity_id"] for r in tag(f"在{text}上") if entity_class(r) == "EVENT"] == [event_id]


def test_ipu_assembly_numbered_either_way():
    ids = {r["entity_id"] for r in tag("各国议会联盟第141届大会和第 141 届各国议会联盟大会")
           if entity_class(r) == "EVENT"}
    assert ids == {"event:ipu-assembly-141"}


def test_transliterated_person_name():
    assert ("PERSON", "安东尼奥·古特雷斯") in [(t, x) for t, x, _ in found("秘书长安东尼奥·古特雷斯指出")]


def test_overlap_prefers_longest_then_type():
    cands = [ent.Candidate(0, 2, "GPE", "gpe:MLI", "gazetteer"),
             ent.Candidate(0, 6, "ORG", "org:x", "pattern"),
             ent.Candidate(4, 8, "DATE", "date:1", "pattern"),
             ent.Candidate(6, 8, "LAW", "law:y", "pattern"),
             ent.Candidate(6, 8, "ORG", "org:z", "gazetteer")]
    kept = ent.resolve_overlaps(cands)
    assert [(c.start, c.end, c.entity_id) for c in kept] == [(0, 6, "org:x"), (6, 8, "law:y")]


# ------------------------------------------------------------------ gazetteers and catalog

def test_country_gazetteer_has_all_un_states_with_valid_iso3():
    gaz = ent.load_gazetteer()
    countries = [e for e in gaz.entries.values() if e.iso3]
    assert len(countries) == 195  # 193 Member States and 2 observer States
    for entry in countries:
        assert pycountry.countries.get(alpha_3=entry.iso3) is not None, entry


def test_gazetteer_files_name_their_source():
    for name in ent.GAZETTEER_FILES:
        first = (ent.GAZETTEER_DIR / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("#") and "ource" in first, name


def test_gazetteer_is_loaded_once():
    assert ent.load_gazetteer() is ent.load_gazetteer()


def test_gazetteer_version_is_a_stable_sha256():
    version = ent.gazetteer_version()
    assert re.fullmatch(r"[0-9a-f]{64}", version) and version == ent.gazetteer_version()


def test_catalog_lists_each_entity_once():
    rows = tag("联合国开发计划署(开发署)在格鲁吉亚工作。\n\n开发署和《2030年议程》、《2030 年议程》。")
    catalog = build_catalog(pl.DataFrame(rows))
    assert catalog.columns == ENTITY_CATALOG.names
    assert catalog["entity_id"].is_unique().all()
    undp = catalog.filter(pl.col("entity_id") == "org:undp").row(0, named=True)
    assert undp["name_zh"] == "联合国开发计划署" and undp["n_mentions"] == 3 and undp["n_documents"] == 1
    assert "开发署" in undp["aliases"] and undp["name_en"] == "United Nations Development Programme"
    geo = catalog.filter(pl.col("entity_id") == "gpe:GEO").row(0, named=True)
    assert geo["iso3"] == "GEO"
    agenda = catalog.filter(pl.col("entity_id") == "law:2030-agenda").row(0, named=True)
    assert agenda["n_mentions"] == 2


# ------------------------------------------------------------------ invariants on real documents

def _documents():
    from pipeline.lib.document import process_document

    paths = sorted((REPO / "seeds").glob("*.txt")) + sorted(SAMPLES.glob("*.txt"))
    for path in paths:
        yield path.name, process_document(path.read_text(encoding="utf-8"), source_file=path.name)


@pytest.mark.parametrize("name, processed", list(_documents()), ids=lambda v: v if isinstance(v, str) else "")
def test_offsets_and_paragraph_invariants(name, processed):
    text = processed.doc["clean_text"]
    paragraphs = {p["para_id"]: p for p in processed.paragraphs}
    sentences = {s["sent_id"]: s for s in processed.sentences}
    assert processed.entities, name
    for row in processed.entities:
        assert text[row["char_start"]:row["char_end"]] == row["text"]
        para = paragraphs[row["para_id"]]
        assert para["char_start"] <= row["char_start"] < row["char_end"] <= para["char_end"]
        if row["sent_id"] is not None:
            sent = sentences[row["sent_id"]]
            assert sent["char_start"] <= row["char_start"] and row["char_end"] <= sent["char_end"]
        assert row["type"] in ENTITY_TYPES and row["method"] in ENTITY_METHODS
        assert row["entity_id"]


# ------------------------------------------------------------------ the floor on the gold sample

@pytest.fixture(scope="module")
def gold_result():
    gold = load_gold(DEFAULT_GOLD)
    rows, missing = tag_gold_documents(gold)
    return evaluate(rows, gold), missing


def test_gold_covers_the_resolution_and_twenty_report_paragraphs():
    gold = load_gold(DEFAULT_GOLD)
    by_symbol = {d["symbol"]: d["paragraphs"] for d in gold["documents"]}
    assert len(by_symbol["A/RES/74/304"]) >= 50
    assert sum(1 for pid in by_symbol["A/74/759"] if re.search(r":p\d", pid)) >= 20


def test_gold_para_ids_exist_in_the_pipeline(gold_result):
    _, missing = gold_result
    assert missing == []


@pytest.mark.parametrize("type_", TARGET_TYPES)
def test_f1_floor(gold_result, type_):
    result, _ = gold_result
    assert result["per_type"][type_]["f1"] >= TARGET_F1, format_report(result)


def test_linking_floor(gold_result):
    result, _ = gold_result
    assert result["linking"]["accuracy"] >= TARGET_LINKING, format_report(result)
    assert result["linking"]["alias_consistency"] >= TARGET_LINKING, format_report(result)


def test_evaluate_counts_by_paragraph_text_and_type():
    gold = {"P:1": [{"text": "开发署", "type": "ORG", "entity_id": "org:undp"},
                    {"text": "马里", "type": "GPE", "entity_id": "gpe:MLI"}]}
    predicted = [
        {"para_id": "P:1", "text": "开发署", "type": "ORG", "entity_id": "org:undp", "char_start": 0, "char_end": 3},
        {"para_id": "P:1", "text": "马里", "type": "ORG", "entity_id": "org:x", "char_start": 5, "char_end": 7},
        {"para_id": "P:2", "text": "其他", "type": "ORG", "entity_id": "org:y", "char_start": 0, "char_end": 2},
    ]
    result = evaluate(predicted, gold)
    assert result["per_type"]["ORG"]["tp"] == 1 and result["per_type"]["ORG"]["fp"] == 1
    assert result["per_type"]["GPE"]["fn"] == 1
    assert result["linking"]["accuracy"] == 1.0


# ------------------------------------------------------------------ addressees (role)

@pytest.fixture(scope="module")
def tagged_seeds():
    from pipeline.lib.document import process_document
    from pipeline.lib.text.ingest import read_sidecar, sidecar_for

    docs = []
    for name in ("001_5d5ca6e1adb1dee0.txt", "000_9d28c16df01d42a8.txt"):
        path = REPO / "seeds" / name
        docs.append(process_document(path.read_text("utf-8"), source_file=name,
                                     sidecar=read_sidecar(sidecar_for(path))))
    return docs


def _addressees(doc, para_id: str) -> list[str]:
    return [r["entity_id"] for r in doc.entities if r["para_id"] == para_id and r["role"] == "addressee"]


def test_operative_paragraphs_name_whom_they_address(tagged_seeds):
    resolution = tagged_seeds[0]
    # 促请会员国包括各国议会——在联合国和各国议会联盟应其请求提供支持的情况下——…: the Member
    # States (their parliaments included), not the UN and the IPU of the aside
    assert _addressees(resolution, "A/RES/74/304:op5") == ["actor:member-states", "actor:national-parliaments"]
    assert _addressees(resolution, "A/RES/74/304:op16") == ["actor:member-states", "actor:un-entities"]
    assert _addressees(resolution, "A/RES/74/304:op18") == ["actor:un-country-teams"]
    assert _addressees(resolution, "A/RES/74/304:op21") == ["actor:un-system"]
    # 表示注意到秘书长的报告…并请秘书长…: the second 秘书长 only
    op24 = [(r["text"], r["role"]) for r in resolution.entities
            if r["para_id"] == "A/RES/74/304:op24" and r["entity_id"] == "actor:secretary-general"]
    assert op24 == [("秘书长", None), ("秘书长", "addressee")]
    # 注意到…/确认…: verbs that address no one
    assert _addressees(resolution, "A/RES/74/304:op7") == []
    assert _addressees(resolution, "A/RES/74/304:op23") == []


def test_only_operative_paragraphs_have_addressees(tagged_seeds):
    resolution, report = tagged_seeds
    kinds = {p["para_id"]: p["kind"] for doc in (resolution, report) for p in doc.paragraphs}
    roles = {(kinds[r["para_id"]], r["role"]) for doc in (resolution, report) for r in doc.entities if r["role"]}
    assert roles == {("operative", "addressee")}


def test_addressee_after_a_clause_and_past_an_apposition():
    text = "6. 欢迎各国议会联盟作出努力，并邀请作为专门机构的世界卫生组织和联合国系统其他有关机构加强合作；"
    paragraphs = [{"para_id": "T:op6", "kind": "operative", "char_start": 0, "char_end": len(text)}]
    sentences = [{"sent_id": "T:op6.s1", "para_id": "T:op6", "char_start": 0, "char_end": len(text)}]
    rows = ent.tag_entities(doc_id="t", symbol="A/RES/75/1", doc_type="resolution", clean_text=text,
                            paragraphs=paragraphs, sentences=sentences)
    assert [r["entity_id"] for r in rows if r["role"] == "addressee"] == ["org:ipu", "org:who", "actor:un-system"]


# ------------------------------------------------------------------ the corpus of real UN texts

CORPUS_GOLD = REPO / "tests" / "corpus" / "entities_gold.json"


@pytest.fixture(scope="module")
def corpus_scores():
    from pipeline.lib.entities.evaluation import corpus_results

    gold = load_gold(CORPUS_GOLD)
    rows, missing = tag_gold_documents(gold)
    return corpus_results(gold, rows), missing, gold


def test_corpus_gold_covers_every_kind_in_both_parts():
    gold = load_gold(CORPUS_GOLD)
    kinds = {(d["kind"], d["part"]) for d in gold["documents"]}
    assert {k for k, _ in kinds} == {k for k, p in kinds if p == "heldout"} == {k for k, p in kinds if p == "tuning"}
    assert len({k for k, _ in kinds}) >= 5
    assert sum(len(m) for d in gold["documents"] for m in d["paragraphs"].values()) >= 400


def test_corpus_gold_paragraphs_exist_in_the_pipeline(corpus_scores):
    _, missing, _ = corpus_scores
    assert missing == []


def test_corpus_tuning_part_meets_the_targets(corpus_scores):
    results, _, _ = corpus_scores
    tuning = results[("all", "tuning")]
    assert tuning["overall"]["f1"] >= 0.95 and tuning["linking"]["accuracy"] >= 0.97


def test_corpus_heldout_part_stays_above_its_floor(corpus_scores):
    # the held-out texts are never tuned on; this floor, below what the tagger reaches, catches
    # a regression without pretending to a target it does not meet
    results, _, _ = corpus_scores
    heldout = results[("all", "heldout")]
    assert heldout["overall"]["f1"] >= 0.90 and heldout["linking"]["accuracy"] >= 0.94


def test_corpus_report_prints_every_kind_and_part(corpus_scores):
    from pipeline.lib.entities.evaluation import corpus_report

    results, _, gold = corpus_scores
    report = corpus_report(results, gold)
    for document in gold["documents"]:
        assert f"{document['part']:<8} {document['kind']}" in report


def test_traditional_script_is_matched_as_simplified_and_keeps_its_characters():
    rows = found("安全理事會在第3819次會議上重申全體會員國的責任和《聯合國憲章》", symbol="S/PRST/1997/46")
    assert rows == [("ORG", "安全理事會", "org:unsc"), ("EVENT", "第3819次會議", "event:S/PV.3819"),
                    ("ACTOR", "會員國", "actor:member-states"), ("LAW", "《聯合國憲章》", "law:un-charter")]
