"""The testing plugin's app fixtures as other teams use them: ``gatehouse_client`` on a database
of the test's own, ``make_user`` and the ``mail_sink`` (docs/testing.md)."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pyotp
import pytest

from gatehouse.main.app import create_app
from gatehouse.main.settings import Settings
from gatehouse.testing import (
    PASSWORD,
    MailSink,
    SignedInUser,
    UserFactory,
    code_in,
    link_in,
    sql,
    token_in,
    unique_email,
)
from gatehouse.testing.app import app_client
from gatehouse.testing.infra import Infra


def claims(user: SignedInUser) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(user.access_token, options={"verify_signature": False})
    return decoded


def test_the_settings_point_at_the_tests_own_database_and_at_the_mail_sink(
    gatehouse_settings: Settings,
    gatehouse_database_url: str,
    gatehouse_redis_url: str,
    mail_sink: MailSink,
    gatehouse_infra: Infra,
) -> None:
    assert gatehouse_settings.env == "test"
    assert gatehouse_settings.database_url == gatehouse_database_url
    assert gatehouse_database_url != gatehouse_infra.database_url  # not the worker's database
    assert gatehouse_settings.redis_url == gatehouse_redis_url == gatehouse_infra.redis_url
    assert gatehouse_settings.smtp_url == mail_sink.url
    assert gatehouse_settings.dispatch_in_serve
    assert gatehouse_settings.bcrypt_rounds == 4
    assert gatehouse_settings.lockout_free_attempts >= 1000


async def test_a_new_user_is_verified_signed_in_with_the_password_and_leaves_no_mail_behind(
    gatehouse_client: httpx.AsyncClient, make_user: UserFactory, mail_sink: MailSink
) -> None:
    user = await make_user()

    me = await gatehouse_client.get("/api/v1/me", headers=user.headers)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user.id
    assert me.json()["email"] == user.email
    assert me.json()["email_verified"] is True
    assert me.json()["roles"] == ["user"]
    assert user.password == PASSWORD
    assert user.totp_secret is None
    assert "mfa" not in claims(user)["amr"]
    refreshed = await gatehouse_client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert mail_sink.messages == []


async def test_an_admin_with_mfa_is_signed_in_with_a_second_factor_and_may_use_the_admin_api(
    gatehouse_client: httpx.AsyncClient,
    make_user: UserFactory,
    mail_sink: MailSink,
    gatehouse_settings: Settings,
) -> None:
    admin = await make_user(roles=("admin",), mfa=True)

    assert "mfa" in claims(admin)["amr"]
    assert "admin" in claims(admin)["roles"]
    assert admin.totp_secret is not None
    assert len(admin.backup_codes) == 9
    users = await gatehouse_client.get("/api/v1/admin/users", headers=admin.headers)
    assert users.status_code == 200, users.text
    # The making's mails (verification, two-step verification on, backup code used) are gone
    # from the sink and from the outbox: the test sees only its own.
    assert mail_sink.messages == []
    assert gatehouse_settings.database_url is not None
    pending = "SELECT count(*) FROM notifications_outbox WHERE status = 'pending'"
    assert await sql(gatehouse_settings.database_url, pending) == 0


async def test_an_admin_disables_an_account_and_its_token_stops_working(
    gatehouse_client: httpx.AsyncClient, make_user: UserFactory, gatehouse_database_url: str
) -> None:
    """The example of docs/testing.md."""
    admin = await make_user(roles=("admin",), mfa=True)
    target = await make_user()

    response = await gatehouse_client.patch(
        f"/api/v1/admin/users/{target.id}", json={"is_active": False}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert (await gatehouse_client.get("/api/v1/me", headers=target.headers)).status_code == 401
    query = "SELECT is_active FROM accounts_user WHERE id = $1::uuid"
    assert await sql(gatehouse_database_url, query, target.id) is False


async def test_the_next_totp_code_of_a_user_with_mfa_completes_a_sign_in(
    gatehouse_client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user(mfa=True, email="Someone.Else@Example.com", password="another pass")

    assert user.email == "someone.else@example.com"
    challenge = await gatehouse_client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": "another pass"}
    )
    assert challenge.status_code == 200, challenge.text
    verified = await gatehouse_client.post(
        "/api/v1/auth/mfa/verify",
        json={
            "mfa_token": challenge.json()["mfa_token"],
            "method": "totp",
            "code": user.next_totp_code(),
        },
    )
    assert verified.status_code == 200, verified.text


async def test_a_reset_mail_the_test_causes_arrives_and_its_link_carries_the_token(
    gatehouse_client: httpx.AsyncClient, make_user: UserFactory, mail_sink: MailSink
) -> None:
    user = await make_user()

    forgot = await gatehouse_client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    assert forgot.status_code == 202

    [mail] = await mail_sink.wait_for(1, to=user.email)
    assert mail_sink.to(user.email) == [mail]
    assert mail_sink.to("nobody@example.com") == []
    token = token_in(mail)
    assert f"token={token}" in link_in(mail)
    assert mail_sink.token_in(mail) == token
    reset = await gatehouse_client.post(
        "/api/v1/auth/password/reset",
        json={"token": token, "new_password": "a brand new passphrase"},
    )
    assert reset.status_code == 204, reset.text


async def test_the_code_of_a_verification_mail_verifies_the_address(
    gatehouse_client: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    email = unique_email("code")
    registered = await gatehouse_client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 202

    [mail] = await mail_sink.wait_for(to=email)
    verified = await gatehouse_client.post(
        "/api/v1/auth/verify-email", json={"email": email, "code": code_in(mail)}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True


async def test_an_unverified_user_is_refused_while_the_app_requires_verified_addresses(
    make_user: UserFactory,
) -> None:
    with pytest.raises(ValueError, match="require_verified_email"):
        await make_user(verified=False)


async def test_an_unverified_user_signs_in_where_the_app_does_not_require_verification(
    gatehouse_settings: Settings, mail_sink: MailSink
) -> None:
    lenient = gatehouse_settings.model_copy(update={"require_verified_email": False})
    async with app_client(create_app(lenient)) as client:
        user = await UserFactory(client, lenient, mail_sink)(verified=False)

        me = await client.get("/api/v1/me", headers=user.headers)
        assert me.json()["email_verified"] is False


async def test_waiting_for_more_mail_than_arrives_names_the_count_and_the_address(
    mail_sink: MailSink,
) -> None:
    with pytest.raises(TimeoutError, match=r"expected 1 message\(s\) to x@example.com"):
        await mail_sink.wait_for(1, timeout=0.01, to="x@example.com")


def test_the_totp_code_of_a_user_without_mfa_is_refused_with_a_reason() -> None:
    user = SignedInUser("id", "a@example.com", PASSWORD, "a", "r", {})
    with pytest.raises(AssertionError, match="no TOTP"):
        user.next_totp_code()
    assert pyotp.random_base32()  # pyotp is what next_totp_code uses for a user with TOTP
