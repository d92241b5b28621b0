"""Charts for owners, drawn as PNG bytes that any channel can send as an image.

matplotlib runs headless here: a ``Figure`` with its own Agg canvas, never pyplot, so no
display is needed and no global state is shared between requests or threads. Dates and
numbers on the axes are ASCII. The title and axis labels are in the reader's language; Chinese
is drawn with Noto Sans SC, which the set-up installs from the package index
(``pylopdf-fonts-zh-cn``) and which is registered with matplotlib's font manager when the first
chart is drawn, so no system font is needed. Should a text still hold a character that no font
draws, the English texts are used instead of empty boxes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from io import BytesIO

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import FuncFormatter
from pylopdf_fonts_zh_cn import sans_path as packaged_cjk_font

from bot.i18n import gettext
from core.insights.stats import TrendPoint

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 100  # 800 × 450 pixels: readable on a phone
BASE_FONT = "DejaVu Sans"  # ships with matplotlib, so it is always there
BAR_COLOUR = "#2f6f9f"
# Fonts that draw Chinese well, preferred in this order; the first one is shipped with the set-up.
CJK_FONTS = (
    "Noto Sans SC",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)


@cache
def _charmap(path: str) -> frozenset[int]:
    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


@cache
def _fonts() -> dict[str, str]:
    """Installed font families and one file of each; matplotlib's "Last Resort" font is
    left out because it draws boxes for every character it is asked for. The packaged CJK
    font is registered first, so every server draws Chinese the same way."""
    font_manager.fontManager.addfont(str(packaged_cjk_font()))
    found: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        if not entry.name.startswith("Last Resort"):
            found.setdefault(entry.name, entry.fname)
    return found


def font_families(texts: Iterable[str]) -> list[str] | None:
    """Font families that together draw every character of ``texts``, or None."""
    needed = {ord(ch) for text in texts for ch in text if not ch.isspace()}
    fonts = _fonts()
    families = [BASE_FONT]
    missing = needed - _charmap(fonts.get(BASE_FONT, ""))
    if not missing:
        return families
    candidates = [n for n in CJK_FONTS if n in fonts] + sorted(set(fonts) - set(CJK_FONTS))
    for name in candidates:
        covered = missing & _charmap(fonts[name])
        if covered:
            families.append(name)
            missing -= covered
        if not missing:
            return families
    return None


def _texts(locale: str, points: Sequence[TrendPoint], currency: str) -> tuple[str, str, str]:
    span = f"{points[0].start.isoformat()} – {points[-1].end.isoformat()}" if points else ""
    return (
        gettext(locale, "Net sales {span}", span=span).strip(),
        gettext(locale, "Period starting"),
        gettext(locale, "Net sales ({currency})", currency=currency),
    )


def render_trend_png(points: Sequence[TrendPoint], locale: str, *, currency: str = "CNY") -> bytes:
    """A bar chart of net sales per period (``core.insights.stats.trend``) as PNG bytes."""
    buffer = BytesIO()
    trend_figure(points, locale, currency=currency).savefig(
        buffer, format="png", dpi=DPI, metadata={"Software": None}
    )
    return buffer.getvalue()


def trend_figure(points: Sequence[TrendPoint], locale: str, *, currency: str = "CNY") -> Figure:
    """The chart before it is drawn, so its texts can be read."""
    texts = _texts(locale, points, currency)
    families = font_families(texts)
    if families is None:
        texts = _texts("en", points, currency)
        families = font_families(texts) or [BASE_FONT]
    title, x_label, y_label = texts

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [p.start.isoformat() for p in points]
    axes.bar(range(len(points)), [p.net_fen / 100 for p in points], color=BAR_COLOUR)
    axes.set_xticks(range(len(points)), labels, rotation=45, ha="right", fontsize=8)
    if len(points) > 16:  # keep every label readable: show about a dozen of them
        step = -(-len(points) // 12)
        for index, tick in enumerate(axes.get_xticklabels()):
            tick.set_visible(index % step == 0)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    axes.set_title(title, fontfamily=families)
    axes.set_xlabel(x_label, fontfamily=families)
    axes.set_ylabel(y_label, fontfamily=families)
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)
    return figure
