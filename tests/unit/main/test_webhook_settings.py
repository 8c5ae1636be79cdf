"""GATEHOUSE_WEBHOOKS as an operator writes it: checked at start, secrets never repeated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from gatehouse.main.app import create_app
from gatehouse.main.secrets import SecretsError, load_webhook_endpoints
from gatehouse.main.settings import Settings
from tests.support.webhooks import new_secret

SECRET, NEXT = new_secret(), new_secret(24)


def _with(monkeypatch: pytest.MonkeyPatch, webhooks: object, env: str = "dev") -> Settings:
    monkeypatch.setenv("GATEHOUSE_WEBHOOKS", json.dumps(webhooks))
    monkeypatch.setenv("GATEHOUSE_ENV", env)
    if env == "production":  # what production refuses to start without
        monkeypatch.setenv("GATEHOUSE_COOKIE_SECURE", "true")
    return Settings(_env_file=None)


def test_no_webhooks_by_default() -> None:
    settings = Settings(_env_file=None)
    assert (settings.webhooks, load_webhook_endpoints(settings)) == ((), ())
    assert settings.webhook_timeout_seconds == 10.0


def test_an_https_endpoint_takes_every_event_unless_it_lists_some(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _with(
        monkeypatch,
        [
            {"url": "https://hooks.example.com/a", "secret": SECRET},
            {
                "url": "https://hooks.example.com/b",
                "secret": [SECRET, NEXT],
                "events": ["user.deleted", "session.revoked"],
            },
        ],
        env="production",
    )
    every, some = load_webhook_endpoints(settings)
    assert (every.url, every.events, len(every.secrets)) == ("https://hooks.example.com/a", None, 1)
    assert some.events == frozenset({"user.deleted", "session.revoked"})
    assert len(some.secrets) == 2  # rotating: both sign
    assert SECRET not in repr(settings)
    assert SECRET.removeprefix("whsec_") not in repr(load_webhook_endpoints(settings))


def test_plain_http_is_for_a_loopback_host_in_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for url in ("http://127.0.0.1:9000/hooks", "http://localhost/hooks", "http://[::1]:80/h"):
        assert _with(monkeypatch, [{"url": url, "secret": SECRET}], env="test").webhooks


@pytest.mark.parametrize(
    ("entry", "env", "message"),
    [
        (
            {"url": "http://hooks.example.com", "secret": SECRET},
            "dev",
            "http:// only on a loopback",
        ),
        ({"url": "http://127.0.0.1:9000", "secret": SECRET}, "production", "production endpoints"),
        ({"url": "ftp://hooks.example.com", "secret": SECRET}, "dev", "absolute http(s) URL"),
        ({"url": "/hooks", "secret": SECRET}, "dev", "absolute http(s) URL"),
        ({"url": "https://hooks.example.com#x", "secret": SECRET}, "dev", "without fragment"),
        (
            {"url": "https://h.example.com", "secret": SECRET, "events": ["user.hacked"]},
            "dev",
            "unknown event type(s) user.hacked; the types are session.refresh_token_reused",
        ),
        ({"url": "https://h.example.com", "secret": SECRET, "events": []}, "dev", "(none given)"),
        ({"url": "https://h.example.com"}, "dev", "secret"),
        ({"url": "https://h.example.com", "secret": SECRET, "extra": 1}, "dev", "extra"),
    ],
)
def test_a_bad_entry_is_refused_naming_why_but_never_the_secret(
    monkeypatch: pytest.MonkeyPatch, entry: dict[str, object], env: str, message: str
) -> None:
    with pytest.raises(
        ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as raised:
        _with(monkeypatch, [entry], env=env)
    text = str(raised.value)
    assert SECRET not in text
    assert SECRET.removeprefix("whsec_") not in text


def test_an_endpoint_named_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    twice = [
        {"url": "https://hooks.example.com/a", "secret": SECRET},
        {"url": "https://hooks.example.com/a", "secret": NEXT},
    ]
    with pytest.raises(ValidationError, match="names an endpoint twice"):
        _with(monkeypatch, twice)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("plain-text-but-secret", "starts with 'whsec_'"),
        ("whsec_c2hvcnQtYnV0LXNlY3JldA==", "24 to 64 bytes"),
        ([], "1 to 5 secrets"),
        ([SECRET] * 6, "1 to 5 secrets"),
        ([SECRET, "whsec_c2hvcnQtYnV0LXNlY3JldA=="], "24 to 64 bytes"),
    ],
)
def test_a_bad_secret_stops_the_start_naming_the_endpoint_but_never_the_secret(
    monkeypatch: pytest.MonkeyPatch, secret: object, message: str
) -> None:
    settings = _with(monkeypatch, [{"url": "https://h.example.com/x", "secret": secret}])
    with pytest.raises(SecretsError, match=message) as raised:
        load_webhook_endpoints(settings)
    text = str(raised.value)
    assert text.startswith("GATEHOUSE_WEBHOOKS: https://h.example.com/x")
    for value in secret if isinstance(secret, list) else [secret]:
        assert str(value).removeprefix("whsec_") not in text


def test_the_app_refuses_to_start_with_a_bad_webhook_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _with(monkeypatch, [{"url": "https://h.example.com/x", "secret": "not-whsec"}])
    settings = settings.model_copy(
        update={
            "data_dir": tmp_path,
            "database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/none",  # never reached
            "redis_url": "redis://127.0.0.1:1/0",
        }
    )
    with pytest.raises(SecretsError, match="a webhook secret starts"):
        create_app(settings)
