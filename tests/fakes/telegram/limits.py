"""Telegram's documented limits, its own error texts, and an error answer of the Bot API."""

from __future__ import annotations

from typing import Any

# A JSON object as the Bot API takes and answers it.
JsonDict = dict[str, Any]

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
BUTTONS_LIMIT = 100
BUTTONS_PER_ROW_LIMIT = 8
MEDIA_GROUP_SIZES = range(2, 11)

# Telegram's own error texts, so code that matches on them is tested against the real words.
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
TEXT_TOO_LONG = "Bad Request: message is too long"
TEXT_EMPTY = "Bad Request: message text is empty"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
MARKUP_TOO_LONG = "Bad Request: reply markup is too long"
BUTTON_WITHOUT_ACTION = "Bad Request: text buttons are unallowed in the inline keyboard"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
NO_PHOTO = "Bad Request: there is no photo in the request"
NO_DOCUMENT = "Bad Request: there is no document in the request"
# Uploads past the Bot API's 50 MB are refused by its front end, before any method runs.
TOO_LARGE = "Request Entity Too Large"
DOCUMENT_UPLOAD_LIMIT = 50 * 1024 * 1024
EMPTY_FILE = "Bad Request: file must be non-empty"
NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
NO_CAPTION_TO_EDIT = "Bad Request: there is no caption in the message to edit"
NO_MEDIA_TO_EDIT = "Bad Request: there is no media in the message to edit"
MESSAGE_TO_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
MEDIA_GROUP_INVALID = "Bad Request: media group must include 2-10 items"
METHOD_NOT_FOUND = "Not Found: method not found"
PARSE_ERROR = "Bad Request: can't parse entities: "

MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
# What a proxy in front of the Bot API (or Telegram's own front end) answers when
# the server behind it is down: HTML, not the Bot API's JSON.
BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
# What Telegram says to a late or second answer of a callback query.
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Methods whose plausible answer is a bare `True`.
TRUE_METHODS = frozenset(
    {
        "answerCallbackQuery",
        "sendChatAction",
        "setMyCommands",
        "deleteMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "setChatMenuButton",
        "deleteWebhook",
        "setWebhook",
        "deleteMessages",
        "pinChatMessage",
        "unpinChatMessage",
        "leaveChat",
        "logOut",
        "close",
    }
)
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendMediaGroup", "sendDocument"})
EDIT_METHODS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup"}
)


class BotApiRefusal(Exception):
    """An error answer of the Bot API: HTTP status, description, optional `retry_after`."""

    def __init__(
        self,
        status: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        page: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id
        self.page = page  # a body that is not JSON (an HTML error page), sent as it is

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        parameters = {
            "retry_after": self.retry_after,
            "migrate_to_chat_id": self.migrate_to_chat_id,
        }
        if any(value is not None for value in parameters.values()):
            body["parameters"] = {k: v for k, v in parameters.items() if v is not None}
        return body


def bad_request(description: str) -> BotApiRefusal:
    return BotApiRefusal(400, description)
