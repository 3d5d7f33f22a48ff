"""One Bot API call as Telegram received it, and what tests read of a list of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any, cast

from tests.fakes.telegram.limits import JsonDict


@dataclass
class SentCall:
    """One Bot API call as received: method, params (JSON fields parsed), uploads, answer."""

    method: str
    params: JsonDict
    files: dict[str, bytes] = field(default_factory=dict)
    # The uploads' file names by field, as the multipart body gave them.
    file_names: dict[str, str] = field(default_factory=dict)
    time: float = field(default_factory=monotonic)
    status: int = 200
    response: JsonDict = field(default_factory=dict)
    page: str | None = None  # the body instead of ``response`` when it is not JSON

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def reply_markup(self) -> JsonDict | None:
        return cast("JsonDict | None", self.params.get("reply_markup"))

    def upload(self, value: Any = None) -> bytes | None:
        """Bytes uploaded for `value` (an `attach://` reference); by default the first upload."""
        if isinstance(value, str) and value.startswith("attach://"):
            return self.files.get(value.removeprefix("attach://"))
        if value is None and self.files:
            return next(iter(self.files.values()))
        return None


def texts(calls: Iterable[SentCall]) -> list[str]:
    """The visible text (text or caption) of each call, for quick assertions."""
    return [str(call.params.get("text", call.params.get("caption", ""))) for call in calls]
