"""The words of /quota and /stats."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.ledger import QuotaStatus
from bot.refusals import reset_in
from bot.risk import RiskStats
from bot.stats import LOOKUP_PRICE, DailyStats


def quota_text(status: QuotaStatus) -> str:
    if status.exempt:
        mine = _("You are an admin: no personal quota ({used} look-ups today).").format(
            used=status.user_used
        )
    else:
        mine = _("Look-ups left today: {left} of {quota}.").format(
            left=status.user_left, quota=status.user_quota
        )
    return "\n".join(
        [
            mine,
            _("Cached items are free and don't count."),
            _("Resets in {time} (00:00 UTC).").format(time=reset_in(status.reset_seconds)),
        ]
    )


def stats_text(stats: DailyStats, quota: QuotaStatus, risk: RiskStats) -> str:
    lookup_spend = stats.paid_lookups * LOOKUP_PRICE
    lines = [
        _("<b>Today (UTC)</b>"),
        _("Paid look-ups: {count}").format(count=stats.paid_lookups),
        _("Cache hits: {hits} · coalesced: {coalesced} · free share: {rate}%").format(
            hits=stats.cache_hits, coalesced=stats.coalesced, rate=round(stats.hit_rate * 100)
        ),
        _("Quota refusals: {count}").format(count=stats.quota_refusals),
        _("Budget left: {left} of {budget}").format(
            left=quota.budget_left, budget=quota.daily_budget
        ),
        _("Risk checks: {count} (cached {cached}) · budget left: {left} of {budget}").format(
            count=risk.checks, cached=risk.cached, left=risk.budget_left, budget=risk.budget
        ),
        _("Estimated spend: ${total} (look-ups ${lookups}, risk checks ${risk})").format(
            total=f"{lookup_spend + risk.spend:.2f}",
            lookups=f"{lookup_spend:.3f}",
            risk=f"{risk.spend:.2f}",
        ),
        _("Saved by the cache: ${saved}").format(saved=f"{stats.saved_by_cache:.3f}"),
    ]
    return "\n".join(lines)
