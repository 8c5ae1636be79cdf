"""A mail's parameters sealed while it waits in the outbox (ADR 0027): the sealer, and the
dispatcher opening them just before it renders the mail."""

from __future__ import annotations

import pytest

from gatehouse.modules.auth.adapters.secret_box import FernetSecretBox
from gatehouse.modules.notifications.adapters.outbox import FernetParamsSealer, stored_params
from gatehouse.modules.notifications.domain.errors import ParamsUnreadable
from gatehouse.modules.notifications.domain.model import SealedParams
from tests.support.containers import MFA_KEYS
from tests.unit.notifications.dispatching import Parts, handler

OLD, NEW = b"o" * 40, b"n" * 40
PARAMS = {"link": "https://x/verify-email?token=Zm9vYmFyYmF6", "code": "493027", "hours": "24"}


def test_sealed_params_hold_nothing_in_clear_and_open_to_what_was_sealed() -> None:
    sealer = FernetParamsSealer({1: OLD})
    sealed = sealer.seal({**PARAMS, "name": "Zoë 🗝"})
    assert sealed.text.startswith("v1:")
    # Not "24": two characters turn up in random base64 text one run in twenty.
    for value in (PARAMS["link"], PARAMS["code"], "Zoë", "link", "code"):
        assert value not in sealed.text
    assert sealer.open(sealed) == {**PARAMS, "name": "Zoë 🗝"}
    assert sealer.seal(PARAMS) != sealer.seal(PARAMS)  # a fresh IV every time
    assert "Zm9v" not in repr(sealed)


def test_after_a_rotation_the_new_key_seals_and_the_old_one_still_opens() -> None:
    old = FernetParamsSealer({1: OLD}).seal(PARAMS)
    rotated = FernetParamsSealer({1: OLD, 2: NEW})
    assert rotated.open(old) == PARAMS
    assert rotated.seal(PARAMS).text.startswith("v2:")
    with pytest.raises(ParamsUnreadable):
        FernetParamsSealer({2: NEW}).open(old)  # the old version dropped


def test_the_mfa_keys_seal_params_and_totp_seeds_under_unrelated_keys() -> None:
    seed = FernetSecretBox({1: OLD}).seal(b'{"link":"x"}')
    with pytest.raises(ParamsUnreadable):
        FernetParamsSealer({1: OLD}).open(SealedParams(seed))


def test_the_params_column_is_sealed_as_a_string_and_in_clear_as_an_object() -> None:
    assert stored_params("v1:abc") == SealedParams("v1:abc")
    assert stored_params({"link": "x"}) == {"link": "x"}  # written before sealing


async def test_sealed_params_are_opened_to_render_the_mail(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    rotated = FernetParamsSealer({0: b"z" * 40, **MFA_KEYS})  # what the app seals with
    row = store.add("verify_email", rotated.seal(PARAMS), clock.now())

    assert (await handler(parts)()).sent == 1

    [mail] = transport.sent
    assert PARAMS["link"] in mail.text
    assert PARAMS["code"] in mail.text
    assert row.message.params == {}


async def test_params_no_key_opens_dead_letter_the_mail_without_sending_it(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    dropped = FernetParamsSealer({7: b"d" * 40}).seal(PARAMS)
    row = store.add("verify_email", dropped, clock.now())
    behind = store.add("verify_email", PARAMS, clock.now())  # in clear: written before sealing

    result = await handler(parts)()

    assert (result.dead, result.sent) == (1, 1)
    assert (row.status, row.message.params) == ("dead", {})
    assert row.error is not None
    assert "key version 'v7'" in row.error
    assert PARAMS["code"] not in row.error
    assert behind.status == "sent"
    assert len(transport.sent) == 1
