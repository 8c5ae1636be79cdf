"""Redis stopped, frozen and flushed behind a real ``gatehouse serve``: a revoked token is never
accepted again, a valid one keeps working, in time; and the denylist comes back to Redis."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

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
