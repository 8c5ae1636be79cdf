"""The building blocks of MFA: TOTP codes (RFC 6238, replay-proof) and sealed secrets."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from gatehouse.modules.auth.adapters.secret_box import FernetSecretBox
from gatehouse.modules.auth.adapters.totp import PyotpCodes
from gatehouse.modules.auth.application.ports import SecretUnreadable

CODES = PyotpCodes()
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
NOW = datetime(2026, 11, 22, 10, 0, 15, tzinfo=UTC)  # 15 s into a step


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(
    ("unix_time", "code"),
    [  # RFC 6238 appendix B, SHA-1: the last six digits of its eight-digit values
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ],
)
def test_the_rfc_6238_test_vectors_are_accepted(unix_time: int, code: str) -> None:
    assert CODES.accept(RFC_SECRET, code, at(unix_time), None) == unix_time // 30


@pytest.mark.skipif(shutil.which("oathtool") is None, reason="oathtool is not installed")
def test_codes_from_oathtool_an_independent_implementation_are_accepted() -> None:
    secret = CODES.new_secret()
    for moment in (NOW, NOW + timedelta(hours=5, seconds=7)):
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
        code = subprocess.run(
            ["oathtool", "--totp", "-b", secret, "--now", stamp],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert CODES.accept(secret, code, moment, None) == int(moment.timestamp()) // 30


def test_a_code_is_accepted_once_and_never_an_older_one_after_it() -> None:
    secret = CODES.new_secret()
    totp = pyotp.TOTP(secret)
    code = totp.at(NOW)
    step = CODES.accept(secret, code, NOW, None)
    assert step == int(NOW.timestamp()) // 30
    assert CODES.accept(secret, code, NOW, step) is None  # replay
    previous = totp.at(NOW - timedelta(seconds=30))
    assert CODES.accept(secret, previous, NOW, step) is None  # older than the last one used
    following = totp.at(NOW + timedelta(seconds=30))
    assert CODES.accept(secret, following, NOW, step) == step + 1


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-46, False), (-45, True), (-15, True), (0, True), (14, True), (44, True), (45, False)],
)
def test_one_step_either_side_is_accepted_and_no_more(offset: int, accepted: bool) -> None:
    """NOW is 15 s into its step, so the window runs from 45 s before NOW to 45 s after it
    (the previous step's start to the next step's end)."""
    secret = CODES.new_secret()
    code = pyotp.TOTP(secret).at(NOW + timedelta(seconds=offset))
    assert (CODES.accept(secret, code, NOW, None) is not None) is accepted


def test_a_code_two_steps_away_is_refused() -> None:
    secret = CODES.new_secret()
    for offset in (-75, 60):
        code = pyotp.TOTP(secret).at(NOW + timedelta(seconds=offset))
        assert CODES.accept(secret, code, NOW, None) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", "１２３４５６"])
def test_malformed_codes_are_refused(code: str) -> None:
    assert CODES.accept(CODES.new_secret(), code, NOW, None) is None


def test_new_secrets_are_160_bit_base32_and_the_uri_names_the_account() -> None:
    secret = CODES.new_secret()
    assert len(secret) == 32
    assert len({CODES.new_secret() for _ in range(100)}) == 100
    uri = CODES.provisioning_uri(secret, "ada@example.com", "Gatehouse")
    assert uri.startswith("otpauth://totp/Gatehouse:ada%40example.com?")
    assert f"secret={secret}" in uri
    assert "issuer=Gatehouse" in uri


def test_sealed_secrets_open_and_carry_their_key_version() -> None:
    box = FernetSecretBox({1: b"k" * 40})
    sealed = box.seal(b"JBSWY3DPEHPK3PXP")
    assert sealed.startswith("v1:")
    assert b"JBSWY3DPEHPK3PXP" not in sealed.encode()
    assert box.open(sealed) == b"JBSWY3DPEHPK3PXP"
    assert box.seal(b"x") != box.seal(b"x")  # a fresh IV every time


def test_a_secret_sealed_before_the_recipe_moved_to_the_shared_kernel_still_opens() -> None:
    sealed = (  # FernetSecretBox({1: b"k" * 40}).seal(b"JBSWY3DPEHPK3PXP"), before ADR 0027
        "v1:gAAAAABrE-pytNCVIzulHPemz1StYYx3yqStBIJEDRvfcqRjPcWL-hrGJ68jXuxOlrWr-hGkZspmzi8jZ"
        "-rwfXkyv3BOzCYkPkVH0t-E_oGssXceZEKh-FM="
    )
    assert FernetSecretBox({1: b"k" * 40}).open(sealed) == b"JBSWY3DPEHPK3PXP"


def test_a_new_key_version_seals_new_secrets_and_still_opens_old_ones() -> None:
    old = FernetSecretBox({1: b"k" * 40}).seal(b"seed")
    rotated = FernetSecretBox({1: b"k" * 40, 2: b"q" * 40})
    assert rotated.open(old) == b"seed"
    assert not rotated.is_current(old)
    assert rotated.seal(b"seed").startswith("v2:")
    assert rotated.is_current(rotated.seal(b"seed"))


@pytest.mark.parametrize(
    "sealed",
    ["v3:gAAAA", "1:abc", "vx:abc", "", "v1:not-a-fernet-token", "v1:é"],
)
def test_unreadable_sealed_values_raise(sealed: str) -> None:
    with pytest.raises(SecretUnreadable):
        FernetSecretBox({1: b"k" * 40}).open(sealed)


def test_a_value_sealed_under_another_key_does_not_open() -> None:
    sealed = FernetSecretBox({1: b"k" * 40}).seal(b"seed")
    with pytest.raises(SecretUnreadable):
        FernetSecretBox({1: b"z" * 40}).open(sealed)
