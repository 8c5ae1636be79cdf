"""The delivery layer's health and metrics: liveness and readiness (naming the dependency that
is down), 503 problems rather than 500s while PostgreSQL is down, and Prometheus metrics by
route template."""

from __future__ import annotations

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, ClientFactory, assert_problem, unique_email


async def test_health_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_ready_names_redis_when_redis_is_down(make_client: ClientFactory) -> None:
    async with make_client(redis_url="redis://127.0.0.1:1/0") as client:
        body = assert_problem(await client.get("/health/ready"), 503, "dependency_unavailable")
    assert body["checks"] == {"postgres": "ok", "redis": "unavailable"}
    assert "redis" in body["detail"]


async def test_postgres_down_gives_503_problems_not_500s(
    make_client: ClientFactory, settings: Settings
) -> None:
    down = "postgresql+asyncpg://postgres@127.0.0.1:1/gatehouse"
    async with make_client(database_url=down) as client:
        ready = assert_problem(await client.get("/health/ready"), 503, "dependency_unavailable")
        assert ready["checks"]["postgres"] == "unavailable"
        register = await client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
        assert_problem(register, 503, "database_unavailable")
        assert register.headers["retry-after"]


async def test_metrics_are_prometheus_text_with_route_templates(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    await client.get("/nope")
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'gatehouse_http_requests_total{method="GET",route="/health/live",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "gatehouse_http_request_duration_seconds_bucket" in text
    assert "gatehouse_outbox_backlog" in text
    assert "gatehouse_webhook_backlog" in text
