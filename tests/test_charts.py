"""The trend chart: real PNG bytes drawn without a display, in any language, warning-free
(pytest turns warnings into errors, and a missing glyph is a warning)."""

from __future__ import annotations

import struct
import sys
import zlib
from datetime import date, timedelta
from io import BytesIO

import pytest
from matplotlib.image import imread

from bot import charts
from core.insights.stats import TrendPoint

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def weeks(n: int) -> list[TrendPoint]:
    first = date(2025, 10, 6)
    return [
        TrendPoint(
            start=first + timedelta(weeks=i),
            end=first + timedelta(weeks=i, days=6),
            sales_count=10 + i,
            net_fen=123_450 * (i % 5 + 1),
            new_members=i % 3,
        )
        for i in range(n)
    ]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking its CRC."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert zlib.crc32(kind + body) == crc
    width, height = struct.unpack(">II", body[:8])
    return width, height


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("count", [0, 1, 14, 60])
def test_trend_chart_is_a_png_of_the_expected_size(locale: str, count: int) -> None:
    data = charts.render_trend_png(weeks(count), locale)

    assert png_size(data) == (800, 450)
    pixels = imread(BytesIO(data), format="png")
    assert pixels.shape[:2] == (450, 800)
    # Something was drawn: the bars' blue is there when there are sales.
    blue = ((pixels[..., 0] < 0.3) & (pixels[..., 2] > 0.5)).sum()
    assert (blue > 1_000) == (count > 0)
    assert "matplotlib.pyplot" not in sys.modules  # no global figure state, no display


def test_chinese_labels_without_a_chinese_font_fall_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Until the catalog translates the labels, simulate it: Chinese texts for zh_CN."""

    def gettext(locale: str, message: str, **params: object) -> str:
        text = message.format(**params)
        return f"销售额 {text}" if locale == "zh_CN" else text

    monkeypatch.setattr(charts, "gettext", gettext)
    chinese = ["销售额 Net sales"]
    families = charts.font_families(chinese)
    if families is not None:  # a CJK font is installed: it is used, with DejaVu first
        assert families[0] == charts.BASE_FONT and len(families) >= 2

    data = charts.render_trend_png(weeks(8), "zh_CN")

    assert png_size(data) == (800, 450)


def test_font_families_cover_what_they_claim() -> None:
    assert charts.font_families(["Net sales 2025-01-01 – 2025-03-31 (CNY) ¥"]) == [charts.BASE_FONT]
    assert charts.font_families(["\U000f0000"]) is None  # private use: no font draws it


def test_a_chinese_owner_reads_a_chinese_chart_drawn_with_the_packaged_font() -> None:
    """The labels are the catalog's Chinese ones, drawn with the font the set-up installs
    (warnings are errors here, so a missing glyph would fail the render)."""
    figure = charts.trend_figure(weeks(8), "zh_CN")
    axes = figure.axes[0]
    texts = [axes.get_title(), axes.get_xlabel(), axes.get_ylabel()]

    assert texts[0].startswith("净销售额 2025-10-06")
    assert texts[1:] == ["起始日期", "净销售额（CNY）"]
    assert "Noto Sans SC" in axes.title.get_fontfamily()
    data = charts.render_trend_png(weeks(8), "zh_CN")
    assert png_size(data) == (800, 450)


def test_an_english_owner_reads_an_english_chart() -> None:
    axes = charts.trend_figure(weeks(3), "en").axes[0]
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("Period starting", "Net sales (CNY)")
