"""Text as Telegram reads it: UTF-16 lengths, bare-link entities, the HTML parse mode,
and the length rules of a message text and a caption."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram.limits import (
    CAPTION_LIMIT,
    CAPTION_TOO_LONG,
    PARSE_ERROR,
    TEXT_EMPTY,
    TEXT_LIMIT,
    TEXT_TOO_LONG,
    JsonDict,
    bad_request,
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# Telegram ends an auto-detected link before trailing punctuation.
_BARE_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"»…"


def url_entities(text: str) -> list[JsonDict]:
    """`url` entities for the bare http(s) links in `text`, offsets in UTF-16 like Telegram's."""
    entities: list[JsonDict] = []
    for match in _BARE_LINK.finditer(text):
        link = match.group().rstrip(_TRAILING_PUNCTUATION)
        if len(link) <= len("https://"):
            continue
        entities.append(
            {
                "type": "url",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(link),
            }
        )
    return entities


_TAG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
# Only these named entities are decoded; any other `&...` stays as it is, like Telegram.
_HTML_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


@dataclass(frozen=True)
class ParsedText:
    """A text after entity parsing: what the user sees, and its entities."""

    text: str
    entities: tuple[tuple[tuple[str, Any], ...], ...] = ()

    def entity_dicts(self) -> list[JsonDict]:
        return [dict(entity) for entity in self.entities]


def parse_html(source: str) -> ParsedText:
    """Parse Telegram's HTML parse mode; malformed markup is refused as Telegram refuses it."""
    plain: list[str] = []
    length = 0  # UTF-16 length of the plain text so far
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[tuple[tuple[str, Any], ...]] = []
    position = 0
    while position < len(source):
        char = source[position]
        if char == "<":
            byte_offset = len(source[:position].encode())
            tag = _TAG.match(source, position)
            if tag is None:
                raise bad_request(
                    f'{PARSE_ERROR}Unsupported start tag "" at byte offset {byte_offset}'
                )
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if name not in _TAG_ENTITY_TYPES:
                kind = "end" if closing else "start"
                raise bad_request(
                    f'{PARSE_ERROR}Unsupported {kind} tag "{name}" at byte offset {byte_offset}'
                )
            if not closing:
                attributes = {
                    key.lower(): html.unescape(next(v for v in values if v is not None))
                    for key, *values in _ATTRIBUTE.findall(tag.group(3))
                }
                stack.append((name, attributes, length))
            else:
                if not stack:
                    raise bad_request(
                        f"{PARSE_ERROR}Unexpected end tag at byte offset {byte_offset}"
                    )
                opened, attributes, start = stack.pop()
                if opened != name:
                    raise bad_request(
                        f"{PARSE_ERROR}Unmatched end tag at byte offset {byte_offset}, "
                        f'expected "</{opened}>", found "</{name}>"'
                    )
                entity = _entity(name, attributes, start, length - start)
                if entity is not None:
                    entities.append(entity)
            position = tag.end()
            continue
        if char == "&" and (reference := _HTML_ENTITY.match(source, position)):
            piece = html.unescape(reference.group())
            position = reference.end()
        else:
            piece = char
            position += 1
        plain.append(piece)
        length += utf16_len(piece)
    if stack:
        raise bad_request(
            f'{PARSE_ERROR}Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    entities.sort(key=lambda entity: (dict(entity)["offset"], -dict(entity)["length"]))
    return ParsedText("".join(plain), tuple(entities))


def _entity(
    name: str, attributes: dict[str, str], offset: int, length: int
) -> tuple[tuple[str, Any], ...] | None:
    # Telegram drops empty entities, links without a target and spans that are not spoilers.
    if length == 0:
        return None
    if name == "span" and attributes.get("class") != "tg-spoiler":
        return None
    entity: JsonDict = {"type": _TAG_ENTITY_TYPES[name], "offset": offset, "length": length}
    if name == "a":
        if not attributes.get("href"):
            return None
        entity["url"] = attributes["href"]
    if name == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    if name == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "0")
    return tuple(entity.items())


def parse_text(text: str, parse_mode: str | None, entities: Any) -> ParsedText:
    """A text as Telegram would see it after entity parsing in `parse_mode`."""
    if parse_mode and parse_mode.upper() == "HTML":
        return parse_html(text)
    # Markdown modes are only counted raw: the bot speaks HTML.
    given = entities if isinstance(entities, list) else []
    return ParsedText(text, tuple(tuple(sorted(entity.items())) for entity in given))


def checked_text(params: JsonDict, key: str, entities_key: str) -> ParsedText:
    """A message text as Telegram takes it: parsed, neither empty nor too long."""
    content = parse_text(
        str(params.get(key, "")), params.get("parse_mode"), params.get(entities_key)
    )
    if not content.text.strip():
        raise bad_request(TEXT_EMPTY)
    if len(content.text) > TEXT_LIMIT:
        raise bad_request(TEXT_TOO_LONG)
    return content


def checked_caption(caption: Any, parse_mode: Any, params: JsonDict) -> ParsedText:
    """A caption as Telegram takes it: parsed, not too long (none is an empty one)."""
    if caption is None:
        return ParsedText("")
    content = parse_text(str(caption), parse_mode, params.get("caption_entities"))
    if len(content.text) > CAPTION_LIMIT:
        raise bad_request(CAPTION_TOO_LONG)
    return content
