"""``application/x-www-form-urlencoded`` bodies (OAuth token requests, the mailed links' pages)."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request

from gatehouse.shared.http.routing import is_json

FORM = "application/x-www-form-urlencoded"
MAX_FIELD = 4096
# In a JSON schema, what ``read_form`` checks of a field (in ASCII: no control characters).
FIELD_SCHEMA = {"type": "string", "maxLength": MAX_FIELD, "pattern": r"^[^\u0000-\u001F\u007F]*$"}


class FormError(ValueError):
    """The body is not a well-formed form; the message says why, for the client."""


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a form body: UTF-8, each at most once, printable, at most 4096 characters."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM:
        hint = " (not JSON)" if is_json(content_type) else ""
        raise FormError(f"send the parameters as {FORM}{hint}")
    try:
        fields = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise FormError("the body is not UTF-8") from None
    if any(len(values) > 1 for values in fields.values()):
        raise FormError("a parameter is repeated")  # RFC 6749 section 3.2
    form = {name: values[0] for name, values in fields.items()}
    if any(len(value) > MAX_FIELD or not value.isprintable() for value in form.values()):
        raise FormError("a parameter is too long or has control characters")
    return form
