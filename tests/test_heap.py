"""Start-up's objects are left out of later garbage collections (bot.run.run)."""

import gc

from bot.run import freeze_startup_heap


def test_start_up_objects_are_not_collected_over_again() -> None:
    gc.unfreeze()  # what earlier tests left counts as start-up here (see conftest)
    before = len(gc.get_objects())
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= before // 2
        assert len(gc.get_objects()) < before // 10  # what a full collection still scans
    finally:
        gc.unfreeze()
