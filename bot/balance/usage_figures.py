"""What the daily usage counters count, and what it costs at the upstream's prices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

# The upstream's documented pay-as-you-go prices.
LOOKUP_PRICE = Decimal("0.004")
RISK_CHECK_PRICE = Decimal("0.03")


class Counter(StrEnum):
    """What is counted per day."""

    PAID_LOOKUPS = "paid_lookups"
    CACHE_HITS = "cache_hits"
    COALESCED = "coalesced"
    NOT_FOUND = "not_found"
    REFUSED_USER = "refused_user"
    REFUSED_CHAT = "refused_chat"
    REFUSED_BUDGET = "refused_budget"
    REFUSED_BREAKER = "refused_breaker"
    # A chat pasting faster than Telegram lets its cards out: not looked up.
    REFUSED_FLOOD = "refused_flood"
    BUSY = "busy"
    TIMEOUTS = "timeouts"
    UPSTREAM_ERRORS = "upstream_errors"
    RISK_CHECKS = "risk_checks"


@dataclass(frozen=True, slots=True)
class DailyStats:
    """Today's (UTC) figures; money is estimated from the documented prices."""

    counts: dict[Counter, int]

    def __getitem__(self, counter: Counter) -> int:
        return self.counts.get(counter, 0)

    @property
    def paid_lookups(self) -> int:
        return self[Counter.PAID_LOOKUPS]

    @property
    def cache_hits(self) -> int:
        return self[Counter.CACHE_HITS]

    @property
    def coalesced(self) -> int:
        return self[Counter.COALESCED]

    @property
    def risk_checks(self) -> int:
        return self[Counter.RISK_CHECKS]

    @property
    def quota_refusals(self) -> int:
        refusals = (Counter.REFUSED_USER, Counter.REFUSED_CHAT, Counter.REFUSED_BUDGET)
        return sum(self[c] for c in refusals)

    @property
    def refusals(self) -> int:
        """Look-ups turned away: quotas, budget, breaker, a full queue, a flooding chat."""
        others = (Counter.REFUSED_BREAKER, Counter.REFUSED_FLOOD, Counter.BUSY)
        return self.quota_refusals + sum(self[c] for c in others)

    @property
    def hit_rate(self) -> float:
        """Share of answered look-ups that cost nothing (cache hits and coalesced)."""
        free = self.cache_hits + self.coalesced
        total = free + self.paid_lookups
        return free / total if total else 0.0

    @property
    def lookup_spend(self) -> Decimal:
        """Paid look-ups at the documented price (risk checks report their own cost)."""
        return self.paid_lookups * LOOKUP_PRICE

    @property
    def risk_spend(self) -> Decimal:
        """Paid risk checks at the documented price."""
        return self.risk_checks * RISK_CHECK_PRICE

    @property
    def spend(self) -> Decimal:
        """The day's estimated spend: paid look-ups and paid risk checks."""
        return self.lookup_spend + self.risk_spend

    @property
    def saved_by_cache(self) -> Decimal:
        """What the free answers would have cost as paid look-ups."""
        return (self.cache_hits + self.coalesced) * LOOKUP_PRICE
