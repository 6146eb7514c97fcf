"""Charts of the statistics, as SVG files for the data card.

A chart is a ranked horizontal bar chart written as SVG text from a template
(pipeline/templates/bar_chart.svg.j2): no plotting library, no font file, milliseconds a
chart, and the same rows give the same bytes. Chinese labels are drawn by the reader's own
fonts (the SVG names the common CJK families, then sans-serif), so they show on any machine that
can show the data card's Chinese text.
"""
from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

import jinja2
import polars as pl
import pyarrow as pa

from pipeline.lib import storage
from pipeline.lib.release.names import template_environment

TOP_N = 20
COLOUR = "#1f6fb4"  # UN blue, darkened for contrast on white
FONT_FAMILY = ("'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', "
               "'WenQuanYi Micro Hei', sans-serif")
FONT_SIZE = 13
ROW = 22  # pixels a bar
WIDTH = 820
TEMPLATE = "bar_chart.svg.j2"


def text_width(text: str, size: int = FONT_SIZE) -> float:
    """About how wide a label is drawn: wide (CJK) characters a full em, others about half."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.55 for c in text)


def bar_chart_svg(labels: list[str], values: list[int], title: str, xlabel: str) -> str:
    """The SVG text of one chart: bars largest first as given, each with its label and value."""
    label_width = min(max((text_width(label) for label in labels), default=0) + 12, WIDTH * 0.45)
    top, plot_left = 40, label_width + 8
    plot_width = WIDTH - plot_left - 60
    largest = max(values, default=0) or 1
    bars = [{"label": label, "value": value, "y": top + i * ROW, "text_y": round(top + i * ROW + ROW * 0.68, 1),
             "width": round(plot_width * value / largest, 1)} for i, (label, value) in enumerate(zip(labels, values))]
    height = top + max(len(bars), 1) * ROW + 36
    return _template().render(
        width=WIDTH, height=height, title=title, xlabel=xlabel, bars=bars, plot_left=round(plot_left, 1),
        label_right=round(label_width, 1), row=ROW, value_x=lambda bar: round(plot_left + bar["width"] + 4, 1), colour=COLOUR, font_family=FONT_FAMILY, font_size=FONT_SIZE,
        axis_y=top + max(len(bars), 1) * ROW + 4)


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    # Autoescaped: every label comes from the inputs, and SVG is XML.
    return template_environment(autoescape=True).get_template(TEMPLATE)


def _bar_chart(labels: list[str], values: list[int], title: str, xlabel: str, path: Path) -> Path:
    storage.atomic_write_text(path, bar_chart_svg(labels, values, title, xlabel))
    return path


def draw_charts(stats: dict[str, pa.Table], out_dir: Path) -> dict[str, Path]:
    """Draw the four charts of the data card; returns name → file."""
    def frame(name: str) -> pl.DataFrame:
        table = stats.get(name)
        return pl.from_arrow(table) if table is not None and table.num_rows else pl.DataFrame()

    charts: dict[str, Path] = {}
    entities = frame("stats_entities_corpus")
    if entities.height:
        entities = entities.filter(~pl.col("type").cast(pl.String).is_in(["DATE", "PERCENT"])).head(TOP_N)
    charts["top_entities"] = _bar_chart(
        [f"{n}（{t}）" for n, t in zip(entities.get_column("name"), entities.get_column("type").cast(pl.String))]
        if entities.height else [],
        entities.get_column("count").to_list() if entities.height else [],
        "提及最多的实体 / Most mentioned entities", "提及次数 / mentions",
        out_dir / "top_entities.svg")
    countries = frame("stats_countries").head(TOP_N)
    charts["countries"] = _bar_chart(
        [f"{n or i}（{i}）" for n, i in zip(countries.get_column("name_zh"), countries.get_column("iso3"))]
        if countries.height else [],
        countries.get_column("count").to_list() if countries.height else [],
        "提及的国家 / Countries mentioned", "提及次数 / mentions",
        out_dir / "countries.svg")
    sdgs = frame("stats_sdgs")
    charts["sdgs"] = _bar_chart(
        [f"{g}. {s}" for g, s in zip(sdgs.get_column("goal"), sdgs.get_column("short_zh"))]
        if sdgs.height else [],
        sdgs.get_column("count").to_list() if sdgs.height else [],
        "可持续发展目标 / SDG goals mentioned", "提及次数 / mentions",
        out_dir / "sdgs.svg")
    verbs = frame("stats_operative_verb_counts").head(TOP_N)
    charts["operative_verbs"] = _bar_chart(
        verbs.get_column("operative_verb").to_list() if verbs.height else [],
        verbs.get_column("count").to_list() if verbs.height else [],
        "决议执行部分的动词 / Operative verbs", "段落数 / paragraphs",
        out_dir / "operative_verbs.svg")
    return charts
