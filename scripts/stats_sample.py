"""The README's sample /stats chart, drawn by the bot's own renderer from made-up data.

``python -m scripts.stats_sample [--lang en] [--out docs/stats-sample.png]``: 30 days
of a growing bot (weekends busier, the cache catching up, a budget day that ran
out), the labels in ``--lang`` as an admin would see them.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.balance.usage_figures import Counter, DailyStats
from bot.balance.usage_history import DayFigures, History
from bot.i18n.user_locale import create_i18n
from bot.reports.dashboard_view import chart_days, chart_labels
from bot.reports.stats_chart import render_chart

ROOT = Path(__file__).resolve().parent.parent


def sample_history(today: date, days: int = 30, seed: int = 21) -> History:
    """A plausible month: more paid look-ups as groups join, more cache hits as it warms."""
    rng = random.Random(seed)
    figures = []
    for n in range(days):
        day = today - timedelta(days=days - 1 - n)
        busy = 1.35 if day.weekday() >= 5 else 1.0
        asked = int((180 + 9 * n) * busy * rng.uniform(0.85, 1.15))
        free_share = 0.25 + 0.4 * n / days
        paid = int(asked * (1 - free_share))
        counts = {
            Counter.PAID_LOOKUPS: paid,
            Counter.CACHE_HITS: int(asked * free_share * 0.9),
            Counter.COALESCED: int(asked * free_share * 0.1),
            Counter.REFUSED_USER: rng.randint(0, 12),
            Counter.REFUSED_CHAT: rng.randint(0, 6),
            Counter.RISK_CHECKS: rng.randint(0, 8),
        }
        if n == days - 9:  # the day the budget ran out
            counts[Counter.REFUSED_BUDGET] = 140
        figures.append(DayFigures(day, DailyStats(counts)))
    return History(figures, [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="en", choices=("en", "ru", "zh", "es"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "stats-sample.png")
    parser.add_argument("--today", type=date.fromisoformat, default=None)
    args = parser.parse_args()
    today = args.today or datetime.now(UTC).date()
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(args.lang):
        labels = chart_labels(30)
    png = render_chart(chart_days(sample_history(today)), labels)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(png)
    print(f"{args.out}: {len(png):,} bytes, labels in {args.lang!r}: {labels.title}")


if __name__ == "__main__":
    main()
