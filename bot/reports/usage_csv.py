"""The daily history as CSV, for spreadsheets: one row a day, English headers,
plain numbers (no grouping, a dot for decimals)."""

from __future__ import annotations

import csv
import io

from bot.balance.usage_figures import Counter
from bot.balance.usage_history import History

# Columns after the date: every counter, in its declared order, then what they cost.
_COUNTERS = tuple(Counter)
HEADER = ("date", *(c.value for c in _COUNTERS), "spend_usd")


def history_csv(history: History) -> bytes:
    """UTF-8 CSV, oldest day first, with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for day in history.days:
        counts = [day.stats[c] for c in _COUNTERS]
        writer.writerow([day.day.isoformat(), *counts, f"{day.stats.spend:f}"])
    return out.getvalue().encode()
