"""An account imported with another system's password hash signs in with that password, and the
first success replaces the hash with the house scheme (real PostgreSQL, real libraries)."""

from __future__ import annotations

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import login, sql, unique_email, verified_user
from tests.support.imported_hashes import imported

IMPORTED = imported("$2y$")
STORED = "SELECT password_hash FROM accounts_user WHERE email = $1"


@pytest.mark.parametrize("scheme", IMPORTED)
async def test_an_imported_hash_signs_in_once_and_is_rehashed(
    client: httpx.AsyncClient, settings: Settings, scheme: str
) -> None:
    password, imported = IMPORTED[scheme]
    email = unique_email("imported")
    await verified_user(client, settings, email)
    await sql(
        settings, "UPDATE accounts_user SET password_hash = $1 WHERE email = $2", imported, email
    )

    wrong = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "nope, not it"}
    )
    assert wrong.status_code == 401
    assert (
        await sql(settings, "SELECT password_hash FROM accounts_user WHERE email = $1", email)
        == imported
    )

    await login(client, email, password)
    stored = await sql(settings, "SELECT password_hash FROM accounts_user WHERE email = $1", email)
    assert stored.startswith("gh1$")  # the house scheme from now on
    assert password not in stored
    await login(client, email, password)  # and the new hash works
