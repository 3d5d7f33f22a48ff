"""Every argument a handler or a filter asks for is one the bot provides.

aiogram passes a handler only the keyword arguments its signature names, and
fails at run time on one nobody provides. Walking the built Dispatcher's whole
router tree finds such a name before an update does.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from dataclasses import fields
from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.handler import CallableObject, FilterObject, HandlerObject
from aiogram.dispatcher.middlewares.data import DispatcherData, I18nData, UserContextData
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter

import handlers
from bot.app import App, Services, build_app
from bot.config import load_settings
from tests.fakes.telegram import RecordingSession

# aiogram's own data (the Dispatcher, the user context, the locale middleware);
# no FSM: the Dispatcher runs without it.
AIOGRAM_DATA = {*DispatcherData.__annotations__, *UserContextData.__annotations__}
# The locale middleware's, on messages, taps and inline queries ("lang": the user's locale).
LOCALE_DATA = {*I18nData.__annotations__, "lang"}
LOCALE_EVENTS = {"message", "callback_query", "inline_query"}
# What a filter hands the handler it passes.
FILTER_DATA: dict[type, set[str]] = {Command: {"command"}, CallbackQueryFilter: {"callback_data"}}
SERVICES = {field.name for field in fields(Services)}


@pytest.fixture
async def app() -> AsyncIterator[App]:
    settings = load_settings(
        bot_token="42:TEST-TOKEN", catbuy_api_key="cbk_test", redis_url=None, _env_file=None
    )
    async with build_app(settings, bot_session=RecordingSession()) as built:
        yield built


def routers(root: Router) -> Iterator[Router]:
    yield root
    for router in root.sub_routers:
        yield from routers(router)


def asked(callable_: CallableObject) -> set[str]:
    """The keyword arguments it takes: every parameter past the event itself."""
    signature = inspect.signature(inspect.unwrap(callable_.callback))
    names = [p.name for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    return set(names[1:])


def filters_of(handler: HandlerObject) -> list[FilterObject]:
    return list(handler.filters or [])


def unprovided(dispatcher: Dispatcher) -> list[str]:
    """``handler: name`` for each argument nobody provides."""
    missing = []
    for router in routers(dispatcher):
        for event, observer in router.observers.items():
            # A router's own filters (``observer.filter``) are kept on a stand-in handler.
            root_filters = filters_of(observer._handler)
            for handler in observer.handlers:
                provided = SERVICES | AIOGRAM_DATA
                if event in LOCALE_EVENTS:
                    provided |= LOCALE_DATA
                for filter_ in filters_of(handler):
                    for kind, names in FILTER_DATA.items():
                        if isinstance(filter_.callback, kind):
                            provided |= names
                for callable_ in [handler, *root_filters, *filters_of(handler)]:
                    where = f"{router.name}.{event} {callable_.callback!r}"
                    missing += [f"{where}: {name}" for name in asked(callable_) - provided]
    return missing


def handler_names(root: Router) -> set[str]:
    return {
        getattr(handler.callback, "__name__", "")
        for router in routers(root)
        for observer in router.observers.values()
        for handler in observer.handlers
    }


async def test_every_handler_argument_is_provided(app: App) -> None:
    assert unprovided(app.dispatcher) == []


async def test_the_walk_reaches_the_whole_tree(app: App) -> None:
    """Every handler of ``handlers.create_router()`` and the error handler are checked."""
    in_tree = handler_names(handlers.create_router())
    assert {"on_link", "on_stats", "on_risk", "on_card_tap", "on_my_rights"} <= in_tree
    assert in_tree | {"on_error"} <= handler_names(app.dispatcher)


async def test_a_handler_asking_for_an_unknown_service_is_found(app: App) -> None:
    async def on_odd(message: Any, settings: Any, wallet: Any) -> None:
        """Asks for a service that does not exist."""

    odd = Router(name="odd")
    odd.message.register(on_odd)
    app.dispatcher.include_router(odd)
    [missing] = unprovided(app.dispatcher)
    assert missing.startswith("odd.message") and missing.endswith(": wallet")


async def test_services_are_frozen(app: App) -> None:
    with pytest.raises(AttributeError):
        app.services.lookup = app.services.lookup  # type: ignore[misc]
