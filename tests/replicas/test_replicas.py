"""Three ``gatehouse serve`` and two ``gatehouse worker`` processes on one database and one
Redis: what one replica does, every other one knows at once (issue 16, item 4)."""

from __future__ import annotations

import functools
from pathlib import Path

import httpx
import pytest

from gatehouse.main.settings import Settings
from gatehouse.testing.mail import MailSink
from tests.replicas.conftest import rotate_keys
from tests.replicas.journeys import (
    mails_sent_once,
    register_and_verify,
    revoke_one_session,
    rotation_seen_by_all,
    sign_in_refresh_revoke,
    unique_email,
)
from tests.support.processes import gatehouses

# Several servers at once: all on one xdist worker, so two such tests never compete for cores.
pytestmark = pytest.mark.xdist_group("replicas")


async def test_three_replicas_and_two_workers_agree_on_sessions_keys_and_mail(
    own_database: Settings,
    replica_env: dict[str, str],
    smtp_server: MailSink,
    http: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    settings = own_database
    assert settings.database_url is not None
    with gatehouses(settings, tmp_path, replica_env, serves=3, workers=2) as started:
        bases = [gatehouse.base for gatehouse in started if gatehouse.base]
        assert len(bases) == 3
        email = unique_email("replicas")
        await register_and_verify(http, bases, smtp_server, email)
        await sign_in_refresh_revoke(http, bases, email)
        await revoke_one_session(http, bases, email)
        await mails_sent_once(http, bases, smtp_server, settings.database_url)
        rotate = functools.partial(rotate_keys, settings, replica_env)
        await rotation_seen_by_all(http, bases, email, rotate)
        assert all(gatehouse.process.poll() is None for gatehouse in started)  # none died
