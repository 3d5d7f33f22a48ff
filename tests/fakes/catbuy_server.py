"""A local CatBuy Services API that follows the public reference.

An aiohttp server on 127.0.0.1: POST only, ``X-API-Key`` checked, the domain
allow-list, a sliding one-second RPS window answering ``429 rate_limited``
(every request counts, risk checks too), items served from the fixtures by
item id, and risk checks answered in the fixtures' shapes. Knobs for tests:
latency, forced failures (a status, an HTML page, invalid JSON, a hang, a
dropped connection) for the next N requests or all, or for every look-up of
one item, a log of every request received, and counters.

Standalone, for end-to-end tests and demos::

    python -m tests.fakes.catbuy_server --port P --key K [--rps 2] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import re
import signal
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from tests.fakes.local_server import LocalServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "catbuy"
ALLOWED_DOMAINS = (
    "taobao.com",
    "2.taobao.com",
    "tmall.com",
    "weidian.com",
    "1688.com",
    "goofish.com",
)
RISK_TYPES = frozenset({"email", "username", "phone", "address", "ip", "device"})
PREFIX = "/api/v1"
_ID_PARAMS = ("id", "itemID", "itemId", "offerId", "offerID")
_ID_IN_PATH = (re.compile(r"/offer/(\d+)"), re.compile(r"/item/(\d+)"), re.compile(r"/i(\d+)\.htm"))

Forced = int | Literal["html", "html500", "invalid_json", "hang", "drop", "invalid_url"]


@dataclass
class ReceivedRequest:
    """One request as the fake saw it."""

    at: float  # time.time()
    monotonic: float
    method: str
    path: str
    form: dict[str, str]
    api_key: str | None
    status: int | None = None


@dataclass
class _Forcing:
    mode: Forced
    remaining: int | None  # None: every request until cleared


@dataclass
class _Window:
    """Arrivals in the last ``seconds``; the busiest count ever seen."""

    seconds: float = 1.0
    arrivals: deque[float] = field(default_factory=deque)
    busiest: int = 0

    def arrive(self, now: float) -> int:
        while self.arrivals and now - self.arrivals[0] >= self.seconds:
            self.arrivals.popleft()
        self.arrivals.append(now)
        self.busiest = max(self.busiest, len(self.arrivals))
        return len(self.arrivals)


def load_fixture_items(directory: Path = FIXTURES) -> dict[str, Any]:
    """Every fixture answer that names an item, by its ``data.num_iid``."""
    items: dict[str, Any] = {}
    for path in sorted(directory.glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict) and data.get("num_iid"):
            items[str(data["num_iid"])] = body
    return items


def item_id_of(url: str) -> str | None:
    """The item id in a marketplace URL, as far as the fake needs to know it."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    for name in _ID_PARAMS:
        if query.get(name):
            return query[name][0]
    for pattern in _ID_IN_PATH:
        if match := pattern.search(parts.path):
            return match.group(1)
    return None


def host_allowed(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.username is not None:
        return False
    return any(host == d or host.endswith("." + d) for d in ALLOWED_DOMAINS)


class FakeCatBuy(LocalServer):
    """The fake upstream. ``async with FakeCatBuy(key="cbk_x") as fake: fake.base_url``."""

    def __init__(
        self,
        key: str = "cbk_test_key",
        *,
        rps: float = 2,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        fixtures: Path = FIXTURES,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(host, port)
        self.key = key
        self.rps = rps
        self.latency = latency
        self.retry_after = retry_after
        self.items: dict[str, Any] = load_fixture_items(fixtures)
        self.blacklisted: set[str] = set()
        self.requests: list[ReceivedRequest] = []
        self.received = asyncio.Event()  # set by the first request since the last reset
        self.rejected_429 = 0
        self._errors: dict[str, Any] = json.loads((fixtures / "errors.json").read_text())
        # The risk answers served (a copy each time); tests may edit them.
        self.risk_match: Any = json.loads((fixtures / "risk_match.json").read_text())
        self.risk_clean: Any = json.loads((fixtures / "risk_clean.json").read_text())
        self._window = _Window()
        self._forcing: list[_Forcing] = []
        self._failing_items: dict[str, Forced] = {}

    # --- lifecycle ---

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{PREFIX}"

    # --- knobs ---

    def add_item(self, item_id: str, body: Any) -> None:
        """Serve ``body`` (the whole JSON answer, any shape) for ``item_id``."""
        self.items[item_id] = body

    def blacklist(self, *values: str) -> None:
        self.blacklisted.update(values)

    def force(self, mode: Forced, times: int | None = 1) -> None:
        """Answer the next ``times`` requests (all when None) with ``mode``."""
        self._forcing.append(_Forcing(mode, times))

    def fail_item(self, item_id: str, mode: Forced) -> None:
        """Answer every look-up of ``item_id`` with ``mode`` (until ``clear_forced``)."""
        self._failing_items[item_id] = mode

    def clear_forced(self) -> None:
        self._forcing.clear()
        self._failing_items.clear()

    def reset_counters(self) -> None:
        self.requests.clear()
        self.received.clear()
        self.rejected_429 = 0
        self._window = _Window()

    # --- counters ---

    @property
    def calls(self) -> int:
        return len(self.requests)

    def calls_to(self, path: str) -> int:
        """Requests received on ``/item`` or ``/blacklist/check``."""
        return sum(1 for r in self.requests if r.path == PREFIX + path)

    @property
    def max_in_any_second(self) -> int:
        return self._window.busiest

    # --- the API ---

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        form = await self._form(request)
        record = ReceivedRequest(
            time.time(), now, request.method, request.path, form, request.headers.get("X-API-Key")
        )
        self.requests.append(record)
        self.received.set()
        over_limit = self._window.arrive(now) > self.rps
        response = await self._answer(request, record, over_limit)
        record.status = response.status
        return response

    async def _answer(
        self, request: web.Request, record: ReceivedRequest, over_limit: bool
    ) -> web.StreamResponse:
        if request.method != "POST":
            return self._error(405, "method_not_allowed", "Use POST")
        forced = self._take_forced()
        if forced is None and record.path == PREFIX + "/item":
            forced = self._failing_items.get(item_id_of(record.form.get("url", "")) or "")
        if forced is not None:
            return await self._forced(request, forced)
        if over_limit:
            self.rejected_429 += 1
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            return self._known_error("429 rate_limited", headers)
        if record.api_key is None:
            return self._known_error("401 missing_api_key")
        if record.api_key != self.key:
            return self._known_error("401 invalid_api_key")
        if self.latency:
            await asyncio.sleep(self.latency)
        if record.path == PREFIX + "/item":
            return self._item(record.form)
        if record.path == PREFIX + "/blacklist/check":
            return self._risk(record.form)
        return self._error(404, "not_found", "No such endpoint")

    def _item(self, form: dict[str, str]) -> web.Response:
        url = form.get("url", "").strip()
        if not url:
            return self._known_error("400 missing_parameter")
        if not host_allowed(url):
            return self._known_error("400 invalid_url")
        body = self.items.get(item_id_of(url) or "")
        if body is None:
            return web.json_response({"code": 0, "msg": "item not found", "data": []})
        return web.json_response(body)

    def _risk(self, form: dict[str, str]) -> web.Response:
        kind, value = form.get("type", "").strip(), form.get("value", "")
        if not kind or not value.strip():
            return self._error(400, "missing_parameter", "type and value are required")
        if kind not in RISK_TYPES:
            return self._error(400, "invalid_type", "Unknown type")
        listed = value in self.blacklisted
        body = copy.deepcopy(self.risk_match if listed else self.risk_clean)
        if listed:
            body["result"]["matchType"] = kind
        body["checked"] = {"type": kind, "value": value}
        body["timestamp"] = int(time.time())
        return web.json_response(body)

    # --- failures ---

    def _take_forced(self) -> Forced | None:
        while self._forcing:
            head = self._forcing[0]
            if head.remaining is None:
                return head.mode
            if head.remaining > 0:
                head.remaining -= 1
                if head.remaining == 0:
                    self._forcing.pop(0)
                return head.mode
            self._forcing.pop(0)
        return None

    async def _forced(self, request: web.Request, mode: Forced) -> web.StreamResponse:
        if mode == "hang":
            await self.stopping.wait()
            return self._error(503, "server_error", "stopping")
        if self.latency:
            await asyncio.sleep(self.latency)
        if mode in ("html", "html500"):
            page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
            status = 500 if mode == "html500" else 200
            return web.Response(text=page, status=status, content_type="text/html")
        if mode == "invalid_json":
            return web.Response(text='{"code": 1, "data": {', content_type="application/json")
        if mode == "invalid_url":  # 400 with the code the reference names for a refused URL
            return self._known_error("400 invalid_url")
        if mode == "drop":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        prefix = f"{mode} "
        name = next((k for k in self._errors if k.startswith(prefix)), None)
        if name is not None:
            return self._known_error(name)
        return self._error(mode, "server_error", "Forced failure")

    def _known_error(self, name: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(self._errors[name], status=int(name.split()[0]), headers=headers)

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": code, "message": message}, status=status)

    @staticmethod
    async def _form(request: web.Request) -> dict[str, str]:
        if request.method != "POST":
            return {}
        try:
            data = await request.post()
        except ValueError:
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}


def _arguments(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A local fake of the CatBuy Services API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--key", default=os.environ.get("CATBUY_API_KEY", "cbk_test_key"))
    parser.add_argument("--rps", type=float, default=2.0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--blacklist", action="append", default=[], help="a listed risk value")
    return parser.parse_args(None if argv is None else list(argv))


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeCatBuy(
        args.key,
        rps=args.rps,
        latency=args.latency,
        host=args.host,
        port=args.port,
        fixtures=args.fixtures,
    )
    fake.blacklist(*args.blacklist)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, done.set)
    async with fake:
        # The key is a secret even here: say where, never with what.
        print(f"FakeCatBuy listening on {fake.base_url} ({len(fake.items)} items)", flush=True)
        await done.wait()


def main(argv: Iterable[str] | None = None) -> None:
    asyncio.run(_serve(_arguments(argv)))


if __name__ == "__main__":
    main()
