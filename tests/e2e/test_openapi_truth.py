"""The served OpenAPI document against what is served: every documented path answers an
undocumented method with 405 and an ``Allow`` naming exactly its documented methods, and
/metrics is the Prometheus text it says it is."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import assert_problem


async def test_a_405_allows_exactly_the_documented_methods_of_every_path(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    for template, item in spec["paths"].items():
        path = re.sub(r"\{[^}]+\}", "01936c6f-0000-7000-8000-000000000000", template)
        response = await client.request("OPTIONS", path)
        assert_problem(response, 405, "method_not_allowed")
        documented = {method.upper() for method in item}
        assert set(response.headers["allow"].split(", ")) == documented, template


async def test_metrics_are_documented_and_served_as_prometheus_text(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
