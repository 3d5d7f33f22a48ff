"""The operator's dashboard: /stats as a chart with a caption, /stats csv as a file.

The chart renders in a worker thread of its own: the event loop keeps serving
other chats meanwhile (a render takes ~0.2 s of CPU), and admins asking at once
queue there rather than fill the loop's default executor, which aiogram uses
for every synchronous filter.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bot.balance.daily_usage import DailyCounters
from bot.lookup.service import LookupService
from bot.reports.dashboard_view import chart_days, chart_labels, stats_caption
from bot.reports.stats_chart import installed_fonts, render_chart
from bot.reports.usage_csv import history_csv
from bot.risk.service import RiskService

CHART_DAYS = 30
# The history is kept longer than this (see daily_usage.RETAIN_DAYS): 90 days promised.
CSV_DAYS = 90
TOP_GROUPS = 5
# One thread, started on the first /stats: matplotlib draws one chart at a time anyway.
_RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stats-chart")


@dataclass(frozen=True, slots=True)
class StatsChart:
    """The PNG and its caption (HTML)."""

    png: bytes
    caption: str


async def stats_chart(
    counters: DailyCounters, lookup: LookupService, risk: RiskService, admin_id: int
) -> StatsChart:
    """The last 30 days as a chart, today's figures and top groups in the caption
    (raises the store's error when it is unreachable)."""
    history = await counters.history(CHART_DAYS, top_groups=TOP_GROUPS)
    quota = await lookup.quota(admin_id, is_admin=True)
    risk_stats = await risk.today()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_RENDERER, installed_fonts)  # the font files, read off the loop
    labels = chart_labels(CHART_DAYS)
    png = await loop.run_in_executor(_RENDERER, render_chart, chart_days(history), labels)
    return StatsChart(png, stats_caption(history, quota, risk_stats))


async def stats_csv(counters: DailyCounters) -> tuple[str, bytes]:
    """The file name and the CSV of the last 90 days (raises the store's error)."""
    history = await counters.history(CSV_DAYS)
    return f"catbuy-stats-{history.today.day.isoformat()}.csv", history_csv(history)
