"""The organizations module over HTTP, tested the way another team tests a module of its own:
with the testing plugin's fixtures only (``gatehouse_client`` on a database of the test's own,
``make_user``, ``mail_sink``; docs/testing.md). Create, invite by mail (read from a real SMTP
server), accept once, list a page at a time, refusals as problems, and an account's deletion
ending its memberships in the same transaction."""

from __future__ import annotations

import httpx

from gatehouse.main.settings import Settings
from gatehouse.testing import (
    MailSink,
    SignedInUser,
    UserFactory,
    assert_problem,
    sql,
    token_in,
    unique_email,
)

ORGANIZATIONS = "/api/v1/organizations"
ACCEPT = f"{ORGANIZATIONS}/invitations/accept"


async def create(client: httpx.AsyncClient, owner: SignedInUser, name: str = "Engines") -> str:
    created = await client.post(ORGANIZATIONS, json={"name": name}, headers=owner.headers)
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "owner"
    organization_id: str = created.json()["id"]
    return organization_id


async def join(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    mail_sink: MailSink,
    owner: SignedInUser,
    org: str,
) -> SignedInUser:
    """A new signed-in user, invited by mail by ``owner`` and accepted."""
    user = await make_user()
    sent = await client.post(
        f"{ORGANIZATIONS}/{org}/invitations", json={"email": user.email}, headers=owner.headers
    )
    assert sent.status_code == 201, sent.text
    [mail] = await mail_sink.wait_for(1, to=user.email)
    accepted = await client.post(ACCEPT, json={"token": token_in(mail)}, headers=user.headers)
    assert accepted.status_code == 200, accepted.text
    return user


async def test_an_owner_invites_by_mail_and_the_invited_user_accepts_once(
    gatehouse_client: httpx.AsyncClient,
    make_user: UserFactory,
    mail_sink: MailSink,
    gatehouse_settings: Settings,
    gatehouse_database_url: str,
) -> None:
    client = gatehouse_client
    owner, invitee, stranger = await make_user(), await make_user(), await make_user()
    org = await create(client, owner, "Analytical Engines")

    sent = await client.post(
        f"{ORGANIZATIONS}/{org}/invitations",
        json={"email": invitee.email.upper(), "role": "member"},
        headers={**owner.headers, "Accept-Language": "de"},
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["email"], sent.json()["role"]) == (invitee.email, "member")
    [mail] = await mail_sink.wait_for(1)
    assert mail["To"] == invitee.email
    assert mail["Subject"] == "Sie sind eingeladen, Analytical Engines beizutreten"
    token = token_in(mail)
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    assert f"{gatehouse_settings.public_url}/accept-invitation?token={token}" in text.get_content()

    wrong = await client.post(ACCEPT, json={"token": token}, headers=stranger.headers)
    assert_problem(wrong, 403, "invitation_email_mismatch")
    accepted = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)
    assert accepted.status_code == 200, accepted.text
    assert {k: accepted.json()[k] for k in ("id", "name", "role")} == {
        "id": org,
        "name": "Analytical Engines",
        "role": "member",
    }
    again = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)
    assert_problem(again, 400, "token_invalid")

    members = await client.get(f"{ORGANIZATIONS}/{org}/members", headers=invitee.headers)
    assert members.status_code == 200
    assert {(m["email"], m["role"]) for m in members.json()["items"]} == {
        (owner.email, "owner"),
        (invitee.email, "member"),
    }
    hashed = await sql(
        gatehouse_database_url,
        "SELECT count(*) FROM organizations_invitation WHERE organization_id = $1::uuid "
        "AND token_hash = sha256(convert_to($2, 'UTF8'))",
        org,
        token,
    )
    assert hashed == 1  # the token is stored as its SHA-256 only


async def test_my_organizations_are_listed_newest_first_a_page_at_a_time(
    gatehouse_client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    client = gatehouse_client
    user = await make_user()
    created = [await create(client, user, f"Org {n}") for n in range(3)]

    first = await client.get(ORGANIZATIONS, params={"limit": 2}, headers=user.headers)
    assert first.status_code == 200
    cursor = first.json()["next_cursor"]
    assert cursor
    rest = await client.get(
        ORGANIZATIONS, params={"limit": 2, "cursor": cursor}, headers=user.headers
    )
    ids = [o["id"] for o in first.json()["items"] + rest.json()["items"]]
    assert ids == list(reversed(created))
    assert rest.json()["next_cursor"] is None
    assert {o["role"] for o in first.json()["items"]} == {"owner"}

    bad = await client.get(ORGANIZATIONS, params={"cursor": "nope"}, headers=user.headers)
    assert_problem(bad, 422, "invalid_cursor")
    assert_problem(await client.get(ORGANIZATIONS), 401, "unauthenticated")


async def test_outsiders_are_told_not_found_and_members_may_not_act_as_owners(
    gatehouse_client: httpx.AsyncClient, make_user: UserFactory, mail_sink: MailSink
) -> None:
    client = gatehouse_client
    owner = await make_user()
    org = await create(client, owner)
    plain = await join(client, make_user, mail_sink, owner, org)
    outsider = await make_user()
    members = f"{ORGANIZATIONS}/{org}/members"

    listed = await client.get(members, headers=outsider.headers)
    assert_problem(listed, 404, "organization_not_found")
    removed = await client.delete(f"{members}/{owner.id}", headers=outsider.headers)
    assert_problem(removed, 404, "organization_not_found")
    invited = await client.post(
        f"{ORGANIZATIONS}/{org}/invitations",
        json={"email": unique_email("nope")},
        headers=plain.headers,
    )
    assert_problem(invited, 403, "organization_owner_required")
    removed = await client.delete(f"{members}/{owner.id}", headers=plain.headers)
    assert_problem(removed, 403, "organization_owner_required")
    unknown = await client.delete(f"{members}/{outsider.id}", headers=owner.headers)
    assert_problem(unknown, 404, "member_not_found")
    assert_problem(
        await client.get(f"{ORGANIZATIONS}/not-a-uuid/members", headers=owner.headers),
        422,
        "validation_failed",
    )
    assert_problem(
        await client.post(ACCEPT, json={"token": "made-up"}, headers=outsider.headers),
        400,
        "token_invalid",
    )

    left = await client.delete(f"{members}/{plain.id}", headers=plain.headers)
    assert left.status_code == 204
    assert_problem(await client.get(members, headers=plain.headers), 404, "organization_not_found")


async def test_deleting_an_account_ends_its_memberships_in_the_same_transaction(
    gatehouse_client: httpx.AsyncClient,
    make_user: UserFactory,
    mail_sink: MailSink,
    gatehouse_database_url: str,
) -> None:
    client = gatehouse_client
    owner = await make_user()
    org = await create(client, owner)
    staying = await join(client, make_user, mail_sink, owner, org)

    deleted = await client.request(
        "DELETE", "/api/v1/me", json={"password": owner.password}, headers=owner.headers
    )
    assert deleted.status_code == 204, deleted.text

    gone = await sql(
        gatehouse_database_url,
        "SELECT count(*) FROM organizations_membership WHERE user_id = $1::uuid",
        owner.id,
    )
    assert gone == 0
    role = await sql(
        gatehouse_database_url,
        "SELECT role FROM organizations_membership WHERE organization_id = $1::uuid "
        "AND user_id = $2::uuid",
        org,
        staying.id,
    )
    assert role == "owner"  # the member who joined first took the owner's place


async def test_the_last_member_leaving_deletes_the_organization(
    gatehouse_client: httpx.AsyncClient, make_user: UserFactory, gatehouse_database_url: str
) -> None:
    client = gatehouse_client
    user = await make_user()
    org = await create(client, user)

    left = await client.delete(f"{ORGANIZATIONS}/{org}/members/{user.id}", headers=user.headers)

    assert left.status_code == 204
    query = "SELECT count(*) FROM organizations_organization WHERE id = $1::uuid"
    assert await sql(gatehouse_database_url, query, org) == 0
    assert (await client.get(ORGANIZATIONS, headers=user.headers)).json()["items"] == []


async def test_only_administrators_list_every_organization(
    gatehouse_client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    client = gatehouse_client
    someone = await make_user()
    admin = await make_user(roles=("admin",), mfa=True)
    org = await create(client, someone, "Seen by admins")

    listed = await client.get("/api/v1/admin/organizations", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"][0] == {
        "id": org,
        "name": "Seen by admins",
        "created_at": listed.json()["items"][0]["created_at"],
    }
    refused = await client.get("/api/v1/admin/organizations", headers=someone.headers)
    assert_problem(refused, 403, "role_required")
