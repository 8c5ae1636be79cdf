"""The organizations module over HTTP: create, invite by mail (read from a real SMTP server),
accept once, list a page at a time, refusals as problems, and an account's deletion ending its
memberships in the same transaction."""

from __future__ import annotations

from typing import Any

import httpx
import jwt

from gatehouse.main.settings import Settings
from tests.e2e.admins import Admin, member
from tests.e2e.conftest import (
    PASSWORD,
    account,
    assert_problem,
    bearer,
    login,
    sql,
    token_in,
    unique_email,
    verified_user,
)

ORGANIZATIONS = "/api/v1/organizations"
ACCEPT = f"{ORGANIZATIONS}/invitations/accept"


def user_of(pair: dict[str, Any]) -> str:
    subject: str = jwt.decode(pair["access_token"], options={"verify_signature": False})["sub"]
    return subject


async def signed_in(client: httpx.AsyncClient, settings: Settings, prefix: str) -> dict[str, Any]:
    email = unique_email(prefix)
    await verified_user(client, settings, email)
    return await login(client, email)


async def create(client: httpx.AsyncClient, pair: dict[str, Any], name: str = "Engines") -> str:
    created = await client.post(ORGANIZATIONS, json={"name": name}, headers=bearer(pair))
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "owner"
    organization_id: str = created.json()["id"]
    return organization_id


async def join(
    client: httpx.AsyncClient,
    settings: Settings,
    smtp_server: Any,
    owner: dict[str, Any],
    org: str,
    prefix: str,
) -> dict[str, Any]:
    """A new verified account, invited by mail by ``owner`` and accepted; its token pair."""
    email = await account(client, settings, smtp_server, prefix)
    pair = await login(client, email)
    path = f"{ORGANIZATIONS}/{org}/invitations"
    sent = await client.post(path, json={"email": email}, headers=bearer(owner))
    assert sent.status_code == 201, sent.text
    [mail] = await smtp_server.wait_for(1)
    smtp_server.clear()
    accepted = await client.post(ACCEPT, json={"token": token_in(mail)}, headers=bearer(pair))
    assert accepted.status_code == 200, accepted.text
    return pair


async def test_an_owner_invites_by_mail_and_the_invited_user_accepts_once(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    owner_email = await account(client, settings, smtp_server, "owner")
    owner = await login(client, owner_email)
    invitee_email = await account(client, settings, smtp_server, "invitee")
    invitee = await login(client, invitee_email)
    stranger = await login(client, await account(client, settings, smtp_server, "stranger"))
    org = await create(client, owner, "Analytical Engines")

    sent = await client.post(
        f"{ORGANIZATIONS}/{org}/invitations",
        json={"email": invitee_email.upper(), "role": "member"},
        headers={**bearer(owner), "Accept-Language": "de"},
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["email"], sent.json()["role"]) == (invitee_email, "member")
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == invitee_email
    assert mail["Subject"] == "Sie sind eingeladen, Analytical Engines beizutreten"
    token = token_in(mail)
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    assert f"{settings.public_url}/accept-invitation?token={token}" in text.get_content()

    wrong = await client.post(ACCEPT, json={"token": token}, headers=bearer(stranger))
    assert_problem(wrong, 403, "invitation_email_mismatch")
    accepted = await client.post(ACCEPT, json={"token": token}, headers=bearer(invitee))
    assert accepted.status_code == 200, accepted.text
    assert {k: accepted.json()[k] for k in ("id", "name", "role")} == {
        "id": org,
        "name": "Analytical Engines",
        "role": "member",
    }
    again = await client.post(ACCEPT, json={"token": token}, headers=bearer(invitee))
    assert_problem(again, 400, "token_invalid")

    members = await client.get(f"{ORGANIZATIONS}/{org}/members", headers=bearer(invitee))
    assert members.status_code == 200
    assert {(m["email"], m["role"]) for m in members.json()["items"]} == {
        (owner_email, "owner"),
        (invitee_email, "member"),
    }
    hashed = await sql(
        settings,
        "SELECT count(*) FROM organizations_invitation WHERE organization_id = $1::uuid "
        "AND token_hash = sha256(convert_to($2, 'UTF8'))",
        org,
        token,
    )
    assert hashed == 1  # the token is stored as its SHA-256 only


async def test_my_organizations_are_listed_newest_first_a_page_at_a_time(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pair = await signed_in(client, settings, "lister")
    created = [await create(client, pair, f"Org {n}") for n in range(3)]

    first = await client.get(ORGANIZATIONS, params={"limit": 2}, headers=bearer(pair))
    assert first.status_code == 200
    cursor = first.json()["next_cursor"]
    assert cursor
    rest = await client.get(
        ORGANIZATIONS, params={"limit": 2, "cursor": cursor}, headers=bearer(pair)
    )
    ids = [o["id"] for o in first.json()["items"] + rest.json()["items"]]
    assert ids == list(reversed(created))
    assert rest.json()["next_cursor"] is None
    assert {o["role"] for o in first.json()["items"]} == {"owner"}

    bad = await client.get(ORGANIZATIONS, params={"cursor": "nope"}, headers=bearer(pair))
    assert_problem(bad, 422, "invalid_cursor")
    assert_problem(await client.get(ORGANIZATIONS), 401, "unauthenticated")


async def test_outsiders_are_told_not_found_and_members_may_not_act_as_owners(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    owner = await login(client, await account(client, settings, smtp_server, "owner"))
    org = await create(client, owner)
    plain = await join(client, settings, smtp_server, owner, org, "plain")
    outsider = await signed_in(client, settings, "outsider")
    members = f"{ORGANIZATIONS}/{org}/members"

    listed = await client.get(members, headers=bearer(outsider))
    assert_problem(listed, 404, "organization_not_found")
    removed = await client.delete(f"{members}/{user_of(owner)}", headers=bearer(outsider))
    assert_problem(removed, 404, "organization_not_found")
    invited = await client.post(
        f"{ORGANIZATIONS}/{org}/invitations",
        json={"email": unique_email("nope")},
        headers=bearer(plain),
    )
    assert_problem(invited, 403, "organization_owner_required")
    removed = await client.delete(f"{members}/{user_of(owner)}", headers=bearer(plain))
    assert_problem(removed, 403, "organization_owner_required")
    unknown = await client.delete(f"{members}/{user_of(outsider)}", headers=bearer(owner))
    assert_problem(unknown, 404, "member_not_found")
    assert_problem(
        await client.get(f"{ORGANIZATIONS}/not-a-uuid/members", headers=bearer(owner)),
        422,
        "validation_failed",
    )
    assert_problem(
        await client.post(ACCEPT, json={"token": "made-up"}, headers=bearer(outsider)),
        400,
        "token_invalid",
    )

    left = await client.delete(f"{members}/{user_of(plain)}", headers=bearer(plain))
    assert left.status_code == 204
    assert_problem(await client.get(members, headers=bearer(plain)), 404, "organization_not_found")


async def test_deleting_an_account_ends_its_memberships_in_the_same_transaction(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    owner = await login(client, await account(client, settings, smtp_server, "leaving"))
    org = await create(client, owner)
    staying = await join(client, settings, smtp_server, owner, org, "staying")

    deleted = await client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=bearer(owner)
    )
    assert deleted.status_code == 204, deleted.text

    gone = await sql(
        settings,
        "SELECT count(*) FROM organizations_membership WHERE user_id = $1::uuid",
        user_of(owner),
    )
    assert gone == 0
    role = await sql(
        settings,
        "SELECT role FROM organizations_membership WHERE organization_id = $1::uuid "
        "AND user_id = $2::uuid",
        org,
        user_of(staying),
    )
    assert role == "owner"  # the member who joined first took the owner's place


async def test_the_last_member_leaving_deletes_the_organization(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pair = await signed_in(client, settings, "last")
    org = await create(client, pair)

    left = await client.delete(
        f"{ORGANIZATIONS}/{org}/members/{user_of(pair)}", headers=bearer(pair)
    )

    assert left.status_code == 204
    assert (
        await sql(
            settings, "SELECT count(*) FROM organizations_organization WHERE id = $1::uuid", org
        )
        == 0
    )
    assert (await client.get(ORGANIZATIONS, headers=bearer(pair))).json()["items"] == []


async def test_only_administrators_list_every_organization(
    client: httpx.AsyncClient, settings: Settings, admin: Admin
) -> None:
    someone = await member(client, settings)
    org = await create(client, someone.pair, "Seen by admins")

    listed = await client.get("/api/v1/admin/organizations", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"][0] == {
        "id": org,
        "name": "Seen by admins",
        "created_at": listed.json()["items"][0]["created_at"],
    }
    refused = await client.get("/api/v1/admin/organizations", headers=bearer(someone.pair))
    assert_problem(refused, 403, "role_required")
