"""Gatehouse's migrations, driven the way ``gatehouse migrate`` drives them: its ``alembic.ini``
with the URL handed over as an attribute.

The configuration is always Gatehouse's own (``gatehouse.main.alembic_files``), never an
``alembic.ini`` in the working directory: a project that uses this plugin may have one of its
own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from gatehouse.main.alembic_files import alembic_ini_of_the_package

if TYPE_CHECKING:  # Alembic is imported when used: loading the plugin stays cheap
    from alembic.config import Config


def alembic_ini() -> Path:
    found = alembic_ini_of_the_package()
    if found is None:
        msg = (
            "Gatehouse's alembic.ini is missing: install gatehouse from a wheel (which carries "
            "it in gatehouse/_alembic) or from a checkout of its repository"
        )
        raise RuntimeError(msg)
    return found


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # noqa: PLC0415

    config = Config(str(alembic_ini()))
    config.attributes["url"] = url
    return config


def versions_dirs() -> list[Path]:
    """Every directory Alembic reads revisions from."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    script = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused"))
    return [Path(location) for location in script.version_locations or [script.versions]]


def migrations_fingerprint() -> str:
    """A short hash of every migration file: a changed, added or removed one changes it."""
    digest = hashlib.sha256()
    for directory in versions_dirs():
        for path in sorted(directory.rglob("*.py")):
            digest.update(path.relative_to(directory).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]
