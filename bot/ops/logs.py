"""Logging: one stderr handler, text or JSON lines, and redaction of secrets.

The API key, the bot token and checked risk values must never reach a log
line, whoever logs them (httpx logs full URLs, aiohttp logs request lines,
exceptions carry request reprs). So redaction is a filter on the root handler:
every logger that propagates to the root passes through it, and it rewrites
the record after the message, its arguments, the exception text and the extra
fields are rendered.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, TextIO
from urllib.parse import quote

MASK = "***"

# Anything shaped like a CatBuy key or a Telegram bot token is masked even
# when it is not one of ours: a stray key in a log is a leak all the same.
_KEY_SHAPE = r"cbk_[A-Za-z0-9]+"
_TOKEN_SHAPE = r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}"

# Loggers that are chatty at INFO and print URLs or whole updates; and the
# chart's libraries, which log every font file and PNG chunk at DEBUG.
_QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "aiogram.event",
    "aiohttp.access",
    "hpack",
    "matplotlib",
    "PIL",
)

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class RedactingFilter(logging.Filter):
    """Masks secrets in a record after it is fully rendered.

    Fixed secrets (the key, the token) are given at construction; risk values
    are added for the duration of a check with :func:`sensitive`. Adding and
    removing is guarded by a lock and counted, so two concurrent checks of the
    same value do not unmask it when the first one ends.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._fixed = sorted(_variants(secrets), key=len, reverse=True)
        self._registered: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._pattern = self._compile()

    def add(self, value: str) -> None:
        """Mask ``value`` until a matching :meth:`discard`."""
        with self._lock:
            for variant in _variants([value]):
                self._registered[variant] += 1
            self._pattern = self._compile()

    def discard(self, value: str) -> None:
        """Undo one :meth:`add` of ``value``."""
        with self._lock:
            for variant in _variants([value]):
                self._registered[variant] -= 1
                if self._registered[variant] <= 0:
                    del self._registered[variant]
            self._pattern = self._compile()

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        # One reference read: a concurrent add() swaps the whole pattern.
        return self._pattern.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name in _RECORD_FIELDS or isinstance(value, bool | int | float | None):
                continue
            # Containers and objects are rendered to text so nothing nested escapes.
            setattr(record, name, self.redact(value if isinstance(value, str) else str(value)))
        return True

    def _compile(self) -> re.Pattern[str]:
        literals = sorted({*self._fixed, *self._registered}, key=len, reverse=True)
        parts = [re.escape(s) for s in literals] + [_KEY_SHAPE, _TOKEN_SHAPE]
        return re.compile("|".join(parts), re.IGNORECASE)


def _variants(values: Iterable[str]) -> set[str]:
    """A secret as it may appear in a log: raw, URL-encoded, a token's secret half."""
    out: set[str] = set()
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        out |= {value, quote(value, safe=""), quote(value)}
        head, sep, tail = value.partition(":")
        if sep and head.isdigit() and len(tail) >= 8:
            out.add(tail)
    return out


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines, with the extra fields appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        return f"{line} {extras}" if extras else line


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}


class _BotHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`setup_logging` installs, told apart so a second call replaces it."""


def setup_logging(
    level: str,
    fmt: Literal["text", "json"],
    secrets: Iterable[str],
    *,
    stream: TextIO | None = None,
) -> None:
    """Install the one handler (stderr unless ``stream``) on the root logger, with redaction.

    Calling it again replaces the handler it installed before.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _BotHandler)]:
        root.removeHandler(old)
    handler = _BotHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _installed_filters() -> list[RedactingFilter]:
    return [
        f
        for handler in logging.getLogger().handlers
        for f in handler.filters
        if isinstance(f, RedactingFilter)
    ]


def register_sensitive(value: str) -> None:
    """Mask ``value`` in every log line from now on (see :func:`sensitive`)."""
    for redacting in _installed_filters():
        redacting.add(value)


def unregister_sensitive(value: str) -> None:
    """Undo one :func:`register_sensitive` of ``value``."""
    for redacting in _installed_filters():
        redacting.discard(value)


@contextmanager
def sensitive(*values: str) -> Iterator[None]:
    """Mask ``values`` (e.g. a checked risk value) in every log line inside the block.

    The registry lives in the root handler's filter because logging itself is
    process-wide: a value is masked whichever task or thread logs it.
    """
    for value in values:
        register_sensitive(value)
    try:
        yield
    finally:
        for value in values:
            unregister_sensitive(value)


def log_outcome(
    logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any
) -> None:
    """One structured line for an update outcome or an upstream call.

    ``fields`` (platform, item_id, outcome, latency_ms, cached, update_id, ...)
    become JSON keys in JSON format and ``key=value`` pairs in text format.
    """
    # A field named like a LogRecord attribute would make logging raise.
    extra = {(f"{k}_" if k in _RECORD_FIELDS else k): v for k, v in fields.items()}
    logger.log(level, event, extra=extra)
