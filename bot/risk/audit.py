"""The risk checks' audit trail: who checked what (masked), when, with what result."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.risk.values import RiskType

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One line of the audit trail: who checked what (masked), when, with what result.

    ``result`` is ``blacklisted``, ``clean`` or the failed outcome's kind.
    """

    admin_id: int
    at: datetime
    kind: RiskType
    masked: str
    result: str
    score: int | None
    cached: bool


class RiskAudit:
    """The audit trail: a Redis stream capped at about ``maxlen`` records."""

    def __init__(self, store: Redis, key: str, maxlen: int = 1000) -> None:
        self._store = store
        self._key = key
        self._maxlen = maxlen

    async def append(
        self,
        admin_id: int,
        kind: RiskType,
        masked: str,
        result: str,
        score: int | None,
        cached: bool,
    ) -> None:
        try:
            # The stream id is the store's clock in ms: the record's time.
            await self._store.xadd(
                self._key,
                {
                    "admin": admin_id,
                    "type": kind.value,
                    "value": masked,
                    "result": result,
                    "score": "" if score is None else score,
                    "cached": int(cached),
                },
                maxlen=self._maxlen,
                approximate=True,
            )
        except RedisError:
            # A lost audit line must not hide a verdict the admin already paid for.
            log.warning("risk audit record lost: store unavailable")

    async def latest(self, limit: int = 20) -> list[AuditRecord]:
        entries = await self._store.xrevrange(self._key, count=limit) or []
        records = (_record(_text(entry_id), fields or {}) for entry_id, fields in entries)
        return [record for record in records if record is not None]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _record(entry_id: str, raw: Mapping[bytes | str, bytes | str]) -> AuditRecord | None:
    fields = {_text(key): _text(value) for key, value in raw.items()}
    try:
        return AuditRecord(
            admin_id=int(fields.get("admin", "0")),
            at=datetime.fromtimestamp(int(entry_id.split("-", 1)[0]) / 1000, tz=UTC),
            kind=RiskType(fields.get("type", "")),
            masked=fields.get("value", ""),
            result=fields.get("result", ""),
            score=int(fields["score"]) if fields.get("score") else None,
            cached=fields.get("cached") == "1",
        )
    except ValueError:
        return None  # not a record this code wrote: skip it, don't break /risklog
