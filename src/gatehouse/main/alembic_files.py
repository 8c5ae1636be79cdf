"""Where Gatehouse's own Alembic configuration is, wherever the package was installed from.

A source checkout (an editable install) has ``alembic.ini`` and ``alembic/`` at the repository
root; a wheel carries a copy of both inside the package, in ``gatehouse/_alembic/`` (hatch's
``force-include`` in ``pyproject.toml``), so that ``gatehouse migrate`` and the testing plugin
can migrate a database without the repository.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PACKAGED_INI = PACKAGE_DIR / "_alembic" / "alembic.ini"
SOURCE_INI = PACKAGE_DIR.parents[1] / "alembic.ini"  # src/gatehouse -> the repository root


def alembic_ini_of_the_package() -> Path | None:
    """The wheel's copy, else the source checkout's; ``None`` when neither is there."""
    for candidate in (PACKAGED_INI, SOURCE_INI):
        if candidate.is_file():
            return candidate
    return None
