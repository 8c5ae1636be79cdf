from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from gatehouse.main.http.middleware import TrustedProxies
from gatehouse.main.secrets import SecretsError, load_mfa_keys, load_peppers, parse_versioned
from gatehouse.main.settings import Settings
from gatehouse.modules.notifications.adapters.transports import SmtpConfig
from gatehouse.shared.http.locale import preferred_locale
from gatehouse.shared.ids import new_id


def test_new_ids_are_uuid7_carrying_the_current_unix_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after
    assert len({new_id() for _ in range(1000)}) == 1000


def test_ids_from_one_process_strictly_increase_even_within_a_millisecond() -> None:
    ids = [new_id() for _ in range(10_000)]  # thousands per millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 for i in ids)


def test_settings_read_comma_separated_lists_and_refuse_a_cors_wildcard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEHOUSE_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("GATEHOUSE_PUBLIC_URL", "https://id.example.com/")
    settings = Settings(_env_file=None)
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.public_url == "https://id.example.com"
    assert settings.send_hsts
    monkeypatch.setenv("GATEHOUSE_CORS_ORIGINS", "*")
    with pytest.raises(ValueError, match="refused"):
        Settings(_env_file=None)


def test_settings_come_from_gatehouse_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEHOUSE_BCRYPT_ROUNDS", "10")
    monkeypatch.setenv("GATEHOUSE_REQUIRE_VERIFIED_EMAIL", "false")
    monkeypatch.setenv("GATEHOUSE_JWT_AUDIENCE", "api")
    settings = Settings(_env_file=None)
    assert settings.bcrypt_rounds == 10
    assert not settings.require_verified_email
    assert settings.jwt_audience == "api"


def test_production_refuses_to_start_without_a_pepper_or_mfa_keys() -> None:
    settings = Settings(_env_file=None, env="production")
    with pytest.raises(SecretsError, match="GATEHOUSE_PASSWORD_PEPPERS"):
        load_peppers(settings)
    with pytest.raises(SecretsError, match="GATEHOUSE_MFA_ENCRYPTION_KEYS"):
        load_mfa_keys(settings)


def test_mfa_keys_are_versioned_and_checked_like_peppers(tmp_path: Path) -> None:
    key = "0123456789abcdefghijklmnopqrstuv"
    settings = Settings(_env_file=None, env="production", mfa_encryption_keys=SecretStr(f"3:{key}"))
    assert load_mfa_keys(settings) == {3: key.encode()}
    weak = Settings(_env_file=None, env="production", mfa_encryption_keys=SecretStr("1:changeme"))
    with pytest.raises(SecretsError, match="GATEHOUSE_MFA_ENCRYPTION_KEYS version 1"):
        load_mfa_keys(weak)
    dev = Settings(_env_file=None, data_dir=tmp_path)
    assert load_mfa_keys(dev) == load_mfa_keys(dev) != load_peppers(dev)


@pytest.mark.parametrize(
    "raw",
    ["changeme", "1:short", "1:" + "changeme" * 4, "1:", "x:" + "a" * 40, "", "1:" + "a" * 40],
)
def test_weak_or_malformed_peppers_are_refused(raw: str) -> None:
    with pytest.raises(SecretsError):
        parse_versioned(raw)


def test_versioned_peppers_parse() -> None:
    one, two = "0123456789abcdefghijklmnopqrstuv", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd"
    assert parse_versioned(f"1:{one}, 2:{two}") == {1: one.encode(), 2: two.encode()}


def test_dev_mode_generates_a_pepper_once_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    first = load_peppers(settings)
    assert load_peppers(settings) == first
    assert (tmp_path / "secrets" / "pepper-1").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail:1025", ("mail", 1025, None, None, False, False)),
        ("smtps://u%40x:p%3Aw@mail", ("mail", 465, "u@x", "p:w", True, False)),
        ("smtp://u:p@mail:587?starttls=true", ("mail", 587, "u", "p", False, True)),
    ],
)
def test_smtp_url_parsing(url: str, expected: tuple[object, ...]) -> None:
    c = SmtpConfig.from_url(url, timeout=5)
    assert (c.host, c.port, c.username, c.password, c.implicit_tls, c.starttls) == expected


@pytest.mark.parametrize("url", ["http://mail", "smtp://", "mail:25"])
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="GATEHOUSE_SMTP_URL"):
        SmtpConfig.from_url(url, timeout=5)


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.client_ip("203.0.113.5", "198.51.100.1") == "203.0.113.5"
    assert proxies.client_ip("10.1.2.3", "198.51.100.1, 10.9.9.9") == "198.51.100.1"
    assert proxies.client_ip("10.1.2.3", "spoofed, 198.51.100.7") == "198.51.100.7"
    assert proxies.client_ip("10.1.2.3", None) == "10.1.2.3"
    assert proxies.client_ip("10.1.2.3", "garbage") == "10.1.2.3"
    assert TrustedProxies([]).client_ip("10.1.2.3", "198.51.100.1") == "10.1.2.3"


def test_remembered_answers_are_the_same_and_the_memory_is_bounded() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    addresses = [f"198.51.{n // 256}.{n % 256}" for n in range(TrustedProxies.CACHED + 500)]
    for _ in range(2):  # the second pass answers partly from memory, partly anew
        for address in addresses:
            assert proxies.client_ip("10.1.2.3", f"{address}, 10.9.9.9") == address
        assert proxies.client_ip("203.0.113.5", "198.51.100.1") == "203.0.113.5"
    remembered = len(addresses) + 1
    assert proxies._decide.cache_info().currsize == min(remembered, TrustedProxies.CACHED)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("de", "de"),
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR, fr;q=0.9, de;q=0.5, en;q=0.3", "de"),
        ("en;q=0.5, de;q=0.6", "de"),
        ("de;q=0, en", "en"),
        ("de;q=nonsense, en;q=0.1", "en"),
        ("fr", "en"),
        ("*", "en"),
        ("DE", "de"),
    ],
)
def test_the_mail_locale_is_the_best_ranked_supported_language(
    header: str | None, expected: str
) -> None:
    assert preferred_locale(header, ("de", "en")) == expected
