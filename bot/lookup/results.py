"""What a look-up ends in: the product, or a refusal saying why, and what admins should hear."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.balance.breaker import BreakerReason
from bot.items.item import Item


class Failure(StrEnum):
    """Why a look-up gave no product."""

    NOT_FOUND = "not_found"
    USER_QUOTA = "user_quota"
    CHAT_QUOTA = "chat_quota"
    BUDGET = "budget"
    BREAKER_OPEN = "breaker_open"
    BUSY = "busy"
    TIMEOUT = "timeout"
    UPSTREAM_ERROR = "upstream_error"
    STORE_DOWN = "store_down"


class NoticeKind(StrEnum):
    """What admins should be told."""

    BUDGET_EXHAUSTED = "budget_exhausted"
    BREAKER_OPEN = "breaker_open"


@dataclass(frozen=True, slots=True)
class AdminNotice:
    """Tell every admin, in private: set on exactly one result per day / cooldown."""

    kind: NoticeKind
    reason: BreakerReason | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """The product. ``cached``: from the cache; ``coalesced``: shared another's fetch."""

    item: Item
    cached: bool = False
    coalesced: bool = False
    notify_admins: AdminNotice | None = None

    @property
    def outcome(self) -> str:
        return "found"


@dataclass(frozen=True, slots=True)
class Refused:
    """No product: ``kind`` says why; ``reset_seconds`` for quotas, ``reason`` for the breaker.

    ``held``: the upstream failed on a call that may have been billed, and the
    item is not asked again for a while; re-pastes get this answer, free.
    """

    kind: Failure
    reset_seconds: int | None = None
    reason: BreakerReason | None = None
    notify_admins: AdminNotice | None = None
    held: bool = False

    @property
    def outcome(self) -> str:
        return self.kind.value


LookupResult = Found | Refused
