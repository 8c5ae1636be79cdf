"""Hashes from other systems: each made by its own library (or a published vector), checked,
refused when malformed, and always due for a rehash into the house scheme."""

from __future__ import annotations

import bcrypt
import pytest

from gatehouse.modules.accounts.adapters import imported_hashes
from gatehouse.modules.accounts.adapters.password_hasher import BcryptPasswordHasher
from gatehouse.modules.accounts.domain.model import PasswordHash
from tests.support.imported_hashes import DJANGO, PASSWORD, argon2id_hash, bcrypt_hash


@pytest.fixture
def hasher() -> BcryptPasswordHasher:
    return BcryptPasswordHasher({1: b"p" * 32}, rounds=4, concurrency=2, queue_limit=4)


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
async def test_bcrypt_of_every_prefix(hasher: BcryptPasswordHasher, prefix: str) -> None:
    hashed = PasswordHash(bcrypt_hash(PASSWORD, prefix))
    assert await hasher.verify(PASSWORD, hashed)
    assert not await hasher.verify(PASSWORD + "!", hashed)
    assert hasher.needs_rehash(hashed)


async def test_bcrypt_reads_72_bytes_as_the_system_that_made_it_did(
    hasher: BcryptPasswordHasher,
) -> None:
    long = "x" * 72
    hashed = PasswordHash(bcrypt.hashpw(long.encode(), bcrypt.gensalt(4)).decode())
    assert await hasher.verify(long + "anything after", hashed)


async def test_argon2id_phc_strings(hasher: BcryptPasswordHasher) -> None:
    hashed = PasswordHash(argon2id_hash(PASSWORD))
    assert await hasher.verify(PASSWORD, hashed)
    assert not await hasher.verify("wrong", hashed)
    assert hasher.needs_rehash(hashed)


async def test_django_pbkdf2_sha256_known_vector(hasher: BcryptPasswordHasher) -> None:
    hashed = PasswordHash(DJANGO)
    assert await hasher.verify("lètmein", hashed)
    assert not await hasher.verify("letmein", hashed)
    assert hasher.needs_rehash(hashed)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("md5$abc$def", "unsupported password hash"),
        ("$2b$04$tooshort", "malformed bcrypt hash"),
        ("$2b$99$" + "a" * 53, "malformed bcrypt hash"),
        ("$argon2id$v=19$m=8,t=1,p=1$bm90IGJhc2U2NA", "malformed argon2id hash"),
        ("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "costs more"),
        ("pbkdf2_sha256$0$salt$" + "A" * 44, "malformed pbkdf2_sha256 hash"),
        ("pbkdf2_sha256$99999999$salt$" + "A" * 44, "malformed pbkdf2_sha256 hash"),
        ("pbkdf2_sha256$1000$salt$not-base64!", "malformed pbkdf2_sha256 hash"),
        ("pbkdf2_sha256$1000$salt$QUJD", "malformed pbkdf2_sha256 hash"),  # 3 bytes, not 32
        ("pbkdf2_sha256$1000$$" + "A" * 44, "malformed pbkdf2_sha256 hash"),
    ],
)
async def test_malformed_hashes_are_named_and_never_verify(
    hasher: BcryptPasswordHasher, value: str, reason: str
) -> None:
    problem = imported_hashes.problem(value)
    assert problem is not None
    assert reason in problem
    assert not await hasher.verify(PASSWORD, PasswordHash(value))


def test_the_accepted_forms_have_no_problem() -> None:
    for value in (bcrypt_hash(PASSWORD, "$2y$"), argon2id_hash(PASSWORD), DJANGO):
        assert imported_hashes.problem(value) is None
