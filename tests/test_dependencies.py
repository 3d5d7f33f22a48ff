"""The declared dependencies are the ones the bot uses, no more and no fewer.

A dependency declared and never imported is weight in every install and
image; a module imported but not declared works only while something else
happens to pull it in. The exceptions are named here with their reason.
"""

from __future__ import annotations

import ast
import builtins
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.catbuy_server import FakeCatBuy

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FIRST_PARTY = {"bot", "handlers", "tests", "scripts", "bench"}

# Declared, not imported: httpcore imports sniffio on every request (see the test below).
USED_WITHOUT_IMPORT = {"sniffio"}
# Imported, not declared: pydantic pins its own core exactly; a second pin would fight it.
COMES_WITH = {"pydantic-core": "pydantic"}
# The test tools that work without being imported.
TEST_TOOLS_NOT_IMPORTED = {
    "pytest-asyncio": "a pytest plugin (asyncio_mode = auto)",
    "setuptools": "the build backend tests/test_package.py builds the wheel with",
}


def canonical(name: str) -> str:
    """A distribution's name as pip compares them: ``Email_Validator`` is ``email-validator``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(extra: str | None = None) -> set[str]:
    entries = (
        PYPROJECT["project"]["dependencies"]
        if extra is None
        else PYPROJECT["project"]["optional-dependencies"][extra]
    )
    # A requirement's name runs up to its extras, version or marker: "fakeredis[lua]>=2.30".
    return {canonical(re.split(r"[\s\[<>=!~;@]", entry, maxsplit=1)[0]) for entry in entries}


def imported_modules(*folders: str) -> Iterator[str]:
    """The top-level name of every absolute import in the folders' Python files."""
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    yield from (alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    yield node.module.split(".")[0]


def imported_distributions(*folders: str) -> set[str]:
    """The installed distributions that provide the folders' third-party imports."""
    providers = packages_distributions()
    found: set[str] = set()
    for module in set(imported_modules(*folders)):
        if module in FIRST_PARTY or module in sys.stdlib_module_names:
            continue
        assert module in providers, f"{module} is imported but no installed distribution has it"
        found |= {canonical(name) for name in providers[module]}
    return found


def test_every_runtime_dependency_is_imported_by_the_bot() -> None:
    used = imported_distributions("bot", "handlers")
    assert declared() - used == USED_WITHOUT_IMPORT


def test_everything_the_bot_imports_is_declared() -> None:
    used = imported_distributions("bot", "handlers")
    assert used - declared() == set(COMES_WITH)
    assert set(COMES_WITH.values()) <= declared()


def test_every_test_dependency_is_used_by_the_tests() -> None:
    used = imported_distributions("tests")
    assert declared("test") - used == set(TEST_TOOLS_NOT_IMPORTED)


async def test_httpcore_still_imports_sniffio_on_every_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why sniffio is declared: httpcore asks for it per request to tell asyncio
    from trio. Nothing else requires it any more, and a failed import is not
    cached: without it each request would search sys.path again. When this
    fails, httpcore has stopped asking, and the dependency can go."""
    asked: list[str] = []
    real_import = builtins.__import__

    def recording_import(name: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(name)
        return real_import(name, *args, **kwargs)

    async with FakeCatBuy() as upstream, httpx.AsyncClient(base_url=upstream.base_url) as client:
        await client.get("/")  # the connection pool is warm: only per-request imports remain
        monkeypatch.setattr(builtins, "__import__", recording_import)
        for _ in range(3):
            await client.get("/")
        monkeypatch.undo()
    assert asked.count("sniffio") >= 3
