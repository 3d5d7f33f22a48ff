"""The upstream ``/blacklist/check`` answer, absorbed into a :class:`RiskVerdict`.

The answer echoes the checked value under ``checked.value``; it is personal
data and is never read, kept or quoted (not even in an error message).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.catbuy.errors import BadResponse
from bot.catbuy.upstream_text import clean_text

DETAIL_KEYS = 20
DETAIL_KEY_LIMIT = 64
DETAIL_VALUE_LIMIT = 200
FIELD_LIMIT = 200
_COST = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,8})?|\.[0-9]{1,8}")


class RiskVerdict(BaseModel):
    """What the risk database says about one identifier."""

    model_config = ConfigDict(frozen=True)

    blacklisted: bool
    risk_score: int
    category: str
    match_type: str | None = None
    first_seen: str | None = None
    reason: str | None = None
    details: dict[str, str] = {}
    cost: Decimal | None = None


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    return None


def _score(value: object, blacklisted: bool) -> int:
    if isinstance(value, str):
        try:
            value = float(value.strip()[:16])
        except ValueError:
            value = None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return max(0, min(100, round(value)))
    # No usable score: say the worst for a listed identifier, nothing for a clean one.
    return 100 if blacklisted else 0


def _text(value: object, limit: int = FIELD_LIMIT) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    return (clean_text(value, limit) or None) if isinstance(value, str) else None


def _compact(value: object) -> str:
    if isinstance(value, str):
        return clean_text(value, DETAIL_VALUE_LIMIT)
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError):
        return ""
    return clean_text(text, DETAIL_VALUE_LIMIT)


def _details(value: object) -> dict[str, str]:
    # The clean answer sends ``[]`` where the match sends an object.
    if not isinstance(value, Mapping):
        return {}
    details: dict[str, str] = {}
    for key, item in value.items():
        name = _text(key, DETAIL_KEY_LIMIT)
        if name and item is not None and len(details) < DETAIL_KEYS:
            details[name] = _compact(item)
    return details


def _cost(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float):
        cost = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip().lstrip("$")[:16]
        # ASCII digits only: "①" and "¹" pass isdigit() and break Decimal().
        cost = Decimal(text) if _COST.fullmatch(text) else Decimal(-1)
    else:
        return None
    return cost if 0 <= cost < 1000 else None


def parse_risk(raw: object) -> RiskVerdict:
    """Turn a decoded ``/blacklist/check`` answer into a :class:`RiskVerdict`.

    ``ok`` false, a missing ``result`` object or a missing ``blacklisted``
    flag is a :class:`BadResponse`.
    """
    if not isinstance(raw, Mapping) or raw.get("ok") is not True:
        raise BadResponse("risk answer is not ok")
    result: Any = raw.get("result")
    if not isinstance(result, Mapping):
        raise BadResponse("risk answer has no result object")
    blacklisted = _flag(result.get("blacklisted"))
    if blacklisted is None:
        raise BadResponse("risk answer has no blacklisted flag")
    return RiskVerdict(
        blacklisted=blacklisted,
        risk_score=_score(result.get("riskScore"), blacklisted),
        category=_text(result.get("category"), 64) or ("unknown" if blacklisted else "none"),
        match_type=_text(result.get("matchType"), 32),
        first_seen=_text(result.get("firstSeen"), 32),
        reason=_text(result.get("reason")),
        details=_details(result.get("details")),
        cost=_cost(raw.get("cost")),
    )
