"""The fake Bot API's inline mode follows the real server's rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.telegram import (
    CAPTION_TOO_LONG,
    NO_TEXT_TO_EDIT,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    TEXT_TOO_LONG,
    FakeTelegram,
)
from tests.fakes.telegram.inline import (
    NO_UPLOADS,
    QUERY_ID_INVALID,
    RESULT_ID_DUPLICATE,
    RESULT_ID_INVALID,
    RESULTS_TOO_MUCH,
    START_PARAM_INVALID,
)

KEYBOARD = {"inline_keyboard": [[{"text": "a", "callback_data": "x"}]]}


def photo(result_id: str = "r1", caption: str = "card") -> dict[str, Any]:
    return {
        "type": "photo",
        "id": result_id,
        "photo_url": "https://img.example/a.jpg",
        "thumbnail_url": "https://img.example/a.jpg",
        "caption": caption,
        "parse_mode": "HTML",
        "reply_markup": KEYBOARD,
    }


def article(text: str = "card", result_id: str = "a1") -> dict[str, Any]:
    return {
        "type": "article",
        "id": result_id,
        "title": "t",
        "input_message_content": {"message_text": text, "parse_mode": "HTML"},
        "reply_markup": KEYBOARD,
    }


def answer(telegram: FakeTelegram, results: list[dict[str, Any]], **params: Any) -> Any:
    update = telegram.inline.query("x", user_id=5)
    assert update.inline_query is not None
    call = telegram.answer(
        "answerInlineQuery",
        {"inline_query_id": update.inline_query.id, "results": results, **params},
        {},
    )
    return update.inline_query.id, call


@pytest.mark.parametrize(
    ("results", "params", "error"),
    [
        ([article(result_id=str(n)) for n in range(51)], {}, RESULTS_TOO_MUCH),
        ([article(result_id="x" * 65)], {}, RESULT_ID_INVALID),
        ([article(result_id="")], {}, RESULT_ID_INVALID),
        ([article(result_id="same"), photo("same")], {}, RESULT_ID_DUPLICATE),
        ([photo(caption="<b>" + "é" * 1025 + "</b>")], {}, CAPTION_TOO_LONG),
        ([article("x" * 4097)], {}, TEXT_TOO_LONG),
        ([], {"button": {"text": "go", "start_parameter": "no spaces"}}, START_PARAM_INVALID),
    ],
)
def test_answers_are_checked_like_the_real_server(
    results: list[dict[str, Any]], params: dict[str, Any], error: str
) -> None:
    _, call = answer(FakeTelegram(), results, **params)
    assert not call.ok and call.response["description"] == error


def test_a_query_takes_one_answer_and_an_unknown_one_none() -> None:
    telegram = FakeTelegram()
    query_id, call = answer(telegram, [photo()])
    assert call.ok
    again = telegram.answer("answerInlineQuery", {"inline_query_id": query_id, "results": []}, {})
    assert again.response["description"] == QUERY_TOO_OLD
    unknown = telegram.answer("answerInlineQuery", {"inline_query_id": "nope", "results": []}, {})
    assert unknown.response["description"] == QUERY_ID_INVALID


def test_a_caption_at_the_limit_after_parsing_is_taken() -> None:
    _, call = answer(FakeTelegram(), [photo(caption="<b>" + "é" * 1024 + "</b>")])
    assert call.ok


def test_inline_messages_are_edited_by_id_with_chat_rules_and_no_uploads() -> None:
    telegram = FakeTelegram()
    query_id, _ = answer(telegram, [photo()])
    sent = telegram.inline.choose(query_id)
    where = {"inline_message_id": sent.inline_message_id}
    edit = telegram.answer(
        "editMessageCaption", {**where, "caption": "new", "reply_markup": KEYBOARD}, {}
    )
    assert edit.ok and edit.response["result"] is True
    assert telegram.inline.message(sent.inline_message_id).content.text == "new"
    same = telegram.answer(
        "editMessageCaption", {**where, "caption": "new", "reply_markup": KEYBOARD}, {}
    )
    assert same.response["description"] == NOT_MODIFIED
    text = telegram.answer("editMessageText", {**where, "text": "t"}, {})
    assert text.response["description"] == NO_TEXT_TO_EDIT
    upload = telegram.answer(
        "editMessageMedia",
        {**where, "media": {"type": "photo", "media": "attach://photo"}},
        {"photo": b"\xff\xd8"},
    )
    assert upload.response["description"] == NO_UPLOADS
    by_url = telegram.answer(
        "editMessageMedia",
        {**where, "media": {"type": "photo", "media": "https://img.example/b.jpg"}},
        {},
    )
    assert by_url.ok
    assert telegram.inline.message(sent.inline_message_id).photo == "https://img.example/b.jpg"
