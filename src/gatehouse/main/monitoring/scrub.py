"""Keep secrets out of what leaves the process for monitoring: Sentry events and trace spans.

Two rules, applied to everything (an event is walked whole, a span's every attribute):

- a value whose *key* names a secret (``password``, ``new_password``, ``refresh_token``,
  ``Authorization``, ``Cookie``, ``X-CSRF-Token``, ``client_secret``, ``code``, ...) is replaced;
- in any *text*, the value of a secret-named query or form parameter (``?token=…``,
  ``&code=…``), ``key='value'`` / ``"key": "value"`` pairs (a dataclass or dict ``repr`` in an
  exception message), bearer credentials, JWTs and URL passwords are replaced.

It errs on the side of hiding: a scrubbed ``state`` or ``status_code=`` in a message costs a
little debugging, a leaked password costs an incident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

FILTERED = "[Filtered]"

_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "cookie",
    "authorization",
    "csrf",
    "api_key",
    "apikey",
    "credential",
    "pepper",
    "private_key",
    "dsn",
)
# Names that merely end like a secret one.
_NOT_SECRET = frozenset({"status_code", "error_code", "response_code", "exit_code"})
_WORDS = "|".join(_SECRET_WORDS)
_PARAM_WORDS = rf"{_WORDS}|code|otp|state|sig|signature|refresh"

# ?token=…, &code=…, client_secret=… in URLs, query strings and form bodies.
_QUERY_PARAM = re.compile(
    rf"(?i)((?:^|[?&;\s,(])([\w.\-\[\]]*(?:{_PARAM_WORDS})[\w.\-\[\]]*)=)(?!['\"])[^&#\s'\",)]*"
)
# password='…', "refresh_token": "…", code="123456" (reprs of dataclasses and dicts, JSON).
_QUOTED_PAIR = re.compile(
    rf"(?i)([\w\-]*(?:{_WORDS}|code|otp)[\w\-]*['\"]?\s*[:=]\s*)(['\"])(?:\\.|(?!\2).)*\2"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^/@\s:]*:)[^/@\s]+@")


def secret_key(key: str) -> bool:
    """Whether a field, header or attribute called ``key`` holds a secret."""
    name = key.lower().replace("-", "_")
    if any(word in name for word in _SECRET_WORDS):
        return True
    last = re.split(r"[.\s/]", name)[-1]
    return last in {"code", "otp"} or (last.endswith(("_code", "_otp")) and last not in _NOT_SECRET)


def scrub_text(text: str) -> str:
    """The text with every secret-looking value in it replaced."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(rf"\1{FILTERED}@", text)
    text = _BEARER.sub(rf"\1 {FILTERED}", text)
    text = _JWT.sub(FILTERED, text)
    text = _QUOTED_PAIR.sub(rf"\1\2{FILTERED}\2", text)
    return _QUERY_PARAM.sub(_param_value, text)


def _param_value(match: re.Match[str]) -> str:
    if match.group(2).lower() in _NOT_SECRET:
        return match.group(0)
    return match.group(1) + FILTERED


def scrub(value: object) -> object:
    """A copy of a JSON-like value (dicts, lists, strings, numbers) with the secrets replaced."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            key: (
                FILTERED
                if isinstance(key, str) and secret_key(key) and value_present(item)
                else scrub(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [scrub(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return FILTERED
    return value


def value_present(value: object) -> bool:
    return value is not None and value != "" and not isinstance(value, bool)
