"""The words of /quota and /stats."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.balance.daily_usage import DailyStats
from bot.balance.ledger import QuotaStatus
from bot.i18n.formatting import format_count, format_money, format_share, reset_in
from bot.risk.storage import RiskStats


def quota_text(status: QuotaStatus) -> str:
    """The user's own look-ups left, the group's when asked in one, and an empty budget."""
    if status.exempt:
        mine = ngettext(
            "You are an admin: no personal quota ({used} look-up today).",
            "You are an admin: no personal quota ({used} look-ups today).",
            status.user_used,
        ).format(used=format_count(status.user_used))
    else:
        mine = _("Look-ups left today: {left} of {quota}.").format(
            left=format_count(status.user_left), quota=format_count(status.user_quota)
        )
    lines = [mine]
    if status.chat_left is not None:
        lines.append(
            _("This group: {left} of {quota} left today.").format(
                left=format_count(status.chat_left), quota=format_count(status.chat_quota)
            )
        )
    if status.budget_left == 0:  # the one limit nobody sees coming: every link is refused
        lines.append(_("The bot's daily budget is used up: links get no card until the reset."))
    lines.append(_("Cached items are free and don't count."))
    lines.append(_("Resets in {time} (00:00 UTC).").format(time=reset_in(status.reset_seconds)))
    return "\n".join(lines)


def stats_text(stats: DailyStats, quota: QuotaStatus, risk: RiskStats) -> str:
    lookup_spend = stats.lookup_spend
    lines = [
        _("<b>Today (UTC)</b>"),
        _("Paid look-ups: {count}").format(count=format_count(stats.paid_lookups)),
        _("Cache hits: {hits} · coalesced: {coalesced} · free share: {share}").format(
            hits=format_count(stats.cache_hits),
            coalesced=format_count(stats.coalesced),
            share=format_share(round(stats.hit_rate, 2)),
        ),
        _("Quota refusals: {count}").format(count=format_count(stats.quota_refusals)),
        _("Budget left: {left} of {budget}").format(
            left=format_count(quota.budget_left), budget=format_count(quota.daily_budget)
        ),
        _("Risk checks: {count} (cached {cached}) · budget left: {left} of {budget}").format(
            count=format_count(risk.checks),
            cached=format_count(risk.cached),
            left=format_count(risk.budget_left),
            budget=format_count(risk.budget),
        ),
        _("Estimated spend: {total} (look-ups {lookups}, risk checks {risk})").format(
            total=format_money(lookup_spend + risk.spend, digits=3),
            lookups=format_money(lookup_spend, digits=3),
            risk=format_money(risk.spend, digits=2),
        ),
        _("Saved by the cache: {saved}").format(saved=format_money(stats.saved_by_cache, digits=3)),
    ]
    return "\n".join(lines)
