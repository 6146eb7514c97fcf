"""Charts of the statistics, as PNG files for the data card.

Chinese labels need a font with CJK glyphs; matplotlib's bundled DejaVu has
none and would draw empty boxes. The font comes from the `mplfonts` package
(Noto Sans CJK SC, SIL Open Font License), with Debian's fonts-noto-cjk or
fonts-wqy-microhei as fallbacks. PNG output is deterministic: the Agg renderer
is, and the 'Software' text chunk (matplotlib's version) is left out.
"""
from __future__ import annotations

import functools
import warnings
from importlib import resources
from pathlib import Path

import polars as pl
import pyarrow as pa

SYSTEM_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
TOP_N = 20
DPI = 110
COLOUR = "#1f6fb4"  # UN blue, darkened for contrast on white


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """A font file that covers Simplified Chinese, or None."""
    try:
        bundled = resources.files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf"
        if bundled.is_file():
            return Path(str(bundled))
    except ModuleNotFoundError:
        pass
    for candidate in SYSTEM_CJK_FONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


@functools.lru_cache(maxsize=1)
def _font_family() -> list[str]:
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:
        return ["DejaVu Sans"]
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    return [name, "DejaVu Sans"]


def _bar_chart(labels: list[str], values: list[int], title: str, xlabel: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    style = {
        "font.family": _font_family(),
        "axes.unicode_minus": False,
        "svg.hashsalt": "unparl",
        "path.simplify": True,
    }
    with plt.rc_context(style):
        height = max(2.2, 0.32 * len(labels) + 1.2)
        fig, ax = plt.subplots(figsize=(8, height), dpi=DPI)
        try:
            positions = list(range(len(labels)))
            ax.barh(positions, values, color=COLOUR)
            ax.set_yticks(positions, labels)
            ax.invert_yaxis()  # largest on top, as a reader scans a ranking
            # A figure title, left-aligned, so a long title never runs off the canvas.
            fig.suptitle(title, x=0.01, ha="left")
            ax.set_xlabel(xlabel)
            ax.spines[["top", "right"]].set_visible(False)
            ax.xaxis.get_major_locator().set_params(integer=True)
            for y, v in zip(positions, values):
                ax.text(v, y, f" {v}", va="center", fontsize=8)
            if not labels:
                ax.text(0.5, 0.5, "（无数据 / no data）", ha="center", va="center", transform=ax.transAxes)
            fig.tight_layout()
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="png", metadata={"Software": None}, bbox_inches="tight", pad_inches=0.15)
        finally:
            plt.close(fig)
    return path


def draw_charts(stats: dict[str, pa.Table], out_dir: Path) -> dict[str, Path]:
    """Draw the four charts of the data card; returns name → file."""
    def frame(name: str) -> pl.DataFrame:
        table = stats.get(name)
        return pl.from_arrow(table) if table is not None and table.num_rows else pl.DataFrame()

    charts: dict[str, Path] = {}
    with warnings.catch_warnings():
        if cjk_font_path() is not None:
            # With a CJK font at hand a missing glyph is a defect of the chart, not noise.
            warnings.filterwarnings("error", message=r".*Glyph .* missing from.*")
        entities = frame("stats_entities_corpus")
        if entities.height:
            entities = entities.filter(~pl.col("type").cast(pl.String).is_in(["DATE", "PERCENT"])).head(TOP_N)
        charts["top_entities"] = _bar_chart(
            [f"{n}（{t}）" for n, t in zip(entities.get_column("name"), entities.get_column("type").cast(pl.String))]
            if entities.height else [],
            entities.get_column("count").to_list() if entities.height else [],
            "提及最多的实体 / Most mentioned entities", "提及次数 / mentions",
            out_dir / "top_entities.png")
        countries = frame("stats_countries").head(TOP_N)
        charts["countries"] = _bar_chart(
            [f"{n or i}（{i}）" for n, i in zip(countries.get_column("name_zh"), countries.get_column("iso3"))]
            if countries.height else [],
            countries.get_column("count").to_list() if countries.height else [],
            "提及的国家 / Countries mentioned", "提及次数 / mentions",
            out_dir / "countries.png")
        sdgs = frame("stats_sdgs")
        charts["sdgs"] = _bar_chart(
            [f"{g}. {s}" for g, s in zip(sdgs.get_column("goal"), sdgs.get_column("short_zh"))]
            if sdgs.height else [],
            sdgs.get_column("count").to_list() if sdgs.height else [],
            "可持续发展目标 / SDG goals mentioned", "提及次数 / mentions",
            out_dir / "sdgs.png")
        verbs = frame("stats_operative_verb_counts").head(TOP_N)
        charts["operative_verbs"] = _bar_chart(
            verbs.get_column("operative_verb").to_list() if verbs.height else [],
            verbs.get_column("count").to_list() if verbs.height else [],
            "决议执行部分的动词 / Operative verbs", "段落数 / paragraphs",
            out_dir / "operative_verbs.png")
    return charts
