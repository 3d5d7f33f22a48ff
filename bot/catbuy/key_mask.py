"""The API key masked in the upstream's text, however the upstream encodes it.

An upstream that echoes request headers back can put the key into a title, a
shop name, an option label or a risk reason, and seldom byte for byte: JSON
escapes (``\\u005f``) are gone once the body is decoded, HTML entities once the
text is cleaned, and a key cut by zero-width characters or spaces, upper-cased,
percent-encoded or spelt in full-width letters still reads as the key to
whoever sees the card. So text is compared in a *folded* form: entities,
percent and backslash escapes decoded (a few rounds, for double encoding),
compatibility forms and accents taken apart (NFKD), invisible characters,
blanks and combining marks dropped, case folded. Every run of the folded text
that is the key, or a piece of it at least ``FRAGMENT`` characters long (a key
cut short by a length limit), is masked in the original text, with the
characters hidden around and inside it.

Deliberate disguises (lookalike letters from other scripts, a key spelt
backwards or in base64) are out of reach of any mask; the rule here covers
what decoders and text cleaners do to a key on its way to a chat.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

MASK = "***"
# The shortest piece of the key masked on its own: long enough that no
# product text holds one by chance, short enough that what a cut key leaves
# unmasked is too little to guess the rest from.
FRAGMENT = 12
# A piece of so few different characters (``000000000000``) is not a key's.
_DISTINCT = 5
# Rounds of decoding: text encoded twice (``&amp;#95;``, ``%255F``) is common.
_ROUNDS = 3
_ESCAPES = re.compile(
    r"&(?:#[0-9]{1,7};?|#[xX][0-9a-fA-F]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};?)"
    r"|%[0-9A-Fa-f]{2}"
    r"|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\U[0-9A-Fa-f]{8}"
)
# What shows nothing (or only space) between a key's letters: control and
# format characters, blanks, the combining marks NFKD leaves of accented Latin
# letters, variation selectors, Hangul fillers, the braille blank, and lone
# surrogates. Listed, not looked up per character: a regex is ten times faster.
_INVISIBLE = re.compile(
    r"[\u0000-\u0020\u007f-\u00a0\u00ad\u0300-\u036f\u0600-\u0605\u061c\u06dd"
    r"\u070f\u0890-\u0891\u08e2\u115f\u1160\u1680\u180e\u1ab0-\u1aff\u1dc0-\u1dff"
    r"\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u20d0-\u20ff\u2800"
    r"\u3000\u3164\ud800-\udfff\ufe00-\ufe0f\ufe20-\ufe2f\ufeff\uffa0\ufff9-\ufffb]+"
)
# Beyond the first plane, apart: a class with such ranges is tested range by
# range, and most text has no character out there to test.
_INVISIBLE_ASTRAL = re.compile(
    r"[\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    r"\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]+"
)
# JSON's own escapes, undone in a model's JSON text before it is folded.
_JSON_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_JSON_SIMPLE = dict(zip('"\\/bfnrt', '"\\/\b\f\n\r\t', strict=True))

M = TypeVar("M", bound=BaseModel)


def _decode_once(match: re.Match[str]) -> str:
    token = match.group()
    if token[0] == "&":
        return html.unescape(token)
    if token[0] == "%":
        return chr(int(token[1:], 16))
    return chr(int(token[2:], 16)) if int(token[2:], 16) <= 0x10FFFF else token


def _decoded(text: str) -> str:
    for _ in range(_ROUNDS):
        if not ("&" in text or "%" in text or "\\" in text):
            break
        decoded = _ESCAPES.sub(_decode_once, text)
        if decoded == text:
            break
        text = decoded
    return text


def _visible(text: str) -> str:
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
        if max(text, default="") > "\uffff":
            text = _INVISIBLE_ASTRAL.sub("", text)
        return text
    return _INVISIBLE.sub("", text) if not text.isprintable() or " " in text else text


def fold(text: str) -> str:
    """``text`` as compared with the key: decoded, visible characters only, case folded."""
    # lower(), not casefold(): after NFKD the key's letters are ASCII, and
    # lower() is what tells them apart from their other cases, faster.
    return _visible(unicodedata.normalize("NFKD", _decoded(text))).lower()


def _fold_char(char: str) -> str:
    return _visible(unicodedata.normalize("NFKD", char)).lower()


def _json_unescaped(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(1)
        return _JSON_SIMPLE[token] if len(token) == 1 else chr(int(token[1:], 16))

    return _JSON_ESCAPE.sub(one, text) if "\\" in text else text


def _folded_with_origins(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The folded text, and for each of its characters the span of ``text`` it came from."""
    units = [(char, index, index + 1) for index, char in enumerate(text)]
    for _ in range(_ROUNDS):
        joined = "".join(unit[0] for unit in units)
        if not _ESCAPES.search(joined):
            break
        # Units are single characters here: joined offsets are unit indices.
        rebuilt: list[tuple[str, int, int]] = []
        position = 0
        for match in _ESCAPES.finditer(joined):
            rebuilt.extend(units[position : match.start()])
            decoded = _decode_once(match)
            start, end = units[match.start()][1], units[match.end() - 1][2]
            rebuilt.extend((char, start, end) for char in decoded)
            position = match.end()
        rebuilt.extend(units[position:])
        if "".join(unit[0] for unit in rebuilt) == joined:
            break
        units = rebuilt
    chars: list[str] = []
    origins: list[tuple[int, int]] = []
    for char, start, end in units:
        for folded in _fold_char(char):
            chars.append(folded)
            origins.append((start, end))
    return "".join(chars), origins


class KeyMask:
    """Masks one secret (the API key) in text, whatever of the above was done to it."""

    def __init__(self, secret: str, *, fragment: int = FRAGMENT) -> None:
        folded = fold(secret)
        if not folded:
            raise ValueError("nothing to mask")
        self._width = min(fragment, len(folded))
        width = self._width
        pieces = {folded[i : i + width] for i in range(len(folded) - width + 1)}
        self._pieces = frozenset(
            piece for piece in pieces if piece == folded or len(set(piece)) >= _DISTINCT
        )

    def _found_in(self, folded: str) -> bool:
        return any(piece in folded for piece in self._pieces)

    def holds_key(self, text: str) -> bool:
        """Whether ``text`` shows the key or a piece of it, once folded."""
        return self._found_in(fold(text))

    def text(self, text: str) -> str:
        """``text`` with the key and every piece of it replaced by ``***``."""
        if not self.holds_key(text):
            return text
        folded, origins = _folded_with_origins(text)
        spans = self._spans(folded, origins)
        if not spans:  # folded apart and together disagree: hide it all, never leak
            return MASK
        out: list[str] = []
        position = 0
        for start, end in spans:
            out.append(text[position:start])
            out.append(MASK)
            position = end
        out.append(text[position:])
        return "".join(out)

    def _spans(self, folded: str, origins: list[tuple[int, int]]) -> list[tuple[int, int]]:
        width = self._width
        covered = [False] * len(folded)
        for i in range(len(folded) - width + 1):
            if folded[i : i + width] in self._pieces:
                covered[i : i + width] = [True] * width
        spans: list[tuple[int, int]] = []
        previous = False
        for i, hit in enumerate(covered):
            if hit:
                start, end = origins[i]
                # One run of the folded key is one mask, with what was hidden inside it.
                if spans and (previous or start < spans[-1][1]):
                    spans[-1] = (spans[-1][0], max(spans[-1][1], end))
                else:
                    spans.append((start, end))
            previous = hit
        return spans

    def model(self, value: M) -> M:
        """``value`` (an item, a verdict) with the key masked in every text it holds.

        Checked in one pass over all its texts; only a model that holds the key
        is rebuilt.
        """
        # All its texts at once, by pydantic's own walk (Python's is ten times slower).
        texts: str | None
        try:
            texts = _json_unescaped(value.model_dump_json())
        except ValueError:  # a text JSON cannot carry: each one is looked at below
            texts = None
        if texts is not None and not self._found_in(fold(texts)):
            return value
        return type(value).model_validate(_map_texts(value.model_dump(), self.text))


def _map_texts(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {_map_texts(k, change): _map_texts(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_map_texts(item, change) for item in value)
    return value
