"""aiogram's answer models stay built across garbage collections (bot/response_models.py)."""

import gc
import weakref
from typing import Any

from aiogram.methods import GetUpdates, SendPhoto
from aiogram.methods.base import Response, TelegramMethod

from bot.telegram.answer_models import keep_response_models


def answer_model(method: type[TelegramMethod[Any]]) -> Any:
    # Inside a function, as in aiogram's check_response: pydantic then holds the
    # class only weakly (at module level it would also bind it in the module).
    return Response[method.__returning__]  # type: ignore[name-defined]


def test_answer_models_survive_a_garbage_collection() -> None:
    assert keep_response_models() > 30
    for method in (SendPhoto, GetUpdates):
        model = weakref.ref(answer_model(method))
        gc.collect()
        assert model() is not None, f"the answer model of {method.__name__} was collected"
        assert answer_model(method) is model()
