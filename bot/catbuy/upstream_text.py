"""Text from the upstream made fit for a chat.

HTML entities decoded, control and invisible characters dropped, blanks
collapsed, bounded. Used for every text field of an item or a risk answer.
"""

from __future__ import annotations

import html
import re

TEXT_LIMIT = 200

# A lone surrogate (half an emoji cut off upstream) has no UTF-8 form: Telegram
# and the cache's JSON would both refuse the whole card over it. The zero-width
# joiner and non-joiner stay: they hold emoji sequences (👨‍👩‍👧) and Persian and
# Indic words together.
_CONTROL_CHARS = (
    r"\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff"
)
_BLANKS = re.compile(rf"[\s{_CONTROL_CHARS}]+")


def _is_plain(text: str) -> bool:
    """True when ``_BLANKS`` has nothing to replace in ``text``.

    A quick test that most text passes: ``isprintable()`` is False for every
    control character and every whitespace but the ASCII space.
    """
    return text.isprintable() and "  " not in text


def clean_text(value: str, limit: int = TEXT_LIMIT) -> str:
    """Unescape HTML entities, drop control characters, collapse spaces, bound."""
    text = html.unescape(value[: limit * 8])
    if not _is_plain(text):
        text = _BLANKS.sub(" ", text)
    return text.strip()[:limit].rstrip()
