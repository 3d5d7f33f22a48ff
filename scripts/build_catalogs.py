"""The build step that puts the compiled gettext catalogs inside the package.

``locales/<lang>/LC_MESSAGES/messages.po`` at the top of the repo is the
source; the bot reads ``bot/i18n/locales/<lang>/LC_MESSAGES/messages.mo``
next to its own code, so an installed bot finds them wherever it is started.
setuptools runs ``BuildPy`` (``[tool.setuptools.cmdclass]`` in pyproject.toml)
for every build:

- a wheel (``pip install .``, ``pip wheel .``, ``python -m build``): the
  ``.mo`` files are written into the build tree and so into the wheel;
- an editable install (``pip install -e .``): setuptools asks for generated
  files "in place", so they are written into the source tree's
  ``bot/i18n/locales/`` (git-ignored), where the editable ``bot`` is imported
  from.

setuptools loads this file by its path, without the repo on ``sys.path``: it
imports only setuptools, Babel (both in ``[build-system] requires``) and the
standard library. The tests import ``compile_catalogs`` to refresh stale
catalogs after a ``.po`` edit.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "locales"
# Where the catalogs sit inside the package, relative to the package root.
PACKAGE_PATH = Path("bot", "i18n", "locales")
DOMAIN = "messages"


def catalog_pairs(source: Path, target: Path) -> list[tuple[Path, Path]]:
    """Every ``(.po, .mo)`` pair: ``source/<lang>/LC_MESSAGES/x.po`` → the same under ``target``."""
    return [
        (po, target / po.relative_to(source).with_suffix(".mo"))
        for po in sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    ]


def compile_catalogs(
    source: Path = SOURCE, target: Path = ROOT / PACKAGE_PATH, *, only_stale: bool = False
) -> list[Path]:
    """Compile every catalog under ``source`` into ``target``; the ``.mo`` files written.

    A fuzzy entry is left out of the ``.mo`` (gettext's rule: English shows
    instead); the catalog check in CI refuses fuzzy entries anyway.
    """
    pairs = catalog_pairs(source, target)
    if not pairs:
        raise FileNotFoundError(f"no gettext catalogs ({DOMAIN}.po) under {source}")
    written: list[Path] = []
    for po_path, mo_path in pairs:
        if only_stale and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po:
            catalog = read_po(po, domain=DOMAIN)
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with mo_path.open("wb") as mo:
            write_mo(mo, catalog)
        written.append(mo_path)
    return written


class BuildPy(build_py):
    """setuptools' ``build_py``, plus the compiled catalogs."""

    def run(self) -> None:
        super().run()
        compile_catalogs(SOURCE, self._catalogs_dir())

    def _catalogs_dir(self) -> Path:
        # Editable: in place, beside the source the editable install imports.
        base = ROOT if self.editable_mode else Path(self.build_lib)
        return base / PACKAGE_PATH

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [str(mo) for _, mo in catalog_pairs(SOURCE, self._catalogs_dir())]

    def get_output_mapping(self) -> dict[str, str]:
        mapping = super().get_output_mapping()
        built = Path(self.build_lib) / PACKAGE_PATH
        for po_path, mo_path in catalog_pairs(SOURCE, built):
            # An editable install links to the .mo compiled in place; a wheel's came from the .po.
            origin = ROOT / mo_path.relative_to(self.build_lib) if self.editable_mode else po_path
            mapping[str(mo_path)] = str(origin)
        return mapping
