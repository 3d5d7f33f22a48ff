"""The /stats chart: the last days' look-ups as stacked bars and the spend as a line.

Plain data in, PNG bytes out: no Telegram, no gettext (the labels come in
already translated), so it can run in a worker thread. Rendering uses
matplotlib's object API on the headless Agg canvas, never ``pyplot`` and its
global figure registry.

Fonts: matplotlib ships DejaVu Sans, which has Latin and Cyrillic but no
Chinese. ``fonts_for`` finds the installed fonts that together have every
glyph of the labels (the Docker image adds WenQuanYi Micro Hei for Chinese);
when none do, the caller draws English labels rather than empty boxes.

matplotlib is imported on the first chart, in the worker thread, not at the
bot's start: it costs each replica ~0.5 s of start-up and tens of MB for a
command only admins use.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import date
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Fonts tried, in order; the first one draws what it can, the others fill in glyphs.
_FONT_FAMILIES = (
    "DejaVu Sans",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Droid Sans Fallback",
)
_PAID, _FREE, _REFUSED, _SPEND = "#2f6db5", "#8cc084", "#e0a458", "#c0392b"
_SIZE_INCHES, _DPI = (10.0, 5.0), 100

# matplotlib's rc parameters and font caches are process-wide, not thread-safe:
# one chart at a time (a render takes a fraction of a second).
_RENDERING = threading.Lock()


@dataclass(frozen=True, slots=True)
class ChartDay:
    """One bar group: a UTC day's answered and refused look-ups and its spend in USD."""

    day: date
    paid: int
    free: int
    refused: int
    spend_usd: float


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """The chart's words, already in the reader's language."""

    title: str
    paid: str
    free: str
    refused: str
    spend: str
    lookups_axis: str
    spend_axis: str

    def text(self) -> str:
        return "".join(astuple(self))


@lru_cache(maxsize=64)  # a few label sets, one per language
def fonts_for(text: str) -> tuple[str, ...] | None:
    """Installed font families that together draw every character of ``text``, or None."""
    needed = {ord(ch) for ch in text if not ch.isspace()}
    families: list[str] = []
    for family, charmap in installed_fonts():
        families.append(family)
        needed -= charmap
        if not needed:
            return tuple(families)
    return None


@cache
def installed_fonts() -> tuple[tuple[str, frozenset[int]], ...]:
    """The candidate fonts found, with the characters each has (read once: ~50 ms)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    found = []
    for family in _FONT_FAMILIES:
        try:
            path = font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        except ValueError:
            continue
        found.append((family, frozenset(FT2Font(path).get_charmap())))
    return tuple(found)


def render_chart(days: Sequence[ChartDay], labels: ChartLabels) -> bytes:
    """The chart as PNG bytes (blocking: call it in a worker thread).

    Labels whose glyphs no installed font has are drawn anyway (as boxes): the
    caller picks labels ``fonts_for`` accepts.
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    families = fonts_for(labels.text()) or _FONT_FAMILIES[:1]
    with _RENDERING, rc_context({"font.family": list(families), "font.size": 10}):
        # Fixed margins: a layout engine measures every text twice, doubling the time.
        figure = Figure(figsize=_SIZE_INCHES, dpi=_DPI)
        figure.subplots_adjust(left=0.07, right=0.92, top=0.92, bottom=0.17)
        canvas = FigureCanvasAgg(figure)
        _draw(figure, days, labels)
        out = io.BytesIO()
        canvas.print_png(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _draw(figure: Figure, days: Sequence[ChartDay], labels: ChartLabels) -> None:
    from matplotlib.ticker import MaxNLocator

    bars = figure.add_subplot()
    x = list(range(len(days)))
    paid = [d.paid for d in days]
    free = [d.free for d in days]
    refused = [d.refused for d in days]
    stacked_free = [p + f for p, f in zip(paid, free, strict=True)]
    bars.bar(x, paid, color=_PAID, label=labels.paid)
    bars.bar(x, free, bottom=paid, color=_FREE, label=labels.free)
    bars.bar(x, refused, bottom=stacked_free, color=_REFUSED, label=labels.refused)
    highest = max((s + r for s, r in zip(stacked_free, refused, strict=True)), default=0)
    bars.set_ylim(0, max(highest, 4) * 1.08)  # an empty month still has an axis
    bars.set_ylabel(labels.lookups_axis)
    bars.yaxis.set_major_locator(MaxNLocator(integer=True))
    step = max(1, len(days) // 10)
    bars.set_xticks(x[::-1][::step][::-1])
    bars.set_xticklabels([days[i].day.strftime("%m-%d") for i in x[::-1][::step][::-1]])
    bars.set_xlim(-0.6, len(days) - 0.4)
    bars.grid(axis="y", alpha=0.3)
    bars.set_axisbelow(True)
    bars.set_title(labels.title)

    money = bars.twinx()
    spend = [d.spend_usd for d in days]
    money.plot(x, spend, color=_SPEND, marker="o", markersize=3, linewidth=2, label=labels.spend)
    money.set_ylim(0, max(max(spend, default=0.0), 0.01) * 1.08)
    money.set_ylabel(labels.spend_axis)

    handles, names = bars.get_legend_handles_labels()
    line_handles, line_names = money.get_legend_handles_labels()
    figure.legend(handles + line_handles, names + line_names, loc="lower center", ncols=4)
