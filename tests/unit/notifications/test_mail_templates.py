"""Every mail in every shipped locale, other modules' included (the renderer as main builds it,
with their registered templates): both parts, escaping, one-line subjects, fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.main.container import build_container
from gatehouse.main.settings import Settings
from gatehouse.modules.notifications.adapters.mail_templates import (
    TEMPLATES_DIR,
    JinjaMailRenderer,
)
from gatehouse.modules.notifications.domain.errors import TemplateFailed, UnknownTemplate

RENDERER: JinjaMailRenderer = build_container(
    Settings(_env_file=None, env="test")
).notifications.renderer()
LINK = "https://id.example.com/reset-password?token=abc"
PARAMS = {
    "link": LINK,
    "reset_link": LINK,
    "hours": "24",
    "minutes": "30",
    "name": "Ada",
    "when": "2026-11-22 09:00",
    "reset": "",
    "new_email": "ada@new.example.com",
    "device": "Firefox",
    "code": "123456",
    "ip": "203.0.113.9",
    "remaining": "2",
    "change": "totp_enabled",
    "provider": "google",
    "taken_over": "",
    "organization": "Analytical Engines",
    "inviter": "ada@example.com",
    "days": "7",
}
TEMPLATES = RENDERER.mails


def test_english_and_german_ship_the_same_mails() -> None:
    assert RENDERER.locales == ("de", "en")
    for template in TEMPLATES:  # a German subject that falls back to English would be equal
        german, english = (RENDERER.render(template, PARAMS, lc).subject for lc in ("de", "en"))
        assert german != english, template
    assert {"verify_email", "already_registered", "password_reset", "password_changed"} <= set(
        TEMPLATES
    )
    assert {"identity_linked", "identity_unlinked", "organization_invitation"} <= set(TEMPLATES)


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_mail_renders_a_subject_a_text_and_an_html_part(template: str, locale: str) -> None:
    parts = RENDERER.render(template, PARAMS, locale)
    assert parts.subject
    assert "\n" not in parts.subject
    assert parts.text.strip()
    assert f'<html lang="{locale}">' in parts.html
    assert f"<title>{parts.subject}</title>" in parts.html
    for part in (parts.text, parts.html):
        assert "{{" not in part
        assert "{%" not in part
    if "link" in parts.text or LINK in parts.text:
        assert LINK in parts.text


def test_german_is_german_and_an_unknown_locale_falls_back_to_english() -> None:
    german = RENDERER.render("password_reset", PARAMS, "de")
    english = RENDERER.render("password_reset", PARAMS, "en")
    assert german.subject == "Setzen Sie Ihr Passwort zurück"
    assert "Passwort" in german.text
    assert RENDERER.render("password_reset", PARAMS, "fr") == english
    assert RENDERER.render("password_reset", PARAMS, "../en") == english


def test_parameters_are_escaped_in_html_and_kept_in_text() -> None:
    hostile = {**PARAMS, "link": 'https://x/?token=a&b="<script>"', "name": "<b>Eve</b>"}
    parts = RENDERER.render("password_changed", hostile, "en")
    assert "<script>" not in parts.html
    assert "<b>Eve</b>" not in parts.html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in parts.html
    assert "Hello <b>Eve</b>," in parts.text


def test_a_name_cannot_put_a_line_break_into_the_subject(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "_footer.txt").write_text("footer\n")
    for name in ("_layout.txt", "_layout.html", "_button.html"):
        (tmp_path / name).write_text((TEMPLATES_DIR / name).read_text())
    (tmp_path / "en" / "hello.subject").write_text("Hello {{ name }}\n")
    (tmp_path / "en" / "hello.txt").write_text("hi\n")
    (tmp_path / "en" / "hello.html").write_text("<p>hi</p>\n")
    parts = JinjaMailRenderer(tmp_path).render(
        "hello", {"name": "Eve\r\nBcc: victim@example.com"}, "en"
    )
    assert parts.subject == "Hello Eve Bcc: victim@example.com"


def test_a_missing_parameter_fails_the_mail_instead_of_blanking_it() -> None:
    with pytest.raises(TemplateFailed, match="minutes"):
        RENDERER.render("password_reset", {"link": LINK}, "en")


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(UnknownTemplate):
        RENDERER.render("no_such_mail", PARAMS, "en")


@pytest.mark.parametrize("locale", ["en", "de"])
def test_a_sign_in_code_is_in_the_body_but_never_in_the_subject(locale: str) -> None:
    parts = RENDERER.render("mfa_email_code", {**PARAMS, "code": "482913"}, locale)
    assert "482913" in parts.text
    assert "482913" in parts.html
    assert "482913" not in parts.subject


@pytest.mark.parametrize(
    ("locale", "advice"),
    [("en", "voids the old codes"), ("de", "macht die alten Codes ungültig")],
)
def test_a_used_backup_code_advises_a_new_set_only_when_few_remain(
    locale: str, advice: str
) -> None:
    few = RENDERER.render("backup_code_used", {**PARAMS, "remaining": "2"}, locale)
    many = RENDERER.render("backup_code_used", {**PARAMS, "remaining": "8"}, locale)
    assert advice in few.text
    assert advice in few.html
    assert advice not in many.text
    assert advice not in many.html


MFA_CHANGES = (
    "totp_enabled",
    "totp_disabled",
    "email_enabled",
    "email_disabled",
    "backup_codes_regenerated",
)


@pytest.mark.parametrize("locale", ["en", "de"])
def test_every_two_step_change_is_told_in_its_own_words(locale: str) -> None:
    texts = {
        RENDERER.render("mfa_changed", {**PARAMS, "change": change}, locale).text
        for change in MFA_CHANGES
    }
    assert len(texts) == len(MFA_CHANGES)


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize("change", ["totp_rotated", "items", "__class__", ""])
def test_an_unknown_two_step_change_fails_the_mail(locale: str, change: str) -> None:
    with pytest.raises(TemplateFailed, match="mfa_changed"):
        RENDERER.render("mfa_changed", {**PARAMS, "change": change}, locale)


@pytest.mark.parametrize(
    ("locale", "telling"),
    [("en", "the password set at that registration was removed"), ("de", "Passwort entfernt")],
)
def test_a_link_notice_tells_of_the_take_over_only_when_there_was_one(
    locale: str, telling: str
) -> None:
    taken = RENDERER.render("identity_linked", {**PARAMS, "taken_over": "1"}, locale)
    linked = RENDERER.render("identity_linked", PARAMS, locale)
    for parts in (taken, linked):
        assert "google" in parts.text
        assert "google" in parts.html
    assert telling in taken.text
    assert telling in taken.html
    assert telling not in linked.text
    assert telling not in linked.html
