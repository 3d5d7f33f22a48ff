"""Logging: secrets never reach a line, JSON lines are JSON, outcome lines carry fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from bot.ops.logs import RedactingFilter, log_outcome, sensitive, setup_logging

# Realistic shapes, built at run time so secret scanners do not flag the source.
KEY = "cbk_" + "live9f8e7d6c5b4a3210abcdef"
TOKEN = "123456789:" + "AAHx-fake_TokenValue0123456789abcdefgh"
RISK = "victim.person@example.com"
SECRETS_OUT = [KEY, TOKEN, TOKEN.split(":")[1], quote(TOKEN, safe=""), RISK]
LOGGERS = ["httpx", "aiohttp.client", "aiogram", "bot.x"]


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """The stream the installed handler writes to; logging restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_levels = {n: logging.getLogger(n).level for n in [*LOGGERS, "httpcore", "aiogram.event"]}
    yield io.StringIO()
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


def _emit_everything(name: str) -> None:
    logger = logging.getLogger(name)
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    logger.warning("request %s with key %s", url, KEY)
    logger.warning(f"inline {TOKEN} {KEY} checking {RISK}")
    logger.warning("risk value %r", {"value": RISK, "key": KEY})
    logger.warning("encoded %s", quote(TOKEN, safe=""))
    logger.warning("outcome", extra={"checked": RISK, "nested": {"k": KEY}})
    try:
        raise RuntimeError(f"upstream said no to {KEY} for {RISK} via {url}")
    except RuntimeError:
        logger.exception("call failed for %s", RISK)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_reaches_any_logger(output: io.StringIO, fmt: str) -> None:
    setup_logging("INFO", fmt, [KEY, TOKEN], stream=output)  # type: ignore[arg-type]
    with sensitive(RISK):
        for name in LOGGERS:
            _emit_everything(name)
    text = output.getvalue()
    assert text.count("\n") >= 6 * len(LOGGERS)
    assert "***" in text
    assert "RuntimeError" in text  # the exception text is there, masked
    for secret in SECRETS_OUT:
        assert secret not in text
        assert secret.lower() not in text.lower()


def test_unknown_key_and_token_shapes_are_masked(output: io.StringIO) -> None:
    setup_logging("INFO", "text", [], stream=output)
    other_token = "987654321:ZZxy_otherTokenValue0123456789abcdef"
    logging.getLogger("bot.x").warning("stray cbk_abcDEF123 and bot%s", other_token)
    text = output.getvalue()
    assert "cbk_abcDEF123" not in text
    assert other_token not in text
    assert "stray" in text


def test_httpx_own_request_line_is_masked(output: io.StringIO) -> None:
    setup_logging("INFO", "text", [KEY, TOKEN], stream=output)
    # Someone turns httpx back up: its real request log must still be masked.
    logging.getLogger("httpx").setLevel(logging.INFO)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    with httpx.Client(transport=transport) as client:
        client.get(f"https://api.telegram.org/bot{TOKEN}/getMe", params={"key": KEY})
    text = output.getvalue()
    assert "HTTP Request" in text
    assert TOKEN not in text and KEY not in text and TOKEN.split(":")[1] not in text


def test_sensitive_value_is_masked_only_while_registered(output: io.StringIO) -> None:
    setup_logging("INFO", "text", [], stream=output)
    log = logging.getLogger("bot.risk.service")
    with sensitive(RISK):
        with sensitive(RISK):
            pass
        # The inner block ended; the outer check is still running.
        log.warning("inside %s", RISK)
    log.warning("after %s", RISK)
    lines = output.getvalue().splitlines()
    assert RISK not in lines[0]
    assert RISK in lines[1]


def test_chatty_loggers_are_quiet_at_info(output: io.StringIO) -> None:
    setup_logging("INFO", "text", [], stream=output)
    logging.getLogger("httpx").info("HTTP Request: GET https://example")
    logging.getLogger("aiogram.event").info("Update id=1 is handled")
    logging.getLogger("bot.x").info("kept")
    assert output.getvalue().splitlines()[-1].endswith("kept")
    assert "HTTP Request" not in output.getvalue()
    assert "Update id=1" not in output.getvalue()


def test_the_chart_s_libraries_are_quiet_at_debug(output: io.StringIO) -> None:
    setup_logging("DEBUG", "text", [], stream=output)
    logging.getLogger("matplotlib.font_manager").debug("findfont: score(FontEntry(...)) = 10")
    logging.getLogger("PIL.PngImagePlugin").debug("STREAM b'IHDR' 16 13")
    logging.getLogger("bot.x").debug("kept")
    assert output.getvalue().splitlines() and output.getvalue().rstrip().endswith("kept")
    assert "findfont" not in output.getvalue() and "IHDR" not in output.getvalue()


def test_json_lines_carry_outcome_fields(output: io.StringIO) -> None:
    setup_logging("DEBUG", "json", [KEY], stream=output)
    log = logging.getLogger("bot.lookup.service")
    log_outcome(
        log,
        "lookup",
        platform="taobao",
        item_id="123",
        outcome="card",
        latency_ms=412,
        cached=False,
        update_id=7,
        name="clashes with LogRecord.name",
    )
    log.debug("multi\nline %s", KEY)
    entries = [json.loads(line) for line in output.getvalue().splitlines()]
    first = entries[0]
    assert first["message"] == "lookup"
    assert first["level"] == "INFO" and first["logger"] == "bot.lookup.service"
    assert first["platform"] == "taobao" and first["item_id"] == "123"
    assert first["latency_ms"] == 412 and first["cached"] is False and first["update_id"] == 7
    assert first["name_"] == "clashes with LogRecord.name"
    assert "time" in first
    assert entries[1]["message"] == "multi\nline ***"


def test_text_lines_carry_outcome_fields(output: io.StringIO) -> None:
    setup_logging("INFO", "text", [], stream=output)
    log_outcome(logging.getLogger("bot.lookup.service"), "lookup", outcome="quota", cached=True)
    line = output.getvalue().strip()
    assert "lookup" in line and "outcome=quota" in line and "cached=True" in line


def test_setup_twice_keeps_one_handler(output: io.StringIO) -> None:
    setup_logging("INFO", "text", [], stream=output)
    setup_logging("INFO", "json", [], stream=output)
    logging.getLogger("bot.x").warning("once")
    assert output.getvalue().count("once") == 1


def test_filter_masks_longest_secret_first() -> None:
    redacting = RedactingFilter(["abc", "abcdef"])
    assert redacting.redact("x abcdef y") == "x *** y"
