"""What ``bot.app.run`` sets up around the bot: its event loop and a frozen start-up heap."""

import asyncio
import gc

import pytest

from bot.app import freeze_startup_heap, new_event_loop


def test_start_up_objects_are_not_collected_over_again() -> None:
    before = len(gc.get_objects())
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= before // 2
        assert len(gc.get_objects()) < before // 10  # what a full collection still scans
    finally:
        gc.unfreeze()


def test_the_bot_runs_on_uvloop_where_it_is_installed() -> None:
    uvloop = pytest.importorskip("uvloop")
    loop = new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


async def test_the_tests_run_on_the_bots_loop() -> None:
    loop = new_event_loop()
    try:
        assert type(asyncio.get_running_loop()) is type(loop)
    finally:
        loop.close()
