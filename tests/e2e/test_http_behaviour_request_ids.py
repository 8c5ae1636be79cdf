"""The delivery layer's request ids: echoed when well formed, replaced otherwise, and each of
many concurrent answers carrying its own, in the header and the problem body alike."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.e2e.conftest import unique_email


async def test_request_ids_are_echoed_when_well_formed_and_replaced_otherwise(
    client: httpx.AsyncClient,
) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc.DEF_123-x"})
    assert echoed.headers["x-request-id"] == "abc.DEF_123-x"
    for bad in ("has space", "x" * 129, "semi;colon", ""):
        replaced = await client.get("/health/live", headers={"X-Request-ID": bad})
        assert replaced.headers["x-request-id"] != bad
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", replaced.headers["x-request-id"])


async def test_concurrent_requests_each_carry_their_own_request_id(
    client: httpx.AsyncClient,
) -> None:
    """asgi-lifespan hands every request one shared state dict; each answer must still name its
    own request, in the header and the problem body alike."""
    answers = await asyncio.gather(
        *(  # each waits on the database and a dummy hash before its 401 problem
            client.post(
                "/api/v1/auth/login", json={"email": unique_email(), "password": "wrong" * 3}
            )
            for _ in range(20)
        )
    )
    assert {answer.status_code for answer in answers} == {401}
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert len(set(ids)) == len(ids)
    assert [answer.json()["request_id"] for answer in answers] == ids
