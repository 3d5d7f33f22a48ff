"""Numbers, money, dates and durations written the way the reader's language writes them.

Presentation helpers over Babel: ``1,234`` in English, ``1 234`` in Russian,
``1.234`` in Spanish. The locale is the one the current update is handled in
(aiogram's i18n context), or an explicit ``locale``; outside any context (a
background task, a script) English.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from bot.i18n.language import DEFAULT_LOCALE

# Babel's default ``zh`` is Simplified Chinese (zh_Hans_CN): what the bot's zh is.
_FALLBACK = Locale.parse(DEFAULT_LOCALE)


def current_locale() -> str:
    """The locale of the update being handled, else English."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        return DEFAULT_LOCALE
    return i18n.current_locale or DEFAULT_LOCALE


def babel_locale(locale: str | None = None) -> Locale:
    """A Babel locale for one of ours (``en``, ``ru``, ``zh``, ``es``); unknown ones: English."""
    return _parsed_locale(locale or current_locale())


# Parsing the locale was a third of each number's formatting, and a card formats several.
@lru_cache(maxsize=64)
def _parsed_locale(name: str) -> Locale:
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return _FALLBACK


def format_count(count: int | Decimal, locale: str | None = None) -> str:
    """A count with the locale's digit grouping: ``12,345`` / ``12 345`` / ``12.345``."""
    return format_decimal(count, locale=babel_locale(locale))


def format_number(value: Decimal | float, digits: int = 2, locale: str | None = None) -> str:
    """A decimal with at most ``digits`` fraction digits (trailing zeros dropped)."""
    quantized = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return format_decimal(quantized.normalize(), locale=babel_locale(locale))


def format_money(
    amount: Decimal | float, currency: str = "USD", digits: int = 2, locale: str | None = None
) -> str:
    """Money with exactly ``digits`` fraction digits: ``$0.004``, ``0,004 $``."""
    quantized = Decimal(str(amount)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return format_currency(
        quantized,
        currency,
        locale=babel_locale(locale),
        currency_digits=False,
        decimal_quantization=False,
    )


def format_share(fraction: float, locale: str | None = None) -> str:
    """A share as a percentage: ``42%`` / ``42 %``."""
    return format_percent(fraction, locale=babel_locale(locale))


def format_day(day: date, locale: str | None = None) -> str:
    """A calendar day, medium length: ``Mar 7, 2025`` / ``7 мар. 2025 г.`` / ``2025年3月7日``."""
    return format_date(day, format="medium", locale=babel_locale(locale))


def format_moment(moment: datetime, locale: str | None = None) -> str:
    """A date and time, short, in the moment's own time zone (UTC for the bot's records)."""
    return format_datetime(
        moment, format="short", tzinfo=moment.tzinfo, locale=babel_locale(locale)
    )


def duration(seconds: int) -> str:
    """'45 s', '1 min 30 s', '5 min', '5 h 12 min': never rounded to a minute it is not."""
    total = max(int(seconds), 0)
    if total < 60:
        return _("{seconds} s").format(seconds=total)
    hours, rest = divmod(total, 3600)
    minutes, seconds_left = divmod(rest, 60)
    if hours:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if seconds_left:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=seconds_left)
    return _("{minutes} min").format(minutes=minutes)


def reset_in(seconds: int | None) -> str:
    """How long until the UTC day resets: '5 h 12 min', '3 min', '40 s'."""
    total = max(int(seconds or 0), 1)
    # Past a minute, whole minutes: a reset a few seconds off reads better so.
    return duration(total if total < 60 else total - total % 60)
