"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError

from gatehouse.main.http.errors import problem_response
from gatehouse.modules.notifications.application.ports import (
    DeliveryQueue,
    OutboxStore,
    WebhookQueue,
)
from gatehouse.shared.errors import Unavailable
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.routing import problems
from gatehouse.shared.pg import ReadPool

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT = 2.0


@router.get("/health/live", operation_id="health_live", summary="The process is running")
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _check_postgres(pool: ReadPool) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await pool.fetchrow("SELECT 1") is not None
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


async def _check_redis(client: Redis) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return bool(await client.ping())
    except Exception:  # noqa: BLE001
        return False


@router.get(
    "/health/ready",
    operation_id="health_ready",
    summary="PostgreSQL and Redis answer",
    responses=problems(503),
)
@inject
async def ready(
    request: Request,
    pool: ReadPool = Provide["read_pool"],
    redis: Redis = Provide["redis"],
) -> JSONResponse:
    postgres_ok, redis_ok = await asyncio.gather(_check_postgres(pool), _check_redis(redis))
    checks = {
        "postgres": "ok" if postgres_ok else "unavailable",
        "redis": "ok" if redis_ok else "unavailable",
    }
    failing = [name for name, state in checks.items() if state != "ok"]
    if failing:
        return problem_response(
            request,
            503,
            "dependency_unavailable",
            "A dependency is unavailable",
            detail=f"Not ready: {', '.join(failing)} unavailable.",
            headers={"Retry-After": "5"},
            checks=checks,
        )
    return JSONResponse({"status": "ok", "checks": checks})


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
@inject
async def metrics(
    request: Request,
    outbox: OutboxStore = Provide["notifications.store"],
    webhooks: WebhookQueue = Provide["notifications.webhook_queue"],
) -> Response:
    """The outbox backlogs are counted at scrape time, so they are right whichever process
    sends."""
    gauges: tuple[tuple[Gauge, DeliveryQueue[Any]], ...] = (
        (request.app.state.outbox_backlog, outbox),
        (request.app.state.webhook_backlog, webhooks),
    )
    for backlog, queue in gauges:
        with contextlib.suppress(Unavailable, OSError, TimeoutError, SQLAlchemyError):
            backlog.set(await queue.backlog())
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
