"""A fake Telegram Bot API server on 127.0.0.1, for tests that run the bot over real HTTP.

Point a bot at it with `TelegramAPIServer.from_base(api.base_url)` (or the
`TELEGRAM_API_URL` setting). It answers like `RecordingSession` does, because
both use `FakeTelegram`; on top it speaks HTTP the way Telegram does: token
check, form/multipart/JSON bodies, long-polling `getUpdates`, webhooks, file
downloads.

Standalone, for demos: `python -m tests.fakes.bot_api_server --port P --token T`
prints one line per call (never the token).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import Update
from aiohttp import ClientSession, ClientTimeout, web

from tests.fakes.local_server import LocalServer
from tests.fakes.telegram import (
    EDIT_METHODS,
    SEND_METHODS,
    TRUE_METHODS,
    FakeTelegram,
    JsonDict,
    SentCall,
    update_to_dict,
)
from tests.fakes.telegram.knobs import TelegramKnobs

# How aiogram's multipart/form fields decode: everything arrives as a string.
INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
        "from_chat_id",
    }
)
BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "drop_pending_updates",
        "protect_content",
        "has_spoiler",
        "show_caption_above_media",
        "allow_sending_without_reply",
        "disable_web_page_preview",
    }
)
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "media",
        "entities",
        "caption_entities",
        "allowed_updates",
        "reply_parameters",
        "link_preview_options",
        "commands",
        "scope",
        "message_ids",
    }
)
OTHER_METHODS = ("getMe", "getUpdates", "getWebhookInfo", "deleteMessage", "getFile")
# Telegram matches method names case-insensitively.
_CANONICAL = {
    name.lower(): name for name in (*TRUE_METHODS, *SEND_METHODS, *EDIT_METHODS, *OTHER_METHODS)
}

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


@dataclass
class WebhookRegistration:
    """What `setWebhook` registered."""

    url: str
    secret_token: str | None = None
    allowed_updates: list[str] = field(default_factory=list)
    max_connections: int | None = None


class FakeBotApi(TelegramKnobs, LocalServer):
    """A local aiohttp server that behaves like the Bot API for one bot token."""

    def __init__(
        self,
        token: str = "42:TEST-TOKEN",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        telegram: FakeTelegram | None = None,
        echo: bool = False,
    ) -> None:
        super().__init__(host, port)
        self.token = token
        self.telegram = telegram or FakeTelegram(bot_id=int(token.split(":", 1)[0]))
        self.echo = echo
        self.webhook: WebhookRegistration | None = None
        self.webhook_history: list[WebhookRegistration] = []
        self._updates_arrived = asyncio.Event()
        self._poll_generation = 0
        self.waiting_polls = 0  # long polls held open right now; tests sync on it

    # lifecycle --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    # knobs and records ------------------------------------------------------------

    @property
    def sent(self) -> list[SentCall]:
        return self.telegram.sent

    def calls(self, method: str) -> list[SentCall]:
        return self.telegram.calls(method)

    def push_update(self, update: JsonDict | Update) -> JsonDict:
        """Queue an update for `getUpdates`, waking a waiting long poll."""
        raw = self.telegram.push_update(update)
        self._wake_pollers()
        return raw

    async def wait_for(
        self,
        predicate_or_method: str | Callable[[SentCall], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the test, not an I/O timeout
    ) -> SentCall:
        return await self.telegram.wait_for(predicate_or_method, timeout)

    async def push_webhook(
        self, url: str, update: JsonDict | Update, secret: str | None = None
    ) -> int:
        """POST an update to a bot's webhook as Telegram does; the HTTP status it answered."""
        raw = update_to_dict(update)
        raw.setdefault("update_id", self.telegram.next_update_id())
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with (
            ClientSession(timeout=ClientTimeout(total=30)) as session,
            session.post(url, json=raw, headers=headers) as response,
        ):
            await response.read()
            return response.status

    def _wake_pollers(self) -> None:
        # Swap the event so every waiter of this round wakes exactly once.
        arrived, self._updates_arrived = self._updates_arrived, asyncio.Event()
        arrived.set()

    # HTTP -------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            if self.echo:
                print(f"401 {request.match_info['method']} (wrong token)", flush=True)
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        name = request.match_info["method"]
        method = _CANONICAL.get(name.lower(), name)
        try:
            params, files, names = await _read_params(request)
        except ValueError as error:
            return _json(400, {"ok": False, "error_code": 400, "description": str(error)})
        if method == "getUpdates":
            call = await self._get_updates(params)
        elif method in {"setWebhook", "deleteWebhook", "getWebhookInfo"}:
            call = self._webhook_method(method, params)
        else:
            call = self.telegram.answer(method, params, files, names)
        if self.echo:
            _echo(call)
        if call.page is not None:
            return web.Response(status=call.status, text=call.page, content_type="text/html")
        return _json(call.status, call.response)

    async def _handle_file(self, request: web.Request) -> web.Response:
        data = None
        if request.match_info["token"] == self.token:
            data = self.telegram.file_bytes(request.match_info["path"])
        if data is None:
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return web.Response(body=data, content_type="image/jpeg")

    async def _get_updates(self, params: JsonDict) -> SentCall:
        if self.webhook is not None:
            return self._refuse("getUpdates", params, 409, CONFLICT_WEBHOOK)
        # A newer long poll ends an older one with 409, as Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, float(params.get("timeout") or 0))
        offset, limit = params.get("offset"), int(params.get("limit") or 100)
        while True:
            arrived = self._updates_arrived
            batch = self.telegram.pending_updates(offset, limit)
            if generation != self._poll_generation:
                return self._refuse("getUpdates", params, 409, CONFLICT_POLLING)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self.stopping.is_set():
                call = SentCall("getUpdates", params, response={"ok": True, "result": batch})
                self.telegram.sent.append(call)
                return call
            closing = asyncio.ensure_future(self.stopping.wait())
            waiting = asyncio.ensure_future(arrived.wait())
            self.waiting_polls += 1
            try:
                await asyncio.wait(
                    {closing, waiting}, timeout=remaining, return_when="FIRST_COMPLETED"
                )
            finally:
                self.waiting_polls -= 1
                closing.cancel()
                waiting.cancel()

    def _webhook_method(self, method: str, params: JsonDict) -> SentCall:
        if method == "setWebhook":
            secret = params.get("secret_token")
            if secret is not None and not _valid_secret(str(secret)):
                return self._refuse(
                    method, params, 400, "Bad Request: secret token contains unallowed characters"
                )
            self.webhook = WebhookRegistration(
                url=str(params.get("url", "")),
                secret_token=secret,
                allowed_updates=list(params.get("allowed_updates") or []),
                max_connections=params.get("max_connections"),
            )
            self.webhook_history.append(self.webhook)
            if not self.webhook.url:
                self.webhook = None  # Telegram: an empty url removes the webhook
            self._wake_pollers()
        if method == "deleteWebhook":
            self.webhook = None
        if method == "getWebhookInfo":
            info: JsonDict = {
                "url": self.webhook.url if self.webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": self.telegram.pending_update_count,
            }
            if self.webhook and self.webhook.allowed_updates:
                info["allowed_updates"] = self.webhook.allowed_updates
            call = SentCall(method, params, response={"ok": True, "result": info})
            self.telegram.sent.append(call)
            return call
        return self.telegram.answer(method, params, {})

    def _refuse(self, method: str, params: JsonDict, status: int, description: str) -> SentCall:
        body = {"ok": False, "error_code": status, "description": description}
        call = SentCall(method, params, status=status, response=body)
        self.telegram.sent.append(call)
        return call


def _valid_secret(secret: str) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    return 1 <= len(secret) <= 256 and set(secret) <= allowed


async def _read_params(
    request: web.Request,
) -> tuple[JsonDict, dict[str, bytes], dict[str, str]]:
    """Params from the query string and a JSON, form or multipart body, decoded like
    Telegram; uploads by field name, and their file names."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    if request.content_type == "application/json" and request.can_read_body:
        try:
            body = await request.json()
        except json.JSONDecodeError as error:
            raise ValueError("Bad Request: can't parse JSON object") from error
        raw.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
                if value.filename:
                    names[key] = value.filename
            else:
                raw[key] = value
    return {key: _decode(key, value) for key, value in raw.items()}, files, names


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value  # "@channelusername"
    if key in BOOL_FIELDS:
        return value.lower() == "true"
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            what = "reply keyboard markup" if key == "reply_markup" else key
            raise ValueError(f"Bad Request: can't parse {what} JSON object") from error
    return value


def _json(status: int, body: JsonDict) -> web.Response:
    return web.json_response(body, status=status)


def _echo(call: SentCall) -> None:
    shown = {k: v for k, v in call.params.items() if k in {"chat_id", "text", "caption", "photo"}}
    summary = json.dumps(shown, ensure_ascii=False)[:160]
    print(f"{call.status} {call.method} {summary}", flush=True)


async def _serve(host: str, port: int, token: str) -> None:
    async with FakeBotApi(token, host=host, port=port, echo=True) as api:
        print(f"fake Bot API listening on {api.base_url}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="42:TEST-TOKEN")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.host, args.port, args.token))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
