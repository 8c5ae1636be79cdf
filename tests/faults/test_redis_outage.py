"""Redis stopped, frozen and flushed behind a real ``gatehouse serve``: a revoked token is never
accepted again, a valid one keeps working, in time; and the denylist comes back to Redis."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gatehouse.testing import PASSWORD, unique_email
from tests.faults.conftest import CONTRACT_BOUND, Servers, sign_in, timed, wait_for

pytestmark = [pytest.mark.xdist_group("faults"), pytest.mark.timeout(120)]

ME = "/api/v1/me"


@pytest.fixture(autouse=True)
def _redis_back(servers: Servers) -> Iterator[None]:
    yield
    servers.redis.thaw_if_frozen()


def _assert_revocation_holds(
    client: httpx.Client, revoked: dict[str, str], valid: dict[str, str]
) -> None:
    refused = timed(lambda: client.get(ME, headers=revoked))
    accepted = timed(lambda: client.get(ME, headers=valid))
    assert refused.status == 401, refused
    assert accepted.status == 200, accepted
    assert max(refused.seconds, accepted.seconds) < CONTRACT_BOUND


def _denylisted(servers: Servers) -> int:
    client = servers.redis.client()
    try:
        return len(client.keys("gatehouse:session-revoked:*"))
    finally:
        client.close()


def test_a_revoked_token_stays_refused_while_redis_is_stopped_frozen_or_flushed(
    servers: Servers, base: str
) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        laptop, phone = sign_in(client), sign_in(client)
        assert client.post("/api/v1/auth/logout", headers=laptop).status_code == 204
        _assert_revocation_holds(client, laptop, phone)  # from Redis's denylist
        assert _denylisted(servers) > 0

        servers.redis.stop()
        try:
            _assert_revocation_holds(client, laptop, phone)  # PostgreSQL answers
        finally:
            servers.redis.start()  # empty: nothing was persisted
        _assert_revocation_holds(client, laptop, phone)
        wait_for(lambda: _denylisted(servers) > 0, "the denylist rebuilt in the new Redis")

        servers.redis.freeze()
        try:
            _assert_revocation_holds(client, laptop, phone)
        finally:
            servers.redis.thaw()

        servers.redis.flush()
        _assert_revocation_holds(client, laptop, phone)
        wait_for(lambda: _denylisted(servers) > 0, "the denylist rebuilt after the flush")
        _assert_revocation_holds(client, laptop, phone)


LOGIN = "/api/v1/auth/login"
ONE_TIMEOUT = 0.5  # GATEHOUSE_REDIS_TIMEOUT_SECONDS' default, which serve runs with


def test_with_redis_frozen_a_login_waits_on_redis_once_and_the_fallbacks_hold(
    servers: Servers, base: str
) -> None:
    """One process-wide outage state: the first Redis user to time out sends every other one
    (rate limits, lockout, hourly budget, session checks) to its fallback at once. A login then
    costs at most one Redis timeout, and the next ones none, instead of one per Redis user.
    The bounds are generous (a login also hashes): the contract gives none for Redis."""
    with httpx.Client(base_url=base, timeout=30) as client:
        laptop, phone = sign_in(client), sign_in(client)
        assert client.post("/api/v1/auth/logout", headers=laptop).status_code == 204
        account = {"email": unique_email("frozen"), "password": PASSWORD}
        assert client.post("/api/v1/auth/register", json=account).status_code == 202
        wrong = {**account, "password": "not the password at all"}

        servers.redis.freeze()
        try:
            first = timed(lambda: client.post(LOGIN, json=account))
            later = [timed(lambda: client.post(LOGIN, json=account)) for _ in range(3)]
            _assert_revocation_holds(client, laptop, phone)  # PostgreSQL answers at once
            refused = timed(lambda: client.get(ME, headers=laptop))
            guesses = [client.post(LOGIN, json=wrong).status_code for _ in range(6)]
        finally:
            servers.redis.thaw()

    assert first.status == 200, first
    assert first.seconds < ONE_TIMEOUT + 1.0, first
    assert [answer.status for answer in later] == [200] * 3, later
    assert max(answer.seconds for answer in later) < 1.0, later
    assert refused.status == 401, refused
    assert refused.seconds < 1.0, refused
    assert guesses == [401] * 5 + [429]  # the lockout holds in the process's memory
