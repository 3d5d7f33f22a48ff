"""Which language a user gets: Telegram's hint, the /lang choice, and where it is kept.

The choice goes through the real Dispatcher (UserLocale middleware, the /lang
router) and is stored in the real redis-server, so it survives a new bot
built on the same Redis; the in-process store gets the same preference tests.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import fakeredis
import pytest
from redis.asyncio import Redis

import bot
from bot.i18n.language import DEFAULT_LOCALE, SUPPORTED_LOCALES, LanguagePrefs, locale_for
from bot.i18n.user_locale import LOCALES_DIR, MissingCatalogs, create_i18n
from bot.telegram.callbacks import LangPick
from bot.telegram.commands import register_commands
from scripts.build_catalogs import compile_catalogs
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import RecordingSession, callback_update, make_bot, message_update
from tests.harness import Harness, running_bot
from tests.redis_server import RedisServer, running_redis

USER = 4242
OTHER = 4343
GROUP = -100600
TWO_DIMS = "https://item.taobao.com/item.htm?id=734912856301"


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("RU", "ru"),
        ("zh", "zh"),
        ("zh-hans", "zh"),
        ("zh-CN", "zh"),
        ("zh_CN", "zh"),
        ("zh-Hans-CN", "zh"),
        ("es", "es"),
        ("es-419", "es"),
        ("es-MX", "es"),
        (" es ", "es"),
        ("pt-BR", "en"),
        ("uk", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
        ("xx-unknown", "en"),
    ],
)
def test_locale_for_maps_telegram_codes(code: str | None, locale: str) -> None:
    assert locale_for(code) == locale


def test_every_supported_locale_has_a_catalog() -> None:
    i18n = create_i18n()
    assert set(SUPPORTED_LOCALES) <= set(i18n.available_locales)
    assert DEFAULT_LOCALE == "en"


def test_the_catalogs_are_read_from_inside_the_package() -> None:
    # Not from the working directory nor from beside a source checkout: an
    # installed bot has neither.
    assert LOCALES_DIR.is_relative_to(Path(bot.__file__).parent)


def test_a_language_without_its_compiled_catalog_stops_the_start(tmp_path: Path) -> None:
    compile_catalogs(target=tmp_path)
    create_i18n(tmp_path)  # all four: fine
    (tmp_path / "ru" / "LC_MESSAGES" / "messages.mo").unlink()
    with pytest.raises(MissingCatalogs, match=r"no compiled catalog for ru under .*pip install"):
        create_i18n(tmp_path)


async def test_prefs_override_the_hint_on_both_stores(store: Redis) -> None:
    prefs = LanguagePrefs(store)
    assert await prefs.locale(USER, "es-419") == "es"
    assert await prefs.get(USER) is None
    assert await prefs.set(USER, "zh")
    assert await prefs.locale(USER, "es-419") == "zh"
    assert await prefs.locale(USER + 1, "es-419") == "es"  # per user
    assert await prefs.locale(None, "ru") == "ru"


async def test_prefs_refuse_unsupported_languages(store: Redis) -> None:
    prefs = LanguagePrefs(store)
    assert not await prefs.set(USER, "de")
    assert not await prefs.set(USER, "")
    assert await prefs.get(USER) is None
    await store.set(f"lang:{USER}", "klingon")  # a stale or foreign value is ignored
    assert await prefs.locale(USER, "ru") == "ru"


async def test_prefs_fall_back_to_the_hint_when_the_store_is_down() -> None:
    broken = fakeredis.FakeAsyncRedis(connected=False)
    prefs = LanguagePrefs(broken)
    assert await prefs.locale(USER, "ru") == "ru"
    await broken.aclose()


# --- /lang through the Dispatcher -------------------------------------------------------


async def _flushed(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()


async def _help(bot: Harness, language_code: str | None) -> str:
    bot.clear()
    await bot.feed(message_update("/help", user_id=USER, language_code=language_code))
    [text] = bot.messages()
    return text


async def _pick(bot: Harness, code: str, language_code: str = "en") -> str:
    """/lang, then a tap on ``code``'s button; the confirmation the user sees."""
    bot.clear()
    await bot.feed(message_update("/lang", user_id=USER, language_code=language_code))
    [keyboard_call] = bot.sent("sendMessage")
    buttons = [b for row in keyboard_call.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    data = next(
        b["callback_data"] for b in buttons if b["callback_data"] == LangPick(code=code).pack()
    )
    message_id = keyboard_call.response["result"]["message_id"]
    await bot.feed(
        callback_update(
            data,
            message_id=message_id,
            chat_id=USER,
            user_id=USER,
            language_code=language_code,
            has_photo=False,
            caption=str(keyboard_call.params["text"]),
        )
    )
    [answer] = bot.sent("answerCallbackQuery")
    return str(answer.params.get("text"))


async def test_lang_keyboard_marks_the_current_language(
    redis_server: RedisServer, catbuy: FakeCatBuy
) -> None:
    await _flushed(redis_server)
    async with running_bot(redis_server.url, catbuy) as bot:
        await bot.feed(message_update("/lang", user_id=USER, language_code="es-AR"))
        [call] = bot.sent("sendMessage")
        assert call.params["text"] == "Elige tu idioma:"
        labels = [b["text"] for row in call.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
        assert labels == ["English", "Русский", "中文", "✅ Español"]


async def test_lang_choice_wins_over_telegram_and_survives_a_restart(
    redis_server: RedisServer, catbuy: FakeCatBuy
) -> None:
    await _flushed(redis_server)
    async with running_bot(redis_server.url, catbuy) as bot:
        assert "/lang: choose your language" in await _help(bot, "en")
        confirmation = await _pick(bot, "ru", language_code="en")
        assert confirmation == "Язык интерфейса: Русский"
        [edited] = bot.sent("editMessageText")
        assert edited.params["text"] == "Язык интерфейса: Русский"
        assert "/lang — выбрать язык" in await _help(bot, "en")
    # A new bot (new Dispatcher, new services) on the same Redis remembers the choice.
    async with running_bot(redis_server.url, catbuy) as bot:
        assert "/lang — выбрать язык" in await _help(bot, "es")
        assert "/lang — выбрать язык" in await _help(bot, None)
        assert await _pick(bot, "zh", language_code="ru") == "语言已设置为：中文"
        assert "/lang：选择语言" in await _help(bot, "ru")


async def test_a_forged_language_pick_changes_nothing(
    redis_server: RedisServer, catbuy: FakeCatBuy
) -> None:
    await _flushed(redis_server)
    async with running_bot(redis_server.url, catbuy) as bot:
        await bot.feed(
            callback_update(
                LangPick(code="xx").pack(),
                message_id=1,
                chat_id=USER,
                user_id=USER,
                language_code="ru",
                has_photo=False,
            )
        )
        [answer] = bot.sent("answerCallbackQuery")
        assert answer.params["text"] == "Эта кнопка больше не работает."
        assert not bot.sent("editMessageText")
        assert "/help — эта справка" in await _help(bot, "ru")


async def test_in_a_group_a_pick_sets_the_tapper_s_language_and_keeps_the_keyboard(
    redis_server: RedisServer, catbuy: FakeCatBuy
) -> None:
    await _flushed(redis_server)
    async with running_bot(redis_server.url, catbuy) as bot:
        await bot.feed(message_update("/lang", user_id=USER, chat_id=GROUP, chat_type="group"))
        [keyboard] = bot.sent("sendMessage")
        message_id = keyboard.response["result"]["message_id"]
        telegram = bot.session.telegram
        await bot.feed(telegram.tap(GROUP, message_id, LangPick(code="zh").pack(), user_id=OTHER))
        await bot.feed(telegram.tap(GROUP, message_id, LangPick(code="ru").pack(), user_id=USER))
        toasts = [c.params["text"] for c in bot.sent("answerCallbackQuery")]
        assert toasts == ["语言已设置为：中文", "Язык интерфейса: Русский"]
        assert not bot.sent("editMessageText")
        assert "/lang — выбрать язык" in await _help(bot, "en")
        bot.clear()
        await bot.feed(message_update("/help", user_id=OTHER, language_code="en"))
        assert "/lang：选择语言" in bot.messages()[0]


async def test_a_quick_second_pick_of_the_same_language_is_answered_quietly(
    redis_server: RedisServer, catbuy: FakeCatBuy, caplog: pytest.LogCaptureFixture
) -> None:
    """The second tap came before the first edit showed: "message is not modified"."""
    await _flushed(redis_server)
    async with running_bot(redis_server.url, catbuy) as bot:
        await _pick(bot, "ru")
        [keyboard] = bot.sent("sendMessage")
        with caplog.at_level(logging.ERROR):
            await bot.feed(
                callback_update(
                    LangPick(code="ru").pack(),
                    message_id=keyboard.response["result"]["message_id"],
                    chat_id=USER,
                    user_id=USER,
                    has_photo=False,
                    caption=str(keyboard.params["text"]),
                )
            )
        toasts = [c.params["text"] for c in bot.sent("answerCallbackQuery")]
        assert toasts == ["Язык интерфейса: Русский"] * 2
        assert [c.ok for c in bot.sent("editMessageText")] == [True, False]
        assert not caplog.records


async def test_the_apology_for_a_failure_speaks_the_chosen_language(catbuy: FakeCatBuy) -> None:
    with running_redis() as server:
        async with running_bot(server.url, catbuy) as bot:
            await _pick(bot, "ru", language_code="en")
            await bot.feed(message_update(TWO_DIMS, user_id=USER, language_code="en"))
            [card] = bot.cards()
            tap = next(
                b["callback_data"]
                for row in card.reply_markup["inline_keyboard"]  # type: ignore[index]
                for b in row
                if "黑色" in b["text"]
            )
            bot.clear()
            server.stop()  # the tap fails; the choice is still remembered in this process
            message_id = card.response["result"]["message_id"]
            await bot.feed(bot.session.telegram.tap(USER, message_id, tap, user_id=USER))
            server.start()
        [answer] = bot.sent("answerCallbackQuery")
        assert (
            answer.params["text"]
            == "Что-то пошло не так на нашей стороне. Попробуйте ещё раз через минуту."
        )


# --- the command menu ---------------------------------------------------------------------


async def test_command_menu_is_registered_once_per_language() -> None:
    session = RecordingSession()
    bot = make_bot(session)
    await register_commands(bot, create_i18n())
    calls = [c for c in session.sent if c.method == "setMyCommands"]
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    assert len(calls) == len(SUPPORTED_LOCALES) == len(by_language)
    assert set(by_language) == {None, "ru", "zh", "es"}  # English is the default menu
    descriptions = {
        lang: {c["command"]: c["description"] for c in commands}
        for lang, commands in by_language.items()
    }
    assert descriptions[None] == {
        "help": "How to use the bot",
        "quota": "Your look-ups left today",
        "lang": "Choose your language",
    }
    assert descriptions["ru"]["lang"] == "Выбрать язык"
    assert descriptions["zh"]["help"] == "使用说明"
    assert descriptions["es"]["quota"] == "Tus consultas restantes de hoy"
    for lang in ("ru", "zh", "es"):
        assert set(descriptions[lang]) == {"help", "quota", "lang"}
        assert descriptions[lang]["help"] != descriptions[None]["help"]


async def test_a_choice_is_read_once_then_trusted_for_a_few_seconds(store: Redis) -> None:
    prefs = LanguagePrefs(store, fresh_seconds=1.0)
    assert await prefs.locale(USER, "en") == "en"  # no choice: remembered too
    await store.set(f"lang:{USER}", "ru")  # another replica's /lang
    assert await prefs.locale(USER, "en") == "en"
    await asyncio.sleep(1.1)
    assert await prefs.locale(USER, "en") == "ru"
    assert await prefs.set(USER, "zh")  # a choice made here shows at once
    assert await prefs.locale(USER, "en") == "zh"
    assert await LanguagePrefs(store).get(USER) == "zh"  # and is in the store
