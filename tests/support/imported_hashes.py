"""Password hashes as other systems make them, one per importable form, with their passwords:
made by the real libraries (bcrypt, argon2-cffi) and Django's published test vector."""

from __future__ import annotations

import argon2
import bcrypt

PASSWORD = "correct horse battery staple"
# Django's make_password("lètmein", "seasalt", "pbkdf2_sha256") at 1 000 000 iterations.
DJANGO_PASSWORD = "lètmein"
DJANGO = "pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps="


def bcrypt_hash(password: str, prefix: str = "$2b$") -> str:
    """bcrypt at the minimum cost, under ``prefix`` (``$2a$``, ``$2b$`` or ``$2y$``)."""
    return prefix + bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()[4:]


def argon2id_hash(password: str) -> str:
    return argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(password)


def imported(prefix: str = "$2y$") -> dict[str, tuple[str, str]]:
    """Each form's (password, hash), by name."""
    return {
        f"bcrypt {prefix}": (PASSWORD, bcrypt_hash(PASSWORD, prefix)),
        "argon2id": (PASSWORD, argon2id_hash(PASSWORD)),
        "django pbkdf2_sha256": (DJANGO_PASSWORD, DJANGO),
    }
