"""Password hashes made by another system, imported with their users.

Three forms are understood: bcrypt (``$2a$``, ``$2b$``, ``$2y$``), argon2id in the PHC string
form (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``, checked by argon2-cffi) and Django's
``pbkdf2_sha256$<iterations>$<salt>$<base64 digest>``. Such a hash is stored as given and
checked as its scheme says; the first successful sign-in replaces it with the house scheme
(``BcryptPasswordHasher.needs_rehash`` is true for anything but the house scheme).

``problem`` says what is wrong with a hash before it is stored, so an import reports a
malformed one instead of creating an account nobody can sign in to. Costs are bounded: a hash
asking for more work than a sign-in should ever take is refused as malformed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

import argon2
import bcrypt
from argon2.exceptions import InvalidHashError, VerificationError

BCRYPT = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")
BCRYPT_MAX_BYTES = 72  # what bcrypt itself reads of a password: the original system did too
ARGON2_PREFIX = "$argon2id$"
ARGON2_MAX_MEMORY_KIB = 256 * 1024
ARGON2_MAX_TIME_COST = 10
ARGON2_MAX_PARALLELISM = 16
DJANGO_PREFIX = "pbkdf2_sha256$"
DJANGO_MAX_ITERATIONS = 5_000_000
SHA256_BYTES = 32

_argon2 = argon2.PasswordHasher()


def scheme_of(value: str) -> str | None:
    """``bcrypt``, ``argon2id`` or ``pbkdf2_sha256`` for an importable hash, else None."""
    if value.startswith("$2"):
        return "bcrypt"
    if value.startswith(ARGON2_PREFIX):
        return "argon2id"
    if value.startswith(DJANGO_PREFIX):
        return "pbkdf2_sha256"
    return None


def problem(value: str) -> str | None:
    """Why ``value`` cannot be imported as a password hash, or None when it can."""
    scheme = scheme_of(value)
    if scheme is None:
        return "unsupported password hash: use bcrypt, argon2id (PHC) or Django pbkdf2_sha256"
    if scheme == "bcrypt":
        return None if BCRYPT.match(value) else "malformed bcrypt hash"
    if scheme == "argon2id":
        return _argon2_problem(value)
    return None if _django_parts(value) is not None else "malformed pbkdf2_sha256 hash"


def verify(password: str, value: str) -> bool:
    """Whether ``password`` is the one ``value`` (an importable hash) was made from. CPU-bound:
    run it off the event loop."""
    if problem(value) is not None:
        return False
    secret = password.encode("utf-8", "surrogatepass")
    scheme = scheme_of(value)
    if scheme == "bcrypt":
        return bcrypt.checkpw(secret[:BCRYPT_MAX_BYTES], value.encode("ascii"))
    if scheme == "argon2id":
        try:
            return _argon2.verify(value, secret)
        except (VerificationError, InvalidHashError):
            return False
    parts = _django_parts(value)
    assert parts is not None  # problem() said so
    iterations, salt, digest = parts
    computed = hashlib.pbkdf2_hmac("sha256", secret, salt.encode("utf-8"), iterations)
    return hmac.compare_digest(computed, digest)


def _argon2_problem(value: str) -> str | None:
    try:
        parameters = argon2.extract_parameters(value)
    except InvalidHashError:
        return "malformed argon2id hash"
    if (
        parameters.memory_cost > ARGON2_MAX_MEMORY_KIB
        or parameters.time_cost > ARGON2_MAX_TIME_COST
        or parameters.parallelism > ARGON2_MAX_PARALLELISM
    ):
        return "argon2id hash costs more than a sign-in may"
    return None


def _django_parts(value: str) -> tuple[int, str, bytes] | None:
    fields = value.split("$")
    if len(fields) != 4:
        return None
    _, iterations, salt, encoded = fields
    if not iterations.isdigit() or not 0 < int(iterations) <= DJANGO_MAX_ITERATIONS or not salt:
        return None
    try:
        digest = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(digest) != SHA256_BYTES:
        return None
    return int(iterations), salt, digest
