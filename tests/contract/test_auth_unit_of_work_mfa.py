"""The AuthUnitOfWork contract (tests/contract/auth_helpers.py), second factors: the MFA row of a
user, its backup codes (spent once, per user, replaced and deleted as a set) and the sign-in
challenges waiting for a second factor.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.contract.auth_helpers import (
    LATER,
    Side,
    a_challenge,
    a_hash,
    side_fixture,  # noqa: F401 - the fixture "side": each test runs against both sides
)
from tests.support.builders import T0


async def test_get_or_add_creates_the_row_once_and_returns_it_again(side: Side) -> None:
    user_id = uuid.uuid4()
    async with side.uow() as tx:
        assert await tx.mfa.get(user_id) is None
        first = await tx.mfa.get_or_add(user_id)
        assert (first.user_id, first.has_factor(), first.email_code_attempts) == (
            user_id,
            False,
            0,
        )
        first.enable_email(T0)
        second = await tx.mfa.get_or_add(user_id)
        assert second.email_enabled_at == T0  # the same row, with the change
        await tx.commit()

    async with side.uow() as tx:
        found = await tx.mfa.get(user_id)
        again = await tx.mfa.get_or_add(user_id)  # an existing row is not replaced
    assert found is not None
    assert found.email_enabled_at == T0
    assert again.email_enabled_at == T0


async def test_changes_to_an_mfa_row_are_kept_with_every_field_only_on_commit(
    side: Side,
) -> None:
    user_id = uuid.uuid4()
    code_hash = a_hash()
    async with side.uow() as tx:
        mfa = await tx.mfa.get_or_add(user_id)
        mfa.begin_totp("v1:pending", T0, timedelta(minutes=10))
        mfa.confirm_totp(55_000_000, T0)
        mfa.begin_totp("v1:next", T0, timedelta(minutes=10))
        mfa.enable_email(T0)
        mfa.issue_email_code(code_hash, T0 + timedelta(minutes=10))
        mfa.email_code_attempts = 2
        await tx.commit()

    async with side.uow() as tx:
        loaded = await tx.mfa.get(user_id, for_update=True)
        assert loaded is not None
        loaded.disable_totp()
        loaded.disable_email()
        # no commit

    async with side.uow() as tx:
        found = await tx.mfa.get(user_id)
    assert found is not None
    assert (
        found.totp_secret,
        found.totp_enabled_at,
        found.totp_last_step,
        found.totp_pending_secret,
        found.totp_pending_expires_at,
        found.email_enabled_at,
        found.email_code_hash,
        found.email_code_expires_at,
        found.email_code_attempts,
    ) == (
        "v1:pending",
        T0,
        55_000_000,
        "v1:next",
        T0 + timedelta(minutes=10),
        T0,
        code_hash,
        T0 + timedelta(minutes=10),
        2,
    )


async def test_a_backup_code_is_spent_once(side: Side) -> None:
    user_id = uuid.uuid4()
    codes = [a_hash() for _ in range(3)]
    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(user_id, codes, T0)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 3
        assert await tx.mfa.use_backup_code(user_id, [codes[0]], LATER) is True
        assert await tx.mfa.use_backup_code(user_id, [codes[0]], LATER) is False
        assert await tx.mfa.backup_codes_remaining(user_id) == 2
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.use_backup_code(user_id, [codes[0]], LATER) is False  # still spent
        assert await tx.mfa.use_backup_code(user_id, [a_hash()], LATER) is False
        # a code's hash under any key version: the one that matches is spent
        assert await tx.mfa.use_backup_code(user_id, [a_hash(), codes[1]], LATER) is True
        assert await tx.mfa.backup_codes_remaining(user_id) == 1
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 1


async def test_backup_codes_belong_to_their_user(side: Side) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    code = a_hash()
    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(owner, [code], T0)
        await tx.mfa.replace_backup_codes(other, [a_hash(), a_hash()], T0)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.use_backup_code(other, [code], LATER) is False
        await tx.mfa.delete_backup_codes(other)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(owner) == 1
        assert await tx.mfa.backup_codes_remaining(other) == 0
        assert await tx.mfa.use_backup_code(owner, [code], LATER) is True


async def test_a_new_set_of_backup_codes_voids_the_old_one(side: Side) -> None:
    user_id = uuid.uuid4()
    old = [a_hash() for _ in range(3)]
    new = [a_hash() for _ in range(2)]
    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(user_id, old, T0)
        assert await tx.mfa.use_backup_code(user_id, [old[0]], T0) is True
        await tx.commit()

    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(user_id, new, LATER)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 2
        assert await tx.mfa.use_backup_code(user_id, old[1:], LATER) is False
        assert await tx.mfa.use_backup_code(user_id, [new[0]], LATER) is True


async def test_deleted_backup_codes_are_gone_only_on_commit(side: Side) -> None:
    user_id = uuid.uuid4()
    code = a_hash()
    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(user_id, [code, a_hash()], T0)
        await tx.commit()

    async with side.uow() as tx:
        await tx.mfa.delete_backup_codes(user_id)
        assert await tx.mfa.backup_codes_remaining(user_id) == 0
        # no commit

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 2
        await tx.mfa.delete_backup_codes(user_id)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 0
        assert await tx.mfa.use_backup_code(user_id, [code], LATER) is False


async def test_a_committed_challenge_is_found_by_its_hash_and_its_answers_are_kept(
    side: Side,
) -> None:
    user_id = uuid.uuid4()
    challenge = a_challenge(user_id)
    async with side.uow() as tx:
        await tx.challenges.add(challenge)
        await tx.commit()

    async with side.uow() as tx:
        found = await tx.challenges.get(challenge.token_hash)
        assert await tx.challenges.get(a_hash()) is None
        assert found is not None
        assert (found.id, found.user_id, found.amr, found.created_at, found.expires_at) == (
            challenge.id,
            user_id,
            ("pwd",),
            T0,
            T0 + timedelta(minutes=5),
        )
        assert (found.attempts, found.used_at) == (0, None)
        assert found.fail(LATER) == 4
        await tx.commit()

    async with side.uow() as tx:
        found = await tx.challenges.get(challenge.token_hash)
        assert found is not None
        assert found.attempts == 1
        found.spend(LATER)
        # no commit

    async with side.uow() as tx:
        found = await tx.challenges.get(challenge.token_hash)
    assert found is not None
    assert (found.attempts, found.used_at) == (1, None)
    assert found.is_open(T0 + timedelta(minutes=1))
