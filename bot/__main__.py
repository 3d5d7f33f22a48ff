"""Start the bot: ``python -m bot`` or ``catbuy-bot``."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging


def main() -> None:
    try:
        settings: Settings = load_settings()
    except ConfigError as error:
        print(f"catbuy-bot: configuration error: {error}", file=sys.stderr)
        sys.exit(2)
    secrets = [settings.bot_token.get_secret_value(), settings.catbuy_api_key.get_secret_value()]
    setup_logging(settings.log_level, settings.log_format, secrets)

    from bot.app import run  # after logging, so start-up is logged (and redacted)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))


if __name__ == "__main__":
    main()
