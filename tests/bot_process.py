"""``python -m bot`` (or an installed ``catbuy-bot``) as a real process, for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def bot_env(**settings: str) -> dict[str, str]:
    """This environment without proxies, plus the bot's settings."""
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["RATES_URL"] = ""  # no network in tests: the bundled reference rates only
    env.update(settings)
    return env


async def wait_healthy(port: int, within: float = 60) -> None:
    """Until the bot's web server on ``port`` answers ``/healthz`` (start-up imports
    take ~10 s on a loaded two-core machine, so the default is generous)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the bot on {port} did not start")


async def stop(process: subprocess.Popen[bytes], grace: float = 30) -> None:
    """SIGTERM, then wait off the loop: the fakes the bot talks to while stopping live on it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(process.wait, grace)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)


@asynccontextmanager
async def bot_process(
    env: dict[str, str],
    *,
    capture: bool = False,
    command: Sequence[str] = (sys.executable, "-m", "bot"),
    cwd: Path = ROOT,
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """A running bot; ``capture`` keeps its stdout and stderr in ``process.stdout``."""
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, never waited on here
        list(command),
        cwd=cwd,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        await stop(process)
