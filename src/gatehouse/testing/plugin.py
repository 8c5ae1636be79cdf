"""The pytest plugin, registered as the ``pytest11`` entry point ``gatehouse``.

pytest loads it wherever gatehouse is installed, so it must cost an unrelated test run nothing:
without the extra ``testing`` (pytest-asyncio, asgi-lifespan, aiosmtpd) it offers no fixtures,
and with it, nothing starts before a test asks for a fixture (docs/testing.md lists them).
Switch it off with ``-p no:gatehouse``.
"""

from __future__ import annotations

from importlib.util import find_spec

import pytest

REQUIRED = ("pytest_asyncio", "asgi_lifespan", "aiosmtpd")
MISSING = tuple(name for name in REQUIRED if find_spec(name) is None)

if not MISSING:
    from gatehouse.testing.fixtures import (
        finish_infra,
        gatehouse_app,
        gatehouse_client,
        gatehouse_data_dir,
        gatehouse_database_url,
        gatehouse_infra,
        gatehouse_mail_server,
        gatehouse_redis_url,
        gatehouse_settings,
        gatehouse_template_clones,
        mail_sink,
        make_user,
    )

    __all__ = [
        "gatehouse_app",
        "gatehouse_client",
        "gatehouse_data_dir",
        "gatehouse_database_url",
        "gatehouse_infra",
        "gatehouse_mail_server",
        "gatehouse_redis_url",
        "gatehouse_settings",
        "gatehouse_template_clones",
        "mail_sink",
        "make_user",
    ]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(session: pytest.Session) -> None:
        # trylast: after the runner has torn the session fixtures down.
        finish_infra(session)
