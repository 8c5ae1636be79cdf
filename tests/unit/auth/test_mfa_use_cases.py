"""MFA domain rules and use cases, through in-memory fakes (the crypto adapters are the real,
pure ones: they need no infrastructure)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pyotp
import pytest
from dependency_injector import providers

from gatehouse.modules.accounts.application.public import (
    EmailNotVerified,
    MfaSummary,
    ReauthFailed,
)
from gatehouse.modules.auth.adapters.mfa_crypto import HmacCodeHasher
from gatehouse.modules.auth.adapters.secret_box import FernetSecretBox
from gatehouse.modules.auth.adapters.totp import PyotpCodes
from gatehouse.modules.auth.application.email_codes import SendEmailCode
from gatehouse.modules.auth.application.factor_management import (
    Caller,
    ConfirmTotp,
    MfaChange,
)
from gatehouse.modules.auth.application.ports import QrCodes, SignInAttempt
from gatehouse.modules.auth.domain.errors import (
    MailCapReached,
    TooManyAttempts,
    TotpEnrolmentMissing,
)
from gatehouse.modules.auth.domain.lockout import LockoutPolicy
from gatehouse.modules.auth.domain.mfa import (
    MfaChallenge,
    MfaMethod,
    UserMfa,
    amr_after,
    normalize_backup_code,
)
from gatehouse.shared.principal import Principal
from gatehouse.shared.step_up import StepUpProof
from tests.support.clock import FixedClock
from tests.support.containers import MFA_KEYS, auth_container, with_uow
from tests.support.fakes import (
    FakeAccessTokenIssuer,
    FakeAccountDirectory,
    FakeMailCaps,
    InMemoryAuthUnitOfWork,
    InMemoryLockout,
    InMemorySessionRevocations,
)

USER = uuid.uuid4()
KEYS = MFA_KEYS
BOX = FernetSecretBox(KEYS)
HASHER = HmacCodeHasher(KEYS)
TOTP = PyotpCodes()
PRINCIPAL = Principal(USER, uuid.uuid4(), ("user",), ("pwd",), "jti")
EMAIL = "ada@example.com"  # the fake directory's account: the lockout counts against it


class Qr(QrCodes):
    def svg(self, data: str) -> str:
        return f"<svg>{data}</svg>"


class World:
    """The auth container with fakes for its infrastructure (its wiring is the app's)."""

    def __init__(self, *, verified: bool = True, caps: bool = True) -> None:
        self.uow = InMemoryAuthUnitOfWork()
        self.clock = FixedClock()
        self.directory = FakeAccountDirectory(USER, password="right", email_verified=verified)
        self.lockout = InMemoryLockout(self.clock)
        self.auth = auth_container(
            clock=self.clock,
            accounts=self.directory,
            tokens=FakeAccessTokenIssuer(),
            revocations=InMemorySessionRevocations(self.clock),
            caps=FakeMailCaps(None if caps else 0),
            lockout=self.lockout,
            qr=Qr(),
        )
        with_uow(self.auth, self.uow)

    def change(self) -> MfaChange:
        return MfaChange(StepUpProof(USER, "pwd", self.clock.now()), Caller(locale="de"))

    async def enrolled(self) -> tuple[str, list[str]]:
        secret = TOTP.new_secret()
        self.uow.committed.mfa[USER] = UserMfa(user_id=USER)
        self.uow.committed.mfa[USER].begin_totp(
            BOX.seal(secret.encode()), self.clock.now(), timedelta(minutes=15)
        )
        code = pyotp.TOTP(secret).at(self.clock.now())
        codes = await self.auth.confirm_totp()(ConfirmTotp(USER, code))
        return secret, codes


def test_methods_are_offered_only_with_a_factor_and_in_a_stable_order() -> None:
    mfa = UserMfa(user_id=USER)
    assert mfa.methods(backup_codes=10) == ()  # backup codes alone are no factor
    mfa.enable_email(FixedClock().now())
    assert mfa.methods(backup_codes=0) == (MfaMethod.EMAIL,)
    mfa.totp_secret = "v1:sealed"
    assert mfa.methods(backup_codes=2) == (
        MfaMethod.TOTP,
        MfaMethod.EMAIL,
        MfaMethod.BACKUP_CODE,
    )
    assert amr_after(("pwd",), MfaMethod.TOTP) == ("pwd", "otp", "mfa")


def test_an_emailed_code_is_newest_only_and_dies_after_five_wrong_tries() -> None:
    now = FixedClock().now()
    mfa = UserMfa(user_id=USER)
    mfa.enable_email(now)
    mfa.issue_email_code(b"old", now + timedelta(minutes=10))
    mfa.issue_email_code(b"new", now + timedelta(minutes=10))
    assert not mfa.spend_email_code([b"old"], now)
    assert mfa.spend_email_code([b"new"], now)
    assert not mfa.spend_email_code([b"new"], now)  # spent

    mfa.issue_email_code(b"code", now + timedelta(minutes=10))
    for _ in range(5):
        assert not mfa.spend_email_code([b"wrong"], now)
    assert not mfa.spend_email_code([b"code"], now)  # the fifth wrong try ended it
    mfa.issue_email_code(b"late", now + timedelta(minutes=10))
    assert not mfa.spend_email_code([b"late"], now + timedelta(minutes=10))


def test_a_challenge_is_void_after_its_fifth_failure() -> None:
    now = FixedClock().now()
    challenge = MfaChallenge(
        id=uuid.uuid4(),
        token_hash=b"h",
        user_id=USER,
        amr=("pwd",),
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    assert [challenge.fail(now) for _ in range(4)] == [4, 3, 2, 1]
    assert challenge.is_open(now)
    assert challenge.fail(now) == 0
    assert not challenge.is_open(now)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("abcde12345", "abcde12345"),
        (" ABCDE-12345 ", "abcde12345"),
        ("abcde 12345", "abcde12345"),
        ("oabcdeil12", "0abcde1112"),  # Crockford: O is 0, I and L are 1
        ("abcde1234", None),
        ("abcde12345u", None),
        ("abcdeu2345", None),  # no U in the alphabet
        ("ａbcde12345", None),  # a full-width letter
    ],
)
def test_backup_codes_are_read_the_way_people_type_them(typed: str, stored: str | None) -> None:
    assert normalize_backup_code(typed) == stored


def test_code_hashes_are_keyed_bound_to_the_user_and_survive_a_key_rotation() -> None:
    rotated = HmacCodeHasher({1: b"k" * 32, 2: b"n" * 32})
    assert HASHER.digest(USER, "123456") != HASHER.digest(uuid.uuid4(), "123456")
    assert HmacCodeHasher({1: b"x" * 32}).digest(USER, "1") != HASHER.digest(USER, "1")
    assert rotated.digest(USER, "123456") != HASHER.digest(USER, "123456")  # newest key
    assert HASHER.digest(USER, "123456") in rotated.candidates(USER, "123456")


async def test_confirming_needs_a_pending_setup_that_has_not_expired() -> None:
    world = World()
    with pytest.raises(TotpEnrolmentMissing):
        await world.auth.confirm_totp()(ConfirmTotp(USER, "123456"))
    secret = TOTP.new_secret()
    world.uow.committed.mfa[USER] = UserMfa(user_id=USER)
    world.uow.committed.mfa[USER].begin_totp(
        BOX.seal(secret.encode()), world.clock.now(), timedelta(minutes=15)
    )
    world.clock.advance(timedelta(minutes=15))
    code = pyotp.TOTP(secret).at(world.clock.now())
    with pytest.raises(TotpEnrolmentMissing):
        await world.auth.confirm_totp()(ConfirmTotp(USER, code))


async def test_confirming_turns_totp_on_with_ten_hashed_codes_a_summary_and_a_notice() -> None:
    world = World()
    _, codes = await world.enrolled()
    state = world.uow.committed
    assert len(codes) == 10
    assert set(state.backup_codes) == {(USER, HASHER.digest(USER, code)) for code in codes}
    assert state.summaries[USER] == MfaSummary(totp=True, email=False, backup_codes_remaining=10)
    assert [e.type for e in state.events] == ["mfa.totp_enabled"]
    [mail] = state.mails
    assert (mail.template, mail.params["change"]) == ("mfa_changed", "totp_enabled")


async def test_turning_the_last_factor_off_drops_the_backup_codes() -> None:
    world = World()
    await world.enrolled()
    await world.auth.disable_totp()(world.change())
    state = world.uow.committed
    assert state.backup_codes == {}
    assert state.summaries[USER] == MfaSummary()
    assert state.mails[-1].locale == "de"  # the caller's language; the account saved none


async def test_email_codes_need_a_verified_address_and_respect_the_mail_caps() -> None:
    unverified = World(verified=False)
    with pytest.raises(EmailNotVerified):
        await unverified.auth.enable_email_factor()(unverified.change())
    world = World(caps=False)
    await world.auth.enable_email_factor()(world.change())
    with pytest.raises(MailCapReached):
        await world.auth.send_email_code()(SendEmailCode(user_id=USER))
    assert world.uow.committed.mfa[USER].email_code_hash is None
    assert [m.template for m in world.uow.committed.mails] == ["mfa_changed"]


async def test_step_up_by_code_spends_it_and_wrong_ones_are_counted() -> None:
    world = World()
    secret, codes = await world.enrolled()
    lockout = world.lockout
    step_up = world.auth.step_up()
    with pytest.raises(ReauthFailed):
        await step_up.prove(PRINCIPAL, password=None, code="000000", ip="192.0.2.1")
    assert lockout.streak("account", EMAIL).failures == 1
    assert lockout.streak("ip", "192.0.2.1").failures == 1
    world.clock.advance(timedelta(seconds=30))
    code = pyotp.TOTP(secret).at(world.clock.now())
    proof = await step_up.prove(PRINCIPAL, password=None, code=code)
    assert (proof.user_id, proof.method) == (USER, "totp")
    assert lockout.streak("account", EMAIL).failures == 0
    with pytest.raises(ReauthFailed):  # the same code again
        await step_up.prove(PRINCIPAL, password=None, code=code)

    backup = await step_up.prove(PRINCIPAL, password=None, code=codes[0], locale="de")
    assert backup.method == "backup_code"
    notice = world.uow.committed.mails[-1]
    assert (notice.template, notice.params["remaining"], notice.locale) == (
        "backup_code_used",
        "9",
        "de",
    )
    assert (await step_up.prove(PRINCIPAL, password="right", code=None)).method == "pwd"


async def test_a_blocked_step_up_checks_nothing() -> None:
    world = World()
    lockout = InMemoryLockout(world.clock, policy=LockoutPolicy(free=1))
    await lockout.admit(SignInAttempt(EMAIL, None))
    await lockout.failed(SignInAttempt(EMAIL, None))  # one failure locks the account
    world.auth.lockout.override(providers.Object(lockout))
    step_up = world.auth.step_up()
    with pytest.raises(TooManyAttempts):
        await step_up.prove(PRINCIPAL, password="right", code=None)
    assert world.directory.reauthenticated == 0
