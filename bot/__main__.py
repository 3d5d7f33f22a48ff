"""Start the bot: ``python -m bot`` or ``catbuy-bot``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import sys
from typing import NoReturn

from bot.config import ConfigError, Settings, load_settings
from bot.ops.logs import setup_logging


def main() -> None:
    try:
        settings: Settings = load_settings()
    except ConfigError as error:
        _exit_on(error)
    secrets = [settings.bot_token.get_secret_value(), settings.catbuy_api_key.get_secret_value()]
    setup_logging(settings.log_level, settings.log_format, secrets)

    raise_open_files_limit()
    from bot.run import StartupError, run  # after logging: start-up is logged (and redacted)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(settings))
    except ConfigError as error:  # found only at start-up: a port, a token Telegram refuses
        _exit_on(error)
    except StartupError as error:
        print(f"catbuy-bot: {error}", file=sys.stderr)
        sys.exit(1)
    except Exception:
        # Through the log handler, so the traceback is redacted like every line.
        logging.getLogger("bot").critical("stopped by an unexpected error", exc_info=True)
        sys.exit(1)


def raise_open_files_limit(ceiling: int = 65536) -> None:
    """Lift the soft limit on open files towards the hard one.

    Many systems start processes at 1,024, and a burst of updates holds a Redis
    connection each: at the limit, every new connection, file and socket fails.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _exit_on(error: ConfigError) -> NoReturn:
    print(f"catbuy-bot: configuration error: {error}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
