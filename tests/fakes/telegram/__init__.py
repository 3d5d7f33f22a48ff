"""Telegram, faked at its HTTP boundary, one idea a module.

- `limits`: the documented limits, Telegram's own error texts, an error answer;
- `text`: UTF-16 lengths, bare-link entities, the HTML parse mode;
- `keyboards`: inline keyboards refused as Telegram refuses them;
- `message_store`: the bot's messages and files as Telegram keeps them;
- `flood`: 429 once a chat got too many messages;
- `calls`: one recorded Bot API call;
- `knobs`: the test knobs both doubles pass on to the Telegram they hold;
- `inline`: inline queries, their answers and the inline messages users send;
- `bot_api`: `FakeTelegram`, the one place that knows how the Bot API answers;
- `recording_session`: `RecordingSession` plugs into a real aiogram `Bot`
  (`make_bot()`), records every method and passes the answer through aiogram's
  own `check_response`, so results are validated and errors raised exactly as
  in production (`tests.fakes.bot_api_server.FakeBotApi` serves the same
  answers over HTTP for tests that run the bot as a real process);
- `updates`: the updates Telegram would deliver (`message_update`,
  `callback_update`), entity offsets in UTF-16 as Telegram counts them.

The names tests use are importable from the package itself.
"""

from tests.fakes.telegram.bot_api import FakeTelegram
from tests.fakes.telegram.calls import SentCall, texts
from tests.fakes.telegram.keyboards import check_reply_markup
from tests.fakes.telegram.limits import (
    BAD_GATEWAY_PAGE,
    BUTTON_DATA_INVALID,
    BUTTON_WITHOUT_ACTION,
    BUTTONS_LIMIT,
    BUTTONS_PER_ROW_LIMIT,
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    CAPTION_TOO_LONG,
    EDIT_METHODS,
    EMPTY_FILE,
    MARKUP_TOO_LONG,
    MEDIA_GROUP_INVALID,
    MEDIA_GROUP_SIZES,
    MESSAGE_TO_EDIT_NOT_FOUND,
    METHOD_NOT_FOUND,
    MIGRATED,
    NO_CAPTION_TO_EDIT,
    NO_MEDIA_TO_EDIT,
    NO_PHOTO,
    NO_TEXT_TO_EDIT,
    NOT_MODIFIED,
    PARSE_ERROR,
    QUERY_TOO_OLD,
    SEND_METHODS,
    TEXT_EMPTY,
    TEXT_LIMIT,
    TEXT_TOO_LONG,
    TRUE_METHODS,
    WRONG_FILE,
    BotApiRefusal,
    JsonDict,
    bad_request,
)
from tests.fakes.telegram.message_store import StoredFile, StoredMessage, chat_dict
from tests.fakes.telegram.recording_session import RecordingSession, make_bot
from tests.fakes.telegram.text import ParsedText, parse_html, parse_text, url_entities, utf16_len
from tests.fakes.telegram.updates import (
    BOT_ID,
    callback_update,
    message_update,
    photo_sizes,
    update_to_dict,
)

__all__ = [
    "BAD_GATEWAY_PAGE",
    "BOT_ID",
    "BUTTONS_LIMIT",
    "BUTTONS_PER_ROW_LIMIT",
    "BUTTON_DATA_INVALID",
    "BUTTON_WITHOUT_ACTION",
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "CAPTION_TOO_LONG",
    "EDIT_METHODS",
    "EMPTY_FILE",
    "MARKUP_TOO_LONG",
    "MEDIA_GROUP_INVALID",
    "MEDIA_GROUP_SIZES",
    "MESSAGE_TO_EDIT_NOT_FOUND",
    "METHOD_NOT_FOUND",
    "MIGRATED",
    "NOT_MODIFIED",
    "NO_CAPTION_TO_EDIT",
    "NO_MEDIA_TO_EDIT",
    "NO_PHOTO",
    "NO_TEXT_TO_EDIT",
    "PARSE_ERROR",
    "QUERY_TOO_OLD",
    "SEND_METHODS",
    "TEXT_EMPTY",
    "TEXT_LIMIT",
    "TEXT_TOO_LONG",
    "TRUE_METHODS",
    "WRONG_FILE",
    "BotApiRefusal",
    "FakeTelegram",
    "JsonDict",
    "ParsedText",
    "RecordingSession",
    "SentCall",
    "StoredFile",
    "StoredMessage",
    "bad_request",
    "callback_update",
    "chat_dict",
    "check_reply_markup",
    "make_bot",
    "message_update",
    "parse_html",
    "parse_text",
    "photo_sizes",
    "texts",
    "update_to_dict",
    "url_entities",
    "utf16_len",
]
