"""The test knobs of `FakeTelegram`, for the doubles that hold one as ``telegram``."""

from __future__ import annotations

from tests.fakes.telegram.bot_api import FakeTelegram
from tests.fakes.telegram.limits import WRONG_FILE


class TelegramKnobs:
    """`RecordingSession` and `FakeBotApi` both steer the Telegram they hold."""

    telegram: FakeTelegram

    def refuse_photo_url(self, url: str, description: str = WRONG_FILE) -> None:
        self.telegram.refuse_photo_url(url, description)

    def fail_next(
        self,
        method: str,
        status: int = 429,
        description: str = "Too Many Requests: retry after 1",
        retry_after: int | None = 1,
    ) -> None:
        self.telegram.fail_next(method, status, description, retry_after)

    def flood_after(self, n_per_minute: int, chat_id: int | str | None = None) -> None:
        self.telegram.flood_after(n_per_minute, chat_id)

    def fail_next_with_page(self, method: str, times: int = 1, status: int = 502) -> None:
        self.telegram.fail_next_with_page(method, times, status)
