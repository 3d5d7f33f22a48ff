"""Presentation of the variant picker: its keyboard rows and caption lines.

Pure functions of (picker, choice, pages). Speaks aiogram types and gettext;
the card renderer (``bot.cards.rendering``) places these pieces on the card.

Keyboard layout, per dimension: a header button (its name, and the page when
it pages), its options a few per row, then ◀ ▶ when it has more options than
fit one page; a reset row last when something is chosen. The page size is the
largest that keeps every dimension within ``max_buttons`` (and at most
``PAGE_CAP``), and pages are evened out (30 sizes → two pages of 15).
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.cards.buttons import tap_button
from bot.cards.picker import NOT_CHOSEN, Choice, OptionState, VariantPicker
from bot.i18n.formatting import format_count
from bot.items.item import Dimension
from bot.telegram.callbacks import CardAct, card_tap

# More options than this on one page make a wall of buttons; page instead.
PAGE_CAP = 20
ROW_LIMIT = 8  # Telegram's buttons per row
PAGER_BUTTONS = 2  # ◀ ▶
# (buttons per row, widest label that still reads at that width), in display
# columns: CJK characters take two.
ROW_WIDTHS = ((5, 5), (4, 8), (3, 12), (2, 20))
LONG_LABEL = 36  # a label alone on its row is trimmed to this
HEADER_WIDTH = 40
CAPTION_LABEL = 60
# A caption line of the picker's, at most: many long dimensions must leave the
# title and the variant's price their room.
CAPTION_LINE = 300
CHOSEN_MARK = "✅ "
UNAVAILABLE_MARK = "✖ "


def format_price(low: Decimal, high: Decimal | None = None) -> str:
    """CNY as the card shows it: ``¥89.00``, or ``¥89.00 – 109.00`` for a range."""
    if high is None or high == low:
        return f"¥{low:.2f}"
    return f"¥{low:.2f} – {high:.2f}"


def picker_rows(
    picker: VariantPicker,
    choice: Choice,
    pages: tuple[int, ...],
    token: str,
    *,
    max_buttons: int,
) -> list[list[InlineKeyboardButton]]:
    """The picker's keyboard rows; at most ``max_buttons`` buttons, ≤ 8 a row."""
    if not picker.has_variants or not picker.validate(choice):
        return []
    sizes = page_sizes(picker, max_buttons=max_buttons)
    rows: list[list[InlineKeyboardButton]] = []
    for d, size in enumerate(sizes):
        if size:
            page = pages[d] if d < len(pages) else 0
            rows.extend(_dimension_rows(picker, choice, d, size, page, token))
    if any(c != NOT_CHOSEN for c in choice):
        reset = card_tap(token, CardAct.RESET)
        rows.append([tap_button("↺ " + _("Reset"), reset)])
    return rows


def page_sizes(picker: VariantPicker, *, max_buttons: int) -> list[int]:
    """Options per page for each dimension; 0 drops a dimension that cannot fit at all."""
    counts = [len(dim.options) for dim in picker.dimensions]
    budget = max_buttons - 1 - len(counts)  # the reset button and one header each

    def cost(cap: int) -> int:
        return sum(n if n <= cap else cap + PAGER_BUTTONS for n in counts)

    cap = next((c for c in range(PAGE_CAP, 0, -1) if cost(c) <= budget), 0)
    if cap:
        return [math.ceil(n / math.ceil(n / cap)) for n in counts]
    # Absurdly many dimensions: keep those that fit, one option a page.
    sizes: list[int] = []
    room = max_buttons - 1
    for n in counts:
        need = 2 if n == 1 else 2 + PAGER_BUTTONS
        sizes.append(1 if need <= room else 0)
        room -= need if need <= room else 0
    return sizes


def page_of(picker: VariantPicker, choice: Choice, *, max_buttons: int) -> tuple[int, ...]:
    """Pages that show the chosen options (e.g. for a card opened on a link's SKU)."""
    sizes = page_sizes(picker, max_buttons=max_buttons)
    return tuple(
        c // size if c != NOT_CHOSEN and size else 0 for c, size in zip(choice, sizes, strict=True)
    )


def _dimension_rows(
    picker: VariantPicker, choice: Choice, d: int, size: int, page: int, token: str
) -> list[list[InlineKeyboardButton]]:
    dim = picker.dimensions[d]
    count = math.ceil(len(dim.options) / size)
    page %= count
    title = trim(_dimension_name(dim), HEADER_WIDTH)
    if count > 1:
        title = f"{title} · {page + 1}/{count}"
    header = card_tap(token, CardAct.NOOP, dim=d)
    rows = [[tap_button(title, header)]]
    states = picker.options(choice, d)
    per_row, width = _row_shape([state.option.label for state in states])
    shown = states[page * size : (page + 1) * size]
    per_row = math.ceil(len(shown) / math.ceil(len(shown) / per_row))  # even rows
    buttons = [_option_button(state, d, width, token) for state in shown]
    rows.extend(buttons[i : i + per_row] for i in range(0, len(buttons), per_row))
    if count > 1:
        rows.append(
            [
                tap_button("◀", _page_tap(token, d, page - 1, count)),
                tap_button("▶", _page_tap(token, d, page + 1, count)),
            ]
        )
    return rows


def _page_tap(token: str, d: int, page: int, count: int) -> str:
    return card_tap(token, CardAct.PAGE, dim=d, opt=page % count)


def _option_button(state: OptionState, d: int, width: int, token: str) -> InlineKeyboardButton:
    label = trim(_clean(state.option.label) or f"#{state.index + 1}", width)
    if state.chosen:
        label = CHOSEN_MARK + label
    elif not state.available:
        label = UNAVAILABLE_MARK + label
    data = card_tap(token, CardAct.OPTION, dim=d, opt=state.index)
    return tap_button(label, data)


def _row_shape(labels: Sequence[str]) -> tuple[int, int]:
    """(buttons per row, label width) from the dimension's widest label."""
    widest = max((columns(_clean(label)) for label in labels), default=0)
    for per_row, width in ROW_WIDTHS:
        if widest <= width:
            return min(per_row, ROW_LIMIT), width
    return 1, LONG_LABEL


def columns(text: str) -> int:
    """Display width: wide (CJK) characters take two columns."""
    if text.isascii():  # most labels (sizes, English colours): no look-up per character
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def trim(text: str, width: int) -> str:
    """``text`` cut to ``width`` display columns, with an ellipsis when cut."""
    if columns(text) <= width:
        return text
    out: list[str] = []
    used = 1  # the ellipsis
    for ch in text:
        used += columns(ch)
        if used > width:
            break
        out.append(ch)
    return "".join(out).rstrip() + "…"


def _clean(text: str) -> str:
    # Upstream labels carry newlines and runs of spaces; buttons show one line.
    return " ".join(text.split())


def _dimension_name(dim: Dimension) -> str:
    """The dimension's name, or a word for it when the upstream gave none."""
    return _clean(dim.name) or _("Option")


def _no_conversion(low: Decimal, high: Decimal | None = None) -> str:
    return ""


def picker_caption_lines(
    picker: VariantPicker,
    choice: Choice,
    converted: Callable[[Decimal, Decimal | None], str] = _no_conversion,
) -> list[str]:
    """HTML-escaped caption lines: the choice, then the SKU's or the range's price and stock.

    With nothing chosen the card's own price line stands; only stock and a hint show.
    ``converted`` adds a converted figure after each CNY price (`` (≈ $12.37)``).
    """
    if not picker.has_variants or not picker.validate(choice):
        return []
    summary = picker.summary(choice)
    lines: list[str] = []
    if summary.chosen:
        chosen = " · ".join(
            f"{trim(_dimension_name(dim), CAPTION_LABEL)}: {trim(_clean(opt.label), CAPTION_LABEL)}"
            for dim, opt in summary.chosen
        )
        lines.append("🎯 " + html.escape(trim(chosen, CAPTION_LINE)))
    if summary.price is not None and summary.chosen:
        low, high = summary.price.low, summary.price.high
        price = f"<b>{html.escape(format_price(low, high))}</b>"
        price += html.escape(converted(low, high))
        if summary.sku is not None:
            line = html.escape(_("Variant price: {price}")).format(price=price)
            original = summary.original_price
            if original is not None and original > summary.price.high:
                shown = format_price(original) + converted(original, None)
                line += f"  <s>{html.escape(shown)}</s>"
        else:
            line = html.escape(_("Price range: {price}")).format(price=price)
        lines.append("💴 " + line)
    if not summary.in_stock:
        lines.append("🚫 " + html.escape(_("Out of stock")))
    elif summary.stock is not None:
        count = ngettext("In stock: {count}", "In stock: {count}", summary.stock)
        lines.append("📦 " + html.escape(count.format(count=format_count(summary.stock))))
    missing = dict.fromkeys(
        _dimension_name(dim)
        for dim, c in zip(picker.dimensions, choice, strict=True)
        if c == NOT_CHOSEN
    )
    if missing and summary.in_stock:
        names = trim(", ".join(trim(name, CAPTION_LABEL) for name in missing), CAPTION_LINE)
        lines.append("👇 " + html.escape(_("Choose {dimensions}").format(dimensions=names)))
    return lines
