"""The bot installed the way Python software is installed, and started from anywhere.

An sdist is built from the repo and a wheel from the sdist (so the wheel holds
only what a release holds, nothing left in a ``build/`` folder), the wheel goes
into a fresh virtualenv, and its ``catbuy-bot`` command runs from an empty
directory against the fake Bot API, the fake upstream and a real Redis: it
reaches Telegram, answers in Russian from the catalogs compiled into the wheel,
and turns a pasted link into a card.

Offline and quick: the wheel is built without build isolation (setuptools and
Babel come from the test environment), and the fresh venv sees the test
environment's installed packages through a ``.pth`` line as its dependencies
(``pip check`` proves they satisfy what the wheel declares), not the source tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n.language import SUPPORTED_LOCALES
from tests.bot_process import ROOT, bot_env, bot_process, stop
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.catbuy_server import FakeCatBuy
from tests.fakes.telegram import message_update

pytestmark = pytest.mark.slow

TOKEN = "4242:PACKAGE-SECRET-TOKEN-abcdef"
KEY = "cbk_package_secret_key_0123456789"
LINK = "https://item.taobao.com/item.htm?id=734912856301"
HELLO = "<b>CatBuy bot</b> turns marketplace links into product cards."


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    elsewhere: Path  # an empty working directory, far from the source tree

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def command(self) -> Path:
        return self.venv / "bin" / "catbuy-bot"


def run(*args: str | Path, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("package")
    sdist_name = run(
        sys.executable,
        "-c",
        "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))",
        tmp / "sdist",
    ).split()[-1]
    with tarfile.open(tmp / "sdist" / sdist_name) as sdist:
        sdist.extractall(tmp / "src", filter="data")
    (source,) = (tmp / "src").iterdir()
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", source)
    (wheel,) = (tmp / "dist").glob("catbuy_bot-*.whl")

    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    run(*pip, "--python", venv / "bin" / "python", "install", "-q", "--no-deps", wheel)
    # The dependencies: this environment's packages, on the fresh venv's path.
    paths = {sysconfig.get_paths()[name] for name in ("purelib", "platlib")}
    (site_packages,) = (venv / "lib").glob("python3.*/site-packages")
    (site_packages / "_test_dependencies.pth").write_text("\n".join(sorted(paths)) + "\n")
    run(*pip, "--python", venv / "bin" / "python", "check")

    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel, venv, elsewhere)


def test_the_wheel_carries_the_compiled_catalogs_and_no_sources_of_them(
    installed: Installed,
) -> None:
    wheel = zipfile.ZipFile(installed.wheel)
    names = wheel.namelist()
    catalogs = {n for n in names if n.startswith("bot/i18n/locales/")}
    wanted = {f"bot/i18n/locales/{lang}/LC_MESSAGES/messages.mo" for lang in SUPPORTED_LOCALES}
    assert catalogs == wanted
    assert not [n for n in names if n.endswith(".po") or n.startswith(("tests/", "scripts/"))]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "catbuy-bot = bot.__main__:main" in wheel.read(entry_points).decode()


def test_the_installed_bot_is_imported_from_the_venv_not_the_source(installed: Installed) -> None:
    where = run(
        installed.python,
        "-c",
        "import bot, handlers, importlib.util as u; "
        "print(bot.__file__, handlers.__file__, u.find_spec('tests'))",
        cwd=installed.elsewhere,
    ).split()
    assert all(Path(path).is_relative_to(installed.venv) for path in where[:2])
    assert where[2] == "None"


@pytest.fixture
def bot_token() -> str:
    return TOKEN


@pytest.fixture
async def catbuy() -> AsyncIterator[FakeCatBuy]:
    async with FakeCatBuy(KEY) as fake:
        yield fake


def russian(msgid: str) -> str:
    with (ROOT / "locales" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        message = read_po(po).get(msgid)
    assert message is not None and isinstance(message.string, str) and message.string
    return message.string


async def test_catbuy_bot_started_anywhere_reaches_telegram_and_speaks_russian(
    installed: Installed, telegram: FakeBotApi, catbuy: FakeCatBuy, redis_url: str
) -> None:
    env = bot_env(
        BOT_TOKEN=TOKEN,
        CATBUY_API_KEY=KEY,
        CATBUY_BASE_URL=catbuy.base_url,
        TELEGRAM_API_URL=telegram.base_url,
        REDIS_URL=redis_url,
    )
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PATH"] = f"{installed.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    command = [str(installed.command)]
    async with bot_process(env, capture=True, command=command, cwd=installed.elsewhere) as process:
        try:
            await telegram.wait_for("getMe", timeout=60)
        except TimeoutError:
            await stop(process)
            assert process.stdout is not None
            pytest.fail(f"catbuy-bot never reached Telegram:\n{process.stdout.read().decode()}")

        telegram.push_update(message_update("/start", user_id=501, language_code="ru"))
        hello = await telegram.wait_for(lambda c: c.method == "sendMessage", timeout=30)
        assert hello.chat_id == 501
        assert russian(HELLO) in hello.params["text"]
        assert HELLO not in hello.params["text"]

        telegram.push_update(message_update(LINK, user_id=502, language_code="ru"))
        card = await telegram.wait_for("sendPhoto", timeout=30)
        assert card.chat_id == 502 and "¥89.00 – 109.00" in card.params["caption"]

        await stop(process)
        assert process.stdout is not None
        output = process.stdout.read().decode()
    assert "Traceback" not in output, output
    assert TOKEN.split(":")[1] not in output and KEY not in output
