"""Statistics over a small hand-made corpus that follows the release schemas.

The corpus (built by `corpus_tables`, also used by test_release.py) is a
report and a resolution shaped like the seeds: numbered paragraphs, operative
paragraphs with their verbs, footnotes citing symbols, and entities found by
longest match from a small gazetteer, with real jieba tokens; and the
document_status rows the corpus asset gives for them and a quarantined file.
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter

import polars as pl
import pyarrow as pa
import pytest

from pipeline import schemas
from pipeline.lib.release import stats as stats_lib
from pipeline.lib.release.stats import STATS_SCHEMAS, compute_statistics, summarise
from pipeline.lib.storage import to_arrow

REPORT = {
    "doc_id": "000_9d28c16df01d42a8", "symbol": "A/74/759", "doc_type": "report",
    "title": "联合国与各国议会和各国议会联盟之间的互动", "session": 74, "agenda_item": "125",
    "date": "2020-03", "resolution_number": None,
    "paragraphs": [
        ("front_matter", None, "fm1", "第七十四届会议", None),
        ("heading", "一", "h1", "一. 引言", None),
        ("numbered", "1", "p1", "1. 根据大会第 72/278 号决议，本报告在联合国与各国议会和议会组织互动历史的基础上编写。"
                                "联合国开发计划署和开发署在格鲁吉亚支持议会。", None),
        ("numbered", "2", "p2", "2. 2020 年，国际社会将启动可持续发展目标行动十年。"
                                "可持续发展目标5涉及性别平等，妇女署与各国议会联盟合作。", None),
        ("numbered", "3", "p3", "3. 在乌克兰和格鲁吉亚，各国议会联盟与开发署合作推动气候变化立法和预算监督。", None),
    ],
}
RESOLUTION = {
    "doc_id": "001_5d5ca6e1adb1dee0", "symbol": "A/RES/74/303", "doc_type": "resolution",
    "title": "联合国与各国议会和各国议会联盟的互动", "session": 74, "agenda_item": "125",
    "date": "2020-09-04", "resolution_number": "74/303",
    "paragraphs": [
        ("front_matter", None, "fm1", "第七十四届会议", None),
        ("preambular", None, "pp1", "回顾其 2002 年 11 月 19 日第 57/32 号决议，并回顾大会第 72/278 号决议，¹", None),
        ("operative", "1", "op1", "1. 欢迎秘书长的报告⁹；", "欢迎"),
        ("operative", "2", "op2", "2. 鼓励联合国开发计划署和各国议会联盟在格鲁吉亚加强合作；", "鼓励"),
        ("operative", "3", "op3", "3. 又鼓励各国议会联盟支持可持续发展目标5和可持续发展目标16；", "又鼓励"),
        ("operative", "4", "op4", "4. 决定将题为“联合国与各国议会和各国议会联盟之间的互动”的项目列入第七十七届会议临时议程。", "决定"),
        ("footnote", "1", "fn1", "¹ 第 60/1 号决议。", None),
        ("footnote", "9", "fn9", "⁹ A/74/759。", None),
    ],
}
NOTE = {
    "doc_id": "002_note", "symbol": "A/75/1", "doc_type": "note",
    "title": "秘书长的说明", "session": 75, "agenda_item": None, "date": "2020-08-01",
    "resolution_number": None,
    "paragraphs": [("numbered", "1", "p1", "1. 乌克兰和妇女署的合作见 A/74/759。", None)],
}
# surface → (entity_id, type, value); "第 60/1 号决议" is left out on purpose: the
# citation graph must find it in the footnote's text.
GAZETTEER = {
    "联合国开发计划署": ("org:undp", "ORG", None),
    "开发署": ("org:undp", "ORG", None),
    "各国议会联盟": ("org:ipu", "ORG", None),
    "妇女署": ("org:unwomen", "ORG", None),
    "联合国": ("org:un", "ORG", None),
    "格鲁吉亚": ("gpe:GEO", "GPE", None),
    "乌克兰": ("gpe:UKR", "GPE", None),
    "可持续发展目标5": ("sdg:5", "SDG", None),
    "可持续发展目标16": ("sdg:16", "SDG", None),
    "第 72/278 号决议": ("doc:A/RES/72/278", "DOC", "A/RES/72/278"),
    "第 57/32 号决议": ("doc:A/RES/57/32", "DOC", "A/RES/57/32"),
    "A/74/759": ("doc:A/74/759", "DOC", "A/74/759"),
    "2020 年": ("date:2020", "DATE", "2020"),
}
CATALOG = {
    "org:undp": ("联合国开发计划署", "United Nations Development Programme", None),
    "org:ipu": ("各国议会联盟", "Inter-Parliamentary Union", None),
    "org:unwomen": ("联合国妇女署", "UN-Women", None),
    "org:un": ("联合国", "United Nations", None),
    "gpe:GEO": ("格鲁吉亚", "Georgia", "GEO"),
    "gpe:UKR": ("乌克兰", None, "UKR"),  # no English name: pycountry supplies it
}


def _tokens(sentence: str, start: int):
    import jieba.posseg

    offset = start
    for seq, pair in enumerate(jieba.posseg.cut(sentence, HMM=False)):
        yield seq, pair.word, pair.flag, offset, offset + len(pair.word)
        offset += len(pair.word)


def _entities(text: str, start: int):
    """Longest match first, no overlaps: 联合国开发计划署 wins over 联合国."""
    taken = [False] * len(text)
    found = []
    for surface in sorted(GAZETTEER, key=len, reverse=True):
        for match in re.finditer(re.escape(surface), text):
            if any(taken[match.start():match.end()]):
                continue
            taken[match.start():match.end()] = [True] * (match.end() - match.start())
            found.append((match.start() + start, match.end() + start, surface))
    return sorted(found)


def build_document(spec: dict, source_sha256: str) -> dict[str, list[dict]]:
    texts = [p[3] for p in spec["paragraphs"]]
    clean = "\n\n".join(texts)
    rows = {"paragraphs": [], "sentences": [], "tokens": [], "entities": []}
    offset = 0
    sent_seq = 0
    for seq, (kind, number, suffix, text, verb) in enumerate(spec["paragraphs"]):
        para_id = f"{spec['symbol']}:{suffix}"
        rows["paragraphs"].append({
            "doc_id": spec["doc_id"], "para_id": para_id, "seq": seq, "kind": kind, "number": number,
            "section": None, "subsection": None, "operative_verb": verb, "text": text,
            "char_start": offset, "char_end": offset + len(text),
        })
        sentences = [(m.start(), m.group()) for m in re.finditer(r"[^。；]+[。；]?", text)]
        for i, (s_start, s_text) in enumerate(sentences, 1):
            sent_id = f"{para_id}.s{i}"
            begin = offset + s_start
            rows["sentences"].append({"doc_id": spec["doc_id"], "para_id": para_id, "sent_id": sent_id,
                                      "seq": sent_seq, "text": s_text, "char_start": begin,
                                      "char_end": begin + len(s_text)})
            sent_seq += 1
            for t_seq, word, flag, t_start, t_end in _tokens(s_text, begin):
                rows["tokens"].append({"doc_id": spec["doc_id"], "sent_id": sent_id, "seq": t_seq,
                                       "text": word, "pos": flag, "char_start": t_start, "char_end": t_end})
        for e_start, e_end, surface in _entities(text, offset):
            entity_id, type_, value = GAZETTEER[surface]
            sent = next((s for s in rows["sentences"] if s["para_id"] == para_id
                         and s["char_start"] <= e_start and e_end <= s["char_end"]), None)
            rows["entities"].append({
                "doc_id": spec["doc_id"], "para_id": para_id, "sent_id": sent and sent["sent_id"],
                "entity_id": entity_id, "type": type_, "text": surface, "char_start": e_start,
                "char_end": e_end, "method": "gazetteer", "value": value,
            })
        offset += len(text) + 2
    rows["documents"] = [{
        "doc_id": spec["doc_id"], "symbol": spec["symbol"], "doc_type": spec["doc_type"],
        "title": spec["title"], "session": spec["session"], "agenda_item": spec["agenda_item"],
        "date": spec["date"], "resolution_number": spec["resolution_number"], "language": "zh-Hans",
        "source_file": f"{spec['doc_id']}.txt", "source_sha256": source_sha256, "source_bytes": len(clean.encode()),
        "encoding": "utf-8", "encoding_confidence": 1.0, "clean_text": clean,
        "n_paragraphs": len(rows["paragraphs"]), "n_sentences": len(rows["sentences"]),
        "n_tokens": len(rows["tokens"]), "n_entities": len(rows["entities"]), "warnings": [],
    }]
    return rows


SHA = {"000_9d28c16df01d42a8": "a" * 64, "001_5d5ca6e1adb1dee0": "b" * 64, "002_note": "c" * 64}


def corpus_tables(*, specs=(REPORT, RESOLUTION), sha: dict | None = None) -> dict[str, pa.Table]:
    """Release tables for the given documents, cast to the release schemas."""
    sha = {**SHA, **(sha or {})}
    rows: dict[str, list[dict]] = {name: [] for name in ("documents", "paragraphs", "sentences", "tokens", "entities")}
    for spec in specs:
        for name, part in build_document(spec, sha[spec["doc_id"]]).items():
            rows[name].extend(part)
    mentions = Counter(e["entity_id"] for e in rows["entities"])
    documents = {e["entity_id"]: set() for e in rows["entities"]}
    types = {}
    for e in rows["entities"]:
        documents[e["entity_id"]].add(e["doc_id"])
        types[e["entity_id"]] = e["type"]
    catalog = [
        {"entity_id": eid, "type": types[eid], "name_zh": CATALOG.get(eid, (next(
            e["text"] for e in rows["entities"] if e["entity_id"] == eid), None, None))[0],
         "name_en": CATALOG.get(eid, (None, None, None))[1],
         "aliases": sorted({e["text"] for e in rows["entities"] if e["entity_id"] == eid}),
         "iso3": CATALOG.get(eid, (None, None, None))[2],
         "n_mentions": mentions[eid], "n_documents": len(documents[eid])}
        for eid in sorted(mentions)
    ]
    quarantine = [{"source_file": "broken.bin", "source_sha256": "d" * 64, "reason": "binary",
                   "detail": "NUL bytes in the first 4 KiB"}]
    # Where every document stands, as the corpus asset gives it: the documents read, and the
    # quarantined file.
    status = [{"doc_id": d["doc_id"], "source_file": d["source_file"], "symbol": d["symbol"], "status": "ok",
               **{key: d[key] for key in ("n_paragraphs", "n_sentences", "n_tokens", "n_entities")},
               "warnings": [], "code_version": "documents=test;tokens=test;entities=test"}
              for d in rows["documents"]]
    status.append({"doc_id": "broken", "source_file": "broken.bin", "status": "quarantined", "reason": "binary",
                   "detail": "NUL bytes in the first 4 KiB", "n_paragraphs": 0, "n_sentences": 0, "n_tokens": 0,
                   "n_entities": 0})
    tables = {name: to_arrow(part, schemas.TABLES[name]) for name, part in rows.items()}
    tables["document_status"] = to_arrow(status, schemas.DOCUMENT_STATUS)
    tables["entity_catalog"] = to_arrow(catalog, schemas.ENTITY_CATALOG)
    tables["quarantine"] = to_arrow(quarantine, schemas.QUARANTINE)
    return tables


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return corpus_tables()


@pytest.fixture(scope="module")
def stats(tables) -> dict[str, pa.Table]:
    return compute_statistics(tables)


def frame(table: pa.Table) -> pl.DataFrame:
    return pl.from_arrow(table).with_columns(pl.col(pl.Categorical).cast(pl.String))


def test_every_statistics_table_has_its_schema_with_descriptions(stats):
    assert set(stats) == set(STATS_SCHEMAS)
    for name, table in stats.items():
        assert table.schema.equals(STATS_SCHEMAS[name], check_metadata=True), name
        for field in table.schema:
            assert (field.metadata or {}).get(b"description"), f"{name}.{field.name} has no description"


def test_document_profiles_count_what_the_tables_hold(tables, stats):
    profiles = {row["doc_id"]: row for row in frame(stats["stats_documents"]).to_dicts()}
    paragraphs = frame(tables["paragraphs"])
    sentences = frame(tables["sentences"])
    tokens = frame(tables["tokens"])
    for doc in frame(tables["documents"]).to_dicts():
        profile = profiles[doc["doc_id"]]
        assert profile["n_characters"] == len(doc["clean_text"])
        kinds = Counter(paragraphs.filter(pl.col("doc_id") == doc["doc_id"]).get_column("kind"))
        for kind in schemas.PARAGRAPH_KINDS:
            assert profile[f"n_para_{kind}"] == kinds.get(kind, 0)
        lengths = [len(t) for t in sentences.filter(pl.col("doc_id") == doc["doc_id"]).get_column("text")]
        assert profile["n_sentences"] == len(lengths)
        assert profile["max_sentence_chars"] == max(lengths)
        assert profile["mean_sentence_chars"] == pytest.approx(sum(lengths) / len(lengths), abs=1e-3)
        per_sentence = Counter(tokens.filter(pl.col("doc_id") == doc["doc_id"]).get_column("sent_id"))
        assert profile["n_tokens"] == sum(per_sentence.values()) == doc["n_tokens"]
        assert profile["max_sentence_tokens"] == max(per_sentence.values())
    assert profiles["001_5d5ca6e1adb1dee0"]["n_para_operative"] == 4
    assert profiles["001_5d5ca6e1adb1dee0"]["n_ent_sdg"] == 2


def test_entity_counts_use_catalogue_names(tables, stats):
    mentions = frame(tables["entities"])
    expected = Counter(mentions.get_column("entity_id"))
    corpus = {r["entity_id"]: r for r in frame(stats["stats_entities_corpus"]).to_dicts()}
    assert {k: v["count"] for k, v in corpus.items()} == dict(expected)
    # 开发署 and 联合国开发计划署 are one entity, named as the catalogue names it.
    assert corpus["org:undp"]["name"] == "联合国开发计划署"
    assert corpus["org:undp"]["documents"] == 2
    ranks = [r["rank"] for r in sorted(corpus.values(), key=lambda r: r["rank"])]
    assert ranks == list(range(1, len(corpus) + 1))
    per_doc = frame(stats["stats_entities"])
    assert per_doc.get_column("count").sum() == mentions.height


def test_countries_carry_iso3_and_both_names(stats):
    countries = {r["iso3"]: r for r in frame(stats["stats_countries"]).to_dicts()}
    assert set(countries) == {"GEO", "UKR"}
    assert countries["GEO"]["name_zh"] == "格鲁吉亚"
    assert countries["GEO"]["name_en"] == "Georgia"
    assert countries["UKR"]["name_en"] == "Ukraine"  # from pycountry
    assert countries["GEO"]["count"] == 3 and countries["GEO"]["documents"] == 2
    assert countries["GEO"]["paragraphs"] == 3


def test_all_seventeen_goals_with_titles(stats):
    sdgs = frame(stats["stats_sdgs"])
    assert sdgs.get_column("goal").to_list() == list(range(1, 18))
    by_goal = {r["goal"]: r for r in sdgs.to_dicts()}
    assert by_goal[5]["count"] == 2 and by_goal[5]["documents"] == 2
    assert by_goal[16]["count"] == 1
    assert by_goal[1]["count"] == 0
    assert by_goal[5]["short_zh"] == "性别平等" and by_goal[5]["title_en"].startswith("Achieve gender equality")
    assert all(r["title_zh"] and r["title_en"] for r in by_goal.values())


def test_operative_verbs_in_order_and_as_distribution(stats):
    ordered = frame(stats["stats_operative_verbs"])
    assert ordered.get_column("operative_verb").to_list() == ["欢迎", "鼓励", "又鼓励", "决定"]
    assert ordered.get_column("position").to_list() == [1, 2, 3, 4]
    assert ordered.get_column("verb_base").to_list() == ["欢迎", "鼓励", "鼓励", "决定"]
    counts = {r["operative_verb"]: r for r in frame(stats["stats_operative_verb_counts"]).to_dicts()}
    assert counts["又鼓励"]["verb_base"] == "鼓励"
    assert sum(r["count"] for r in counts.values()) == 4
    assert sum(r["share"] for r in counts.values()) == pytest.approx(1.0)


def test_keywords_skip_un_boilerplate(stats):
    keywords = frame(stats["stats_keywords"])
    words = set(keywords.get_column("keyword"))
    assert not words & {"联合国", "议会", "各国", "决议", "报告"}
    assert words, "no keywords at all"
    for doc_id, group in keywords.group_by("doc_id"):
        assert group.height <= stats_lib.KEYWORDS_PER_DOCUMENT
        assert group.get_column("rank").to_list() == list(range(1, group.height + 1))
        weights = group.get_column("weight").to_list()
        assert weights == sorted(weights, reverse=True)
    report = keywords.filter(pl.col("doc_id") == "000_9d28c16df01d42a8").get_column("keyword").to_list()
    assert "立法" in report or "预算" in report or "性别" in report


def test_stopword_list_names_its_source_and_has_the_boilerplate():
    text = (stats_lib.GAZETTEERS / "stopwords_un.txt").read_text(encoding="utf-8")
    assert text.startswith("# ") and "Source:" in text
    assert {"联合国", "议会", "会员国"} <= stats_lib.stopwords()
    sdg = (stats_lib.GAZETTEERS / "sdg_goals.tsv").read_text(encoding="utf-8")
    assert "A/RES/70/1" in sdg.split("\n", 5)[1] + sdg.split("\n", 5)[2]


def test_cooccurrence_pairs_within_sentences(stats):
    pairs = frame(stats["stats_cooccurrence"])
    assert (pairs.get_column("entity_a") < pairs.get_column("entity_b")).all()
    assert not pairs.filter(pl.col("type_a").is_in(["DATE", "PERCENT"]) | pl.col("type_b").is_in(["DATE", "PERCENT"])).height
    edge = pairs.filter((pl.col("entity_a") == "gpe:GEO") & (pl.col("entity_b") == "org:undp")).to_dicts()
    # report p1, report p3, resolution op2: one sentence each
    assert edge and edge[0]["sentences"] == 3 and edge[0]["paragraphs"] == 3 and edge[0]["documents"] == 2
    assert edge[0]["name_b"] == "联合国开发计划署"
    weights = pairs.get_column("weight").to_list()
    assert weights == sorted(weights, reverse=True)


LIST_HEAVY = {
    "doc_id": "005_list", "symbol": "A/75/2", "doc_type": "report", "title": "清单", "session": 75,
    "agenda_item": None, "date": "2021-01-01", "resolution_number": None,
    "paragraphs": [
        ("numbered", "1", "p1", "1. 格鲁吉亚、乌克兰、开发署、妇女署和各国议会联盟合作。联合国开发计划署支持格鲁吉亚。", None),
        ("numbered", "2", "p2", "2. 乌克兰发言。妇女署发言。", None),
    ],
}


def test_a_list_in_one_sentence_is_no_clique_of_full_weight():
    """A sentence naming k entities gives each of its pairs 1/(k-1): a list of five adds 1/4 to
    each of its ten pairs, so each name's edges add up to 1, as for a sentence naming two."""
    t = corpus_tables(specs=(LIST_HEAVY,), sha={"005_list": "e" * 64})
    pairs = {(r["entity_a"], r["entity_b"]): r for r in frame(compute_statistics(t)["stats_cooccurrence"]).to_dicts()}
    assert len(pairs) == 10
    assert pairs[("gpe:GEO", "org:undp")]["weight"] == pytest.approx(1.25)  # the list, then a sentence of two
    assert pairs[("gpe:GEO", "org:undp")]["sentences"] == 2 and pairs[("gpe:GEO", "org:undp")]["paragraphs"] == 1
    # 乌克兰 and 妇女署 meet in p2 too, but in two sentences: only the list counts.
    assert pairs[("gpe:UKR", "org:unwomen")]["weight"] == pytest.approx(0.25)
    assert pairs[("gpe:UKR", "org:unwomen")]["sentences"] == 1
    for entity in ("gpe:UKR", "org:ipu", "org:unwomen"):
        assert sum(r["weight"] for key, r in pairs.items() if entity in key) == pytest.approx(1.0)


def test_keywords_merge_an_entitys_aliases(stats):
    """开发署 and 联合国开发计划署 are one entity, so one keyword, counted once per mention."""
    report = frame(stats["stats_keywords"]).filter(pl.col("doc_id") == "000_9d28c16df01d42a8")
    undp = report.filter(pl.col("entity_id") == "org:undp").to_dicts()
    assert [r["keyword"] for r in undp] == ["联合国开发计划署"] and undp[0]["frequency"] == 3
    assert "开发署" not in report.get_column("keyword").to_list()
    assert report.filter(pl.col("entity_id").is_null()).height  # words keep a null entity_id


def test_keywords_rejoin_domain_terms_the_segmenter_split():
    """可/持续/发展 is 可持续发展, 利益/攸关/方 is 利益攸关方: no 持续 or 攸关 fragments, while a
    持续 standing alone stays a word."""
    pieces = [("s1", ["可", "持续", "发展", "需要", "利益", "攸关", "方"]), ("s2", ["冲突", "持续", "。"]),
              ("s3", ["可持续发展", "很", "重要"])]
    rows, offset = [], 0
    for sent_id, words in pieces:
        for seq, word in enumerate(words):
            rows.append({"doc_id": "d", "sent_id": sent_id, "seq": seq, "text": word, "pos": "v" if word == "持续" else "n",
                         "char_start": offset, "char_end": offset + len(word)})
            offset += len(word)
        offset += 1
    found = {r["keyword"]: r for r in stats_lib.keywords(pl.DataFrame(rows)).to_dicts()}
    assert found["可持续发展"]["frequency"] == 2
    assert found["利益攸关方"]["frequency"] == 1
    assert found["持续"]["frequency"] == 1
    assert not {"攸关", "发展"} & set(found)


def test_citation_graph_resolves_symbols_in_the_corpus(stats):
    cites = {(r["doc_id"], r["cited_symbol"]): r for r in frame(stats["stats_citations"]).to_dicts()}
    report_cited = cites[("001_5d5ca6e1adb1dee0", "A/74/759")]
    assert report_cited["cited_doc_id"] == "000_9d28c16df01d42a8" and report_cited["resolved"]
    assert report_cited["in_footnote"] and report_cited["para_ids"] == ["A/RES/74/303:fn9"]
    assert report_cited["sources"] == ["entity", "footnote"]
    # Found only in the footnote's words "第 60/1 号决议".
    footnote_only = cites[("001_5d5ca6e1adb1dee0", "A/RES/60/1")]
    assert footnote_only["sources"] == ["footnote"] and not footnote_only["resolved"]
    assert cites[("000_9d28c16df01d42a8", "A/RES/72/278")]["resolved"] is False
    assert ("001_5d5ca6e1adb1dee0", "A/RES/72/278") in cites


def test_citations_resolve_resolution_numbers_and_skip_self(tables):
    # A note citing the resolution by number, and the resolution naming itself.
    extra = dict(RESOLUTION)
    extra["paragraphs"] = RESOLUTION["paragraphs"] + [("footnote", "10", "fn10", "¹⁰ 见 A/RES/74/303 和第 74/303 号决议。", None)]
    t = corpus_tables(specs=(REPORT, extra))
    cites = frame(compute_statistics(t)["stats_citations"])
    assert not cites.filter(pl.col("cited_doc_id") == pl.col("doc_id")).height


def test_summary_is_json_and_agrees_with_the_tables(tables, stats):
    summary = summarise(tables, stats)
    again = summarise(tables, compute_statistics(tables))
    assert json.dumps(summary, ensure_ascii=False, sort_keys=True) == json.dumps(again, ensure_ascii=False, sort_keys=True)
    assert summary["corpus"]["documents"] == 2
    assert summary["corpus"]["tokens"] == tables["tokens"].num_rows
    assert summary["corpus"]["quarantined_files"] == 1
    assert summary["sdgs"]["goals_mentioned"] == [5, 16]
    assert summary["operative_verbs"]["operative_paragraphs"] == 4
    assert summary["citations"]["resolved_in_corpus"] == 1
    assert summary["top_entities"][0]["count"] >= summary["top_entities"][-1]["count"]
    assert [d["doc_id"] for d in summary["documents"]] == ["000_9d28c16df01d42a8", "001_5d5ca6e1adb1dee0"]


def test_statistics_saved_by_one_step_load_unchanged_in_the_next(tables, stats, tmp_path):
    """The statistics asset saves what the release step loads (pipeline/defs/io.py): the release
    gets, table for table, what was computed, and the same summary."""
    from pipeline.lib.release.cut import canonical_table

    computed = stats_lib.Statistics.of(tables)
    assert set(computed.tables) == set(STATS_SCHEMAS)
    assert all(computed.tables[name].equals(stats[name]) for name in stats)
    computed.save(tmp_path / "statistics")
    loaded = stats_lib.Statistics.load(tmp_path / "statistics")
    assert set(loaded.tables) == set(computed.tables)
    for name, table in computed.tables.items():
        # As the release writes it: cast to its schema (descriptions included), in its order.
        written = canonical_table(table, STATS_SCHEMAS[name], None)
        assert canonical_table(loaded.tables[name], STATS_SCHEMAS[name], None).equals(written, check_metadata=True), name
    dump = lambda summary: json.dumps(summary, ensure_ascii=False, sort_keys=True)  # noqa: E731
    assert dump(loaded.summary) == dump(computed.summary) == dump(summarise(tables, stats))


def test_empty_corpus_still_lists_the_seventeen_goals():
    stats = compute_statistics({})
    assert stats["stats_sdgs"].num_rows == 17
    assert all(stats[name].num_rows == 0 for name in stats if name != "stats_sdgs")
    summary = summarise({}, stats)
    assert summary["corpus"]["documents"] == 0 and summary["date_range"]["earliest"] is None


def _scaled(tables: dict[str, pa.Table], copies: int) -> dict[str, pa.Table]:
    """The corpus repeated `copies` times under new doc_ids and para_ids, built with Polars."""
    out = {}
    for name, table in tables.items():
        df = frame(table)
        if "doc_id" not in df.columns:
            out[name] = table
            continue
        copy = pl.DataFrame({"copy": list(range(copies))})
        big = df.join(copy, how="cross").with_columns(
            (pl.col("doc_id") + "_" + pl.col("copy").cast(pl.String)).alias("doc_id"))
        for column in ("para_id", "sent_id"):
            if column in big.columns:
                big = big.with_columns((pl.col("copy").cast(pl.String) + "|" + pl.col(column)).alias(column))
        if name == "documents":
            big = big.with_columns((pl.col("symbol") + "/" + pl.col("copy").cast(pl.String)).alias("symbol"))
        out[name] = to_arrow(big.drop("copy").to_arrow(), schemas.TABLES[name])
    return out


def test_statistics_scale_to_a_thousand_documents(tables):
    big = _scaled(tables, 500)  # 1,000 documents
    assert big["documents"].num_rows == 1000
    start = time.perf_counter()
    stats = compute_statistics(big)
    summary = summarise(big, stats)
    elapsed = time.perf_counter() - start
    assert stats["stats_documents"].num_rows == 1000
    assert summary["corpus"]["documents"] == 1000
    assert elapsed < 30, f"statistics took {elapsed:.1f}s for 1,000 documents"


@pytest.mark.parametrize("raw, expected", [
    ("A/74/759", "A/74/759"),
    (" A/74/759。", "A/74/759"),
    ("A/74/L.85/Add.1,", "A/74/L.85/Add.1"),
    ("72/278", "A/RES/72/278"),
    ("S/RES/1325(2000)", "S/RES/1325(2000)"),
    ("A/51/402）", "A/51/402"),
    ("A/RES/72/278", "A/RES/72/278"),
])
def test_symbols_are_normalised_for_matching(raw, expected):
    out = pl.DataFrame({"s": [raw]}).select(stats_lib._normalise_symbol(pl.col("s"))).item()
    assert out == expected
