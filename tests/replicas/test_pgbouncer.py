"""Through PgBouncer in transaction mode (issue 16, item 4): the engine and the read pool keep
no server-side prepared statements (GATEHOUSE_DATABASE_PGBOUNCER), migrations and LISTEN go
to the direct URL, and the replicas' journeys work with two server connections for all."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gatehouse.main.container import ApplicationContainer
from gatehouse.main.settings import Settings
from gatehouse.testing.mail import MailSink
from tests.replicas.journeys import (
    mails_sent_once,
    register_and_verify,
    sign_in_refresh_revoke,
    unique_email,
)
from tests.support.processes import gatehouses

# Several servers at once: all on one xdist worker, so two such tests never compete for cores.
pytestmark = pytest.mark.xdist_group("replicas")

QUERY = text("SELECT count(*) FROM accounts_user WHERE email = :email")


async def _the_same_query_on_another_server_connection(settings: Settings) -> None:
    """PgBouncer's two server connections, S1 and S2: ``b`` runs the query on S2 while ``a``
    holds S1; then ``c`` holds S2 and ``b`` runs it again, on S1, where a statement prepared
    on S2 does not exist."""
    engine = ApplicationContainer(settings=settings).engine()
    try:
        async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
            await a.execute(text("SELECT 1"))  # a's transaction holds S1
            await b.execute(QUERY, {"email": "x@example.com"})  # on S2
            await b.commit()
            await c.execute(text("SELECT 1"))  # c's transaction holds S2
            await a.commit()  # S1 is free
            await b.execute(QUERY, {"email": "x@example.com"})  # on S1
            await b.commit()
    finally:
        await engine.dispose()


async def test_the_engine_works_through_pgbouncer_with_the_setting(
    through_pgbouncer: Settings,
) -> None:
    await _the_same_query_on_another_server_connection(through_pgbouncer)


async def test_without_the_setting_a_cached_statement_is_missing_through_pgbouncer(
    through_pgbouncer: Settings,
) -> None:
    """The failure the setting prevents (asyncpg's FAQ: "prepared statement … does not
    exist"), so the test above proves something."""
    settings = through_pgbouncer.model_copy(update={"database_pgbouncer": False})
    with pytest.raises(DBAPIError, match="prepared statement"):
        await _the_same_query_on_another_server_connection(settings)


async def test_replicas_and_workers_through_pgbouncer_in_transaction_mode(
    through_pgbouncer: Settings,
    replica_env: dict[str, str],
    smtp_server: MailSink,
    http: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    """Two replicas and two workers, whose pools share PgBouncer's two server connections;
    ``gatehouse serve`` migrates over the direct URL before it serves."""
    settings = through_pgbouncer
    assert settings.database_direct_url is not None
    env = {
        **replica_env,
        "GATEHOUSE_DATABASE_DIRECT_URL": settings.database_direct_url,
        "GATEHOUSE_DATABASE_PGBOUNCER": "true",
    }
    with gatehouses(settings, tmp_path, env, serves=2, workers=2) as started:
        bases = [gatehouse.base for gatehouse in started if gatehouse.base]
        email = unique_email("pgbouncer")
        await register_and_verify(http, bases, smtp_server, email)
        await sign_in_refresh_revoke(http, bases, email)
        await mails_sent_once(http, bases, smtp_server, settings.database_direct_url)
        assert all(gatehouse.process.poll() is None for gatehouse in started)
    database = settings.database_direct_url.rsplit("/", 1)[-1]
    logins = (tmp_path / "pgbouncer" / "pgbouncer.log").read_text(errors="replace")
    assert f"login attempt: db={database}" in logins  # the traffic did go through PgBouncer
