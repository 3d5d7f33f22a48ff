"""The words around the /stats chart: its labels, and the caption under it."""

from __future__ import annotations

import html
import re

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.balance.ledger import QuotaStatus
from bot.balance.usage_history import GroupUsage, History
from bot.i18n.formatting import format_count, format_money
from bot.reports.stats_chart import ChartDay, ChartLabels, fonts_for
from bot.reports.usage_view import stats_text
from bot.risk.service import RiskStats

# Telegram's caption limit, counted on the text after the HTML tags are parsed.
CAPTION_LIMIT = 1024
_TITLE_CHARS = (40, 24, 12)


def chart_labels(days: int) -> ChartLabels:
    """The chart's labels in the reader's language; in English when no installed font
    has their glyphs (Chinese without a CJK font), rather than empty boxes."""
    labels = _chart_labels(days)
    i18n = I18n.get_current(no_error=True)
    if fonts_for(labels.text()) is None and i18n is not None:
        with i18n.use_locale("en"):
            return _chart_labels(days)
    return labels


def _chart_labels(days: int) -> ChartLabels:
    return ChartLabels(
        title=_("Last {days} days (UTC)").format(days=days),
        paid=_("Paid look-ups"),
        free=_("Cache hits"),
        refused=_("Refusals"),
        spend=_("Spend"),
        lookups_axis=_("Look-ups"),
        spend_axis=_("USD"),
    )


def chart_days(history: History) -> list[ChartDay]:
    """The bars and the line: free answers are cache hits and coalesced look-ups."""
    return [
        ChartDay(
            day=d.day,
            paid=d.stats.paid_lookups,
            free=d.stats.cache_hits + d.stats.coalesced,
            refused=d.stats.refusals,
            spend_usd=float(d.stats.spend),
        )
        for d in history.days
    ]


def stats_caption(history: History, quota: QuotaStatus, risk: RiskStats) -> str:
    """Today's figures, then the groups that cost the most today; fits a caption."""
    today = stats_text(history.today.stats, quota, risk)
    if not history.top_groups:
        return today
    for chars in _TITLE_CHARS:
        caption = "\n\n".join((today, _top_groups_text(history.top_groups, chars)))
        if _visible_length(caption) <= CAPTION_LIMIT:
            return caption
    return today


def _top_groups_text(groups: list[GroupUsage], title_chars: int) -> str:
    lines = [_("<b>Top groups by spend today</b>")]
    for place, group in enumerate(groups, start=1):
        title = group.title or _("group {id}").format(id=group.chat_id)
        if len(title) > title_chars:
            title = title[: title_chars - 1] + "…"
        lines.append(
            _("{place}. {title}: {count} paid · {spend}").format(
                place=place,
                title=html.escape(title),
                count=format_count(group.paid_lookups),
                spend=format_money(group.spend, digits=3),
            )
        )
    return "\n".join(lines)


def _visible_length(text: str) -> int:
    """Length as Telegram counts it: tags dropped, entities one character."""
    return len(html.unescape(re.sub(r"<[^>]+>", "", text)))
