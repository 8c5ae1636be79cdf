"""GATEHOUSE_OIDC_PROVIDERS and GATEHOUSE_OAUTH_REDIRECT_URLS, as an operator writes them."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gatehouse.main.settings import Settings


def _with(monkeypatch: pytest.MonkeyPatch, providers: object, redirects: str = "") -> Settings:
    monkeypatch.setenv("GATEHOUSE_OIDC_PROVIDERS", json.dumps(providers))
    monkeypatch.setenv("GATEHOUSE_OAUTH_REDIRECT_URLS", redirects)
    return Settings(_env_file=None)


def test_no_providers_and_no_redirects_by_default() -> None:
    settings = Settings(_env_file=None)
    assert settings.oidc_providers == ()
    assert settings.oauth_redirect_urls == ()


def test_google_needs_only_a_client_id_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _with(
        monkeypatch,
        [
            {
                "name": "google",
                "client_id": "id.apps.googleusercontent.com",
                "client_secret": "s3cr3t-value",
            }
        ],
        "https://app.example.com/done, http://localhost:5173/done",
    )
    (google,) = settings.oidc_providers
    assert google.issuer == "https://accounts.google.com"
    assert google.scopes == ("openid", "email", "profile")
    assert google.client_secret.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings)
    assert settings.oauth_redirect_urls == (
        "https://app.example.com/done",
        "http://localhost:5173/done",
    )


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ({"name": "corp", "client_id": "a", "client_secret": "b"}, "needs an issuer"),
        (
            {
                "name": "corp",
                "issuer": "http://sso.example.com",
                "client_id": "a",
                "client_secret": "b",
            },
            "http:// only on a loopback host",
        ),
        (
            {
                "name": "corp",
                "issuer": "ftp://sso.example.com",
                "client_id": "a",
                "client_secret": "b",
            },
            "an issuer is an https:// URL",
        ),
        (
            {
                "name": "corp",
                "issuer": "https://sso.example.com",
                "client_id": "a",
                "client_secret": "b",
                "scopes": ["email"],
            },
            "must include openid",
        ),
        ({"name": "Bad Name", "client_id": "a", "client_secret": "b"}, "pattern"),
        ({"name": "google", "client_id": "a"}, "client_secret"),
        ({"name": "google", "client_id": "a", "client_secret": "b", "extra": 1}, "extra"),
    ],
)
def test_a_provider_that_cannot_work_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, provider: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _with(monkeypatch, [provider])


def test_an_http_issuer_on_a_loopback_host_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for host in ("127.0.0.1:9000", "localhost:9000", "[::1]:9000"):
        provider = {
            "name": "dev",
            "issuer": f"http://{host}",
            "client_id": "a",
            "client_secret": "b",
        }
        assert _with(monkeypatch, [provider]).oidc_providers[0].issuer == f"http://{host}"


def test_a_provider_name_given_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    google = {"name": "google", "client_id": "a", "client_secret": "b"}
    with pytest.raises(ValidationError, match="names a provider twice: google"):
        _with(monkeypatch, [google, google])


@pytest.mark.parametrize("url", ["/relative", "app.example.com/done", "https://a.example/#frag"])
def test_a_redirect_that_is_not_an_absolute_url_is_refused(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    with pytest.raises(ValidationError, match="GATEHOUSE_OAUTH_REDIRECT_URLS"):
        _with(monkeypatch, [], url)
