"""Monitoring's pure parts: what counts as a secret, and when tracing is on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from gatehouse.main.monitoring import start_monitoring, tracing_wanted
from gatehouse.main.monitoring.scrub import FILTERED, scrub, scrub_text, secret_key
from gatehouse.main.monitoring.sentry import scrub_breadcrumb, scrub_event
from gatehouse.main.monitoring.tracing import scrub_attributes
from gatehouse.main.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "current_password",
        "refresh_token",
        "mfa_token",
        "Authorization",
        "Cookie",
        "X-CSRF-Token",
        "client_secret",
        "code",
        "backup_code",
        "http.request.header.authorization",
    ],
)
def test_secret_keys_are_recognised(key: str) -> None:
    assert secret_key(key)


@pytest.mark.parametrize(
    "key", ["email", "request_id", "http.status_code", "http.response.status_code", "pyotp"]
)
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not secret_key(key)


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("/verify-email?token=abc&lang=en", f"/verify-email?token={FILTERED}&lang=en"),
        ("token=abc", f"token={FILTERED}"),
        ("https://app/cb?code=xyz&state=s1", f"https://app/cb?code={FILTERED}&state={FILTERED}"),
        (
            "grant_type=password&username=a&password=pw1",
            f"grant_type=password&username=a&password={FILTERED}",
        ),
        ("Login(email='a@b.c', password='pw 1')", f"Login(email='a@b.c', password='{FILTERED}')"),
        ('{"refresh_token": "r\\"t", "x": 1}', f'{{"refresh_token": "{FILTERED}", "x": 1}}'),
        ("Authorization: Bearer abc.def", f"Authorization: Bearer {FILTERED}"),
        ("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln", FILTERED),
        ("postgresql://gate:pw@db:5432/g", f"postgresql://gate:{FILTERED}@db:5432/g"),
        ("GET /api?status_code=500", "GET /api?status_code=500"),
        ("SELECT 1 FROM t WHERE token_hash = $1", "SELECT 1 FROM t WHERE token_hash = $1"),
    ],
)
def test_secret_values_in_text_are_replaced(text: str, scrubbed: str) -> None:
    assert scrub_text(text) == scrubbed


def test_scrub_walks_nested_values() -> None:
    value = {"a": [{"password": "pw", "n": 1, "url": "/x?token=t"}], "ok": True, "b": b"raw"}
    assert scrub(value) == {
        "a": [{"password": FILTERED, "n": 1, "url": f"/x?token={FILTERED}"}],
        "ok": True,
        "b": FILTERED,
    }


def test_sentry_event_loses_body_cookies_and_secret_headers() -> None:
    event = scrub_event(
        {
            "request": {
                "url": "http://h/api/v1/auth/login",
                "query_string": "token=t1&x=1",
                "data": {"email": "a@b.c"},
                "cookies": {"gatehouse_refresh": "r"},
                "headers": {"Authorization": "Bearer b", "Cookie": "c=1", "Accept": "*/*"},
            },
            "breadcrumbs": {"values": [{"message": "calling /x?code=123"}]},
        },
        {},
    )
    assert event is not None
    request = event["request"]
    assert request == {
        "url": "http://h/api/v1/auth/login",
        "query_string": f"token={FILTERED}&x=1",
        "headers": {"Authorization": FILTERED, "Cookie": FILTERED, "Accept": "*/*"},
    }
    crumbs: Any = event["breadcrumbs"]
    assert crumbs["values"][0]["message"] == f"calling /x?code={FILTERED}"
    assert scrub_breadcrumb({"data": {"url": "/r?token=t"}}, {}) == {
        "data": {"url": f"/r?token={FILTERED}"}
    }


def test_an_event_that_cannot_be_scrubbed_is_dropped() -> None:
    class Unreadable(dict[str, object]):
        def items(self) -> Any:
            raise RuntimeError

    assert scrub_event({"extra": Unreadable()}, {}) is None


def test_span_attributes_are_scrubbed() -> None:
    assert scrub_attributes(
        {
            "http.url": "http://h/verify-email?token=t",
            "http.request.header.cookie": ("a=1",),
            "http.status_code": 200,
            "tags": ["x?code=1"],
        }
    ) == {
        "http.url": f"http://h/verify-email?token={FILTERED}",
        "http.request.header.cookie": FILTERED,
        "http.status_code": 200,
        "tags": [f"x?code={FILTERED}"],
    }


@pytest.mark.parametrize(
    ("setting", "environ", "wanted"),
    [
        (None, {}, False),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        (None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_SDK_DISABLED": "true"}, False),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_TRACES_EXPORTER": "none"}, False),
        (True, {}, True),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ],
)
def test_tracing_is_off_unless_configured(
    setting: bool | None, environ: dict[str, str], wanted: bool
) -> None:
    assert tracing_wanted(Settings(otel_enabled=setting, _env_file=None), environ) is wanted


def test_nothing_starts_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monitoring = start_monitoring(Settings(sentry_dsn=None, otel_enabled=None, _env_file=None))
    assert not monitoring.active
    monitoring.stop()


def test_a_malformed_sentry_dsn_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="not a Sentry DSN"):
        Settings(sentry_dsn=SecretStr("not-a-dsn"), _env_file=None)
    assert Settings(sentry_dsn=SecretStr(""), _env_file=None).sentry_dsn is None
