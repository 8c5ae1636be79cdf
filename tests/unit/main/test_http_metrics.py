from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gatehouse.main.http.middleware import HttpMetrics


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_requests_are_counted_by_method_route_and_status() -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)
    for status in (200, 200, 404):
        metrics.observe("GET", "/api/v1/me", status, 0.002)
    samples = _samples(registry)
    labels = (("method", "GET"), ("route", "/api/v1/me"))
    assert samples["gatehouse_http_requests_total", (*labels, ("status", "200"))] == 2
    assert samples["gatehouse_http_requests_total", (*labels, ("status", "404"))] == 1


def test_latency_buckets_are_cumulative_with_an_inf_bucket_and_a_sum() -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)
    for seconds in (0.0005, 0.001, 0.003, 0.2, 7.0):  # 0.001 falls in le="0.001"
        metrics.observe("POST", "/login", 200, seconds)
    samples = _samples(registry)
    labels = (("method", "POST"), ("route", "/login"))

    def bucket(le: str) -> float:
        return samples["gatehouse_http_request_duration_seconds_bucket", (("le", le), *labels)]

    assert bucket("0.001") == 2
    assert bucket("0.0025") == 2
    assert bucket("0.005") == 3
    assert bucket("0.25") == 4
    assert bucket("5.0") == 4
    assert bucket("+Inf") == 5
    assert samples["gatehouse_http_request_duration_seconds_count", labels] == 5
    total = samples["gatehouse_http_request_duration_seconds_sum", labels]
    assert abs(total - 7.2045) < 1e-9
