"""Mail templates: one place to word and restyle every mail. Text and HTML parts.

Parameters are escaped for the HTML part; subjects never contain user-controlled text, so
no header can be injected through a name.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template


@dataclass(frozen=True, slots=True)
class MailTemplate:
    subject: str
    text: Template
    html: Template


class UnknownTemplate(LookupError):
    pass


_LAYOUT = Template(
    '<!doctype html><html><body style="font-family:sans-serif;max-width:36em;margin:auto">'
    '$body<hr><p style="color:#666;font-size:small">Gatehouse</p></body></html>'
)

TEMPLATES: Mapping[str, MailTemplate] = {
    "verify_email": MailTemplate(
        subject="Confirm your email address",
        text=Template(
            "Hello,\n\nConfirm your email address by opening this link:\n\n$link\n\n"
            "The link works once and expires in $hours hours. If you did not sign up, "
            "ignore this mail.\n"
        ),
        html=Template(
            "<p>Hello,</p><p>Confirm your email address by opening this link:</p>"
            '<p><a href="$link">Confirm my address</a></p>'
            "<p>The link works once and expires in $hours hours. If you did not sign up, "
            "ignore this mail.</p>"
        ),
    ),
    "already_registered": MailTemplate(
        subject="You already have an account",
        text=Template(
            "Hello,\n\nSomeone tried to create an account with this address, which already "
            "has one. If it was you, sign in instead or reset your password:\n\n$reset_link\n\n"
            "If it was not you, you can ignore this mail.\n"
        ),
        html=Template(
            "<p>Hello,</p><p>Someone tried to create an account with this address, which "
            "already has one. If it was you, sign in instead or "
            '<a href="$reset_link">reset your password</a>.</p>'
            "<p>If it was not you, you can ignore this mail.</p>"
        ),
    ),
}


def render(template: str, params: Mapping[str, str]) -> tuple[str, str, str]:
    """Return (subject, text, html) for a template, or raise ``UnknownTemplate``."""
    try:
        spec = TEMPLATES[template]
    except KeyError:
        raise UnknownTemplate(template) from None
    escaped = {key: html.escape(value, quote=True) for key, value in params.items()}
    body = spec.html.substitute(escaped)
    return spec.subject, spec.text.substitute(params), _LAYOUT.substitute(body=body)
