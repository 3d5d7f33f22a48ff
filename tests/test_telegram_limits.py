"""Telegram limits: 429s are retried (bounded), sends are paced per chat, none are lost."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter, TelegramServerError

from bot.telegram.flood_limits import TelegramLimits
from tests.fakes.telegram import RecordingSession, make_bot

GROUP = -1001000001001
FLOOD_0 = "Too Many Requests: retry after 0"
FLOOD_600 = "Too Many Requests: retry after 600"
# Lower bounds only (a loaded machine makes sends later, never earlier); the
# slack absorbs the event loop's clock granularity.
SLACK = 0.9


@pytest.fixture
def session() -> RecordingSession:
    return RecordingSession()


async def _bot(session: RecordingSession, limits: TelegramLimits) -> Bot:
    bot = make_bot(session)
    bot.session.middleware(limits)
    return bot


@pytest.fixture
async def fast_bot(session: RecordingSession) -> AsyncIterator[Bot]:
    """Retries as in production; pacing shortened so tests stay fast."""
    bot = await _bot(session, TelegramLimits(chat_interval=0.05, group_window=0.3))
    yield bot
    await bot.session.close()


def _sent(session: RecordingSession, method: str = "sendMessage") -> list[str]:
    return [str(c.params["text"]) for c in session.sent if c.method == method and c.ok]


async def test_429_with_retry_after_is_retried_and_succeeds(
    session: RecordingSession, fast_bot: Bot
) -> None:
    session.fail_next("sendMessage", retry_after=1)
    message = await fast_bot.send_message(5, "card")
    assert message.text == "card"
    calls = session.telegram.calls("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].time - calls[0].time >= 1 * SLACK


async def test_429_only_in_the_description_is_retried(
    session: RecordingSession, fast_bot: Bot
) -> None:
    session.fail_next("sendMessage", description=FLOOD_0, retry_after=None)
    await fast_bot.send_message(5, "card")
    assert [c.status for c in session.telegram.calls("sendMessage")] == [429, 200]


async def test_retries_are_bounded(session: RecordingSession) -> None:
    bot = await _bot(session, TelegramLimits(max_tries=3, chat_interval=0))
    for _ in range(5):
        session.fail_next("sendMessage", description=FLOOD_0, retry_after=0)
    # aiogram raises a plain TelegramAPIError for retry_after=0; the text still says 429.
    with pytest.raises(TelegramAPIError, match="retry after"):
        await bot.send_message(5, "card")
    assert len(session.telegram.calls("sendMessage")) == 3


async def test_long_retry_after_is_raised_at_once(session: RecordingSession, fast_bot: Bot) -> None:
    session.fail_next("sendMessage", description=FLOOD_600, retry_after=600)
    with pytest.raises(TelegramRetryAfter):
        await fast_bot.send_message(5, "card")
    assert len(session.telegram.calls("sendMessage")) == 1


async def test_a_card_waits_out_a_longer_429_than_an_edit_does(session: RecordingSession) -> None:
    """Past a group's window (other replicas, a restart) Telegram asks for up to a
    minute: a paid card is sent late rather than dropped; a tap's redraw is not."""
    limits = TelegramLimits(chat_interval=0, max_retry_after=0.5, max_send_retry_after=2)
    bot = await _bot(session, limits)
    session.fail_next("sendPhoto", retry_after=1)
    await bot.send_photo(GROUP, "https://img.example/a.jpg")
    assert [c.status for c in session.telegram.calls("sendPhoto")] == [429, 200]
    session.fail_next("editMessageCaption", retry_after=1)
    with pytest.raises(TelegramRetryAfter):
        await bot.edit_message_caption(chat_id=GROUP, message_id=1, caption="new choice")


async def test_other_errors_are_not_retried(session: RecordingSession, fast_bot: Bot) -> None:
    session.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    with pytest.raises(TelegramAPIError):
        await fast_bot.send_message(5, "card")
    assert len(session.telegram.calls("sendMessage")) == 1


async def test_a_server_error_is_tried_once_more(session: RecordingSession) -> None:
    bot = await _bot(session, TelegramLimits(chat_interval=0, server_error_wait=0.05))
    session.fail_next("sendPhoto", status=502, description="Bad Gateway")
    await bot.send_photo(5, "https://img.example/a.jpg")
    assert [c.status for c in session.telegram.calls("sendPhoto")] == [502, 200]
    for _ in range(2):  # twice in a row: raised, since a third send might be a duplicate
        session.fail_next("sendMessage", status=502, description="Bad Gateway")
    with pytest.raises(TelegramServerError):
        await bot.send_message(5, "card")
    assert len(session.telegram.calls("sendMessage")) == 2


async def test_an_error_page_is_a_server_error_tried_once_more(session: RecordingSession) -> None:
    bot = await _bot(session, TelegramLimits(chat_interval=0, server_error_wait=0.05))
    session.fail_next_with_page("sendPhoto")
    await bot.send_photo(5, "https://img.example/a.jpg")
    assert [c.status for c in session.telegram.calls("sendPhoto")] == [502, 200]
    session.fail_next_with_page("sendMessage", times=2)
    with pytest.raises(TelegramServerError) as raised:
        await bot.send_message(5, "card")
    assert "<html>" not in str(raised.value)  # never the page: it may echo the token's URL


async def test_an_unreadable_answer_that_says_ok_is_not_sent_again(
    session: RecordingSession,
) -> None:
    """The message went out; only its answer could not be read: a retry would send it twice."""
    bot = await _bot(session, TelegramLimits(chat_interval=0, server_error_wait=0.05))
    session.telegram.fail_next_with_page("sendMessage", status=200, page='{"ok":true,"result":5}')
    with pytest.raises(TelegramServerError):
        await bot.send_message(5, "card")
    assert len(session.telegram.calls("sendMessage")) == 1


async def test_one_chat_is_spaced_in_order_and_others_do_not_wait(
    session: RecordingSession, fast_bot: Bot
) -> None:
    burst = [fast_bot.send_message(5, f"card {i}") for i in range(5)]
    other = fast_bot.send_message(6, "elsewhere")
    await asyncio.gather(*burst, other)
    calls = [c for c in session.telegram.calls("sendMessage")]
    mine = [c for c in calls if c.chat_id == 5]
    assert [c.params["text"] for c in mine] == [f"card {i}" for i in range(5)]
    assert all(b.time - a.time >= 0.05 * SLACK for a, b in itertools.pairwise(mine))
    # The other chat went out while chat 5 was still queued.
    assert calls.index(next(c for c in calls if c.chat_id == 6)) < calls.index(mine[-1])


async def test_group_keeps_to_its_per_minute_window(session: RecordingSession) -> None:
    bot = await _bot(session, TelegramLimits(chat_interval=0, group_per_minute=2, group_window=0.2))
    await asyncio.gather(*(bot.send_message(GROUP, f"card {i}") for i in range(5)))
    calls = session.telegram.calls("sendMessage")
    assert [c.params["text"] for c in calls] == [f"card {i}" for i in range(5)]
    # At most 2 sends in any 0.2 s window.
    assert all(c.time - a.time >= 0.2 * SLACK for a, c in zip(calls, calls[2:], strict=False))


async def test_group_flood_queues_instead_of_hitting_429(session: RecordingSession) -> None:
    # Telegram (the fake) answers 429 past 3 messages a minute in this group.
    session.flood_after(3, GROUP)
    bot = await _bot(session, TelegramLimits(chat_interval=0, group_per_minute=3))
    sends = [asyncio.create_task(bot.send_message(GROUP, f"card {i}")) for i in range(4)]
    await asyncio.gather(*sends[:3])
    await asyncio.sleep(0.1)
    # The fourth card waits for the window, it is neither refused nor dropped.
    assert not sends[3].done()
    assert all(c.ok for c in session.sent)
    assert _sent(session) == ["card 0", "card 1", "card 2"]
    sends[3].cancel()


async def test_callback_answers_and_chat_actions_are_never_queued(
    session: RecordingSession,
) -> None:
    bot = await _bot(session, TelegramLimits(chat_interval=0.3))
    burst = [asyncio.create_task(bot.send_message(5, f"card {i}")) for i in range(3)]
    await asyncio.sleep(0.01)
    await bot.answer_callback_query("q1")
    await bot.send_chat_action(5, "typing")
    await asyncio.gather(*burst)
    methods = [c.method for c in session.sent]
    second_card = [i for i, m in enumerate(methods) if m == "sendMessage"][1]
    # Both went out while the chat's second card was still waiting its turn.
    assert methods.index("answerCallbackQuery") < second_card
    assert methods.index("sendChatAction") < second_card
    assert _sent(session) == ["card 0", "card 1", "card 2"]


async def test_edits_are_spaced_but_do_not_use_the_group_window(session: RecordingSession) -> None:
    bot = await _bot(session, TelegramLimits(chat_interval=0, group_per_minute=1))
    await bot.send_message(GROUP, "card")
    # The group's one send a minute is used; edits of the card still go out.
    for i in range(3):
        await bot.edit_message_text(f"edit {i}", chat_id=GROUP, message_id=1)
    assert len(session.telegram.calls("editMessageText")) == 3


async def test_an_edit_does_not_wait_for_sends_queued_behind_the_group_window(
    session: RecordingSession,
) -> None:
    bot = await _bot(session, TelegramLimits(chat_interval=0, group_per_minute=1))
    await bot.send_message(GROUP, "card")
    queued = asyncio.create_task(bot.send_message(GROUP, "next card"))  # a minute away
    await asyncio.sleep(0.05)
    async with asyncio.timeout(2):
        await bot.edit_message_text("new choice", chat_id=GROUP, message_id=1)
    assert not queued.done()
    queued.cancel()
    await asyncio.gather(queued, return_exceptions=True)


async def test_a_refused_send_does_not_use_up_the_group_window(session: RecordingSession) -> None:
    bot = await _bot(session, TelegramLimits(chat_interval=0, group_per_minute=1))
    session.fail_next("sendPhoto", status=400, description="Bad Request: wrong file identifier")
    with pytest.raises(TelegramAPIError):
        await bot.send_photo(GROUP, "https://img.example/a.jpg")
    async with asyncio.timeout(2):  # the text card goes at once
        await bot.send_message(GROUP, "card as text")


async def test_the_send_delay_counts_a_429_being_waited_out(session: RecordingSession) -> None:
    limits = TelegramLimits(chat_interval=0)
    bot = await _bot(session, limits)
    session.fail_next("sendPhoto", retry_after=3)
    card = asyncio.create_task(bot.send_photo(GROUP, "https://img.example/a.jpg"))
    await asyncio.sleep(0.2)
    assert limits.send_delay(GROUP) > 2.5
    card.cancel()
    await asyncio.gather(card, return_exceptions=True)


async def test_a_send_given_up_while_waiting_for_the_window_frees_its_moment(
    session: RecordingSession,
) -> None:
    limits = TelegramLimits(chat_interval=0, group_per_minute=1)
    bot = await _bot(session, limits)
    await bot.send_message(GROUP, "card")
    queued = asyncio.create_task(bot.send_message(GROUP, "next card"))  # booked a minute on
    await asyncio.sleep(0.05)
    assert limits.send_delay(GROUP) > 100
    queued.cancel()
    await asyncio.gather(queued, return_exceptions=True)
    assert limits.send_delay(GROUP) < 61


def test_max_tries_must_allow_one_try() -> None:
    with pytest.raises(ValueError, match="max_tries"):
        TelegramLimits(max_tries=0)


async def test_many_chats_are_forgotten_once_idle(session: RecordingSession) -> None:
    limits = TelegramLimits(chat_interval=0.001, group_window=0.05)
    bot = await _bot(session, limits)
    for chat in range(1, 3001):
        await bot.send_message(-chat if chat % 2 else chat, "card")
        if chat % 500 == 0:
            await asyncio.sleep(0.06)  # their spacing and the groups' window pass
    assert len(_sent(session)) == 3000
    assert len(limits._pacers) <= 2048  # kept in check, not one per chat ever seen
    await bot.session.close()


async def test_busy_groups_are_kept_and_still_paced(session: RecordingSession) -> None:
    """Groups inside their per-minute window are remembered however many there are."""
    limits = TelegramLimits(chat_interval=0, group_per_minute=1, group_window=60)
    bot = await _bot(session, limits)
    for chat in range(1, 1501):
        await bot.send_message(-chat, "card")
    assert len(limits._pacers) == 1500
    with pytest.raises(TimeoutError):  # the first group's next send waits for its window
        async with asyncio.timeout(0.1):
            await bot.send_message(-1, "another card")
    await bot.session.close()
