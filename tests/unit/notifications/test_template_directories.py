"""Another module's mail templates: a directory of its own, registered into notifications
(``register_mail_templates``, called from main's ``Module`` record), rendered with notifications'
layout, footer and button; a directory that breaks the rules stops the start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gatehouse.modules.notifications.adapters.mail_templates import (
    TEMPLATES_DIR,
    JinjaMailRenderer,
    MailTemplatesInvalid,
)
from gatehouse.modules.notifications.container import register_mail_templates
from gatehouse.modules.notifications.domain.errors import UnknownTemplate
from gatehouse.modules.organizations.container import MAIL_TEMPLATES
from tests.support.clock import FixedClock
from tests.support.containers import notifications_container
from tests.support.fakes.notifications import InMemoryOutboxStore, RecordingTransport

PARAMS = {"link": "https://app.example.com/accept?token=t", "name": "Ada"}
TXT = '{% extends "_layout.txt" %}{% block body %}Hello {{ name }}: {{ link }}{% endblock %}\n'
HTML = """{% extends "_layout.html" %}{% from "_button.html" import button %}
{% block body %}<p>Hello {{ name }}</p>{{ button(link, "Open") }}{% endblock %}
"""


def a_mail(directory: Path, name: str, locale: str = "en", parts: str = "subject txt html") -> Path:
    (directory / locale).mkdir(parents=True, exist_ok=True)
    content = {"subject": f"{name} for {{{{ name }}}}\n", "txt": TXT, "html": HTML}
    for part in parts.split():
        (directory / locale / f"{name}.{part}").write_text(content[part])
    return directory


def a_layout(directory: Path) -> Path:
    (directory / "_layout.txt").write_text("{% block body %}{% endblock %}\n")
    return directory


def test_a_module_mail_renders_in_notifications_layout_with_its_footer_and_button(
    tmp_path: Path,
) -> None:
    renderer = JinjaMailRenderer(modules=[a_mail(tmp_path, "team_welcome")])
    english = renderer.render("team_welcome", PARAMS, "en")
    assert english.subject == "team_welcome for Ada"
    assert english.text.startswith("Hello Ada: https://app.example.com/accept?token=t")
    assert "You get this mail because" in english.text  # en/_footer.txt
    assert '<html lang="en">' in english.html  # _layout.html
    assert 'href="https://app.example.com/accept?token=t"' in english.html  # _button.html
    assert renderer.render("team_welcome", PARAMS, "de") == english  # no German: English
    assert renderer.render("verify_email", {**PARAMS, "hours": "24"}, "de").subject  # its own
    with pytest.raises(UnknownTemplate):
        renderer.render("team_farewell", PARAMS, "en")


def test_a_registered_directory_reaches_the_renderer_main_builds(tmp_path: Path) -> None:
    container = notifications_container(
        clock=FixedClock(), store=InMemoryOutboxStore(), transport=RecordingTransport()
    )
    register_mail_templates(container, a_mail(tmp_path / "team", "team_welcome"))
    register_mail_templates(container, MAIL_TEMPLATES)
    renderer = container.renderer()
    assert {"team_welcome", "organization_invitation", "verify_email"} <= set(renderer.mails)
    assert renderer.locales == ("de", "en")  # notifications' locales, those with a footer


@pytest.mark.parametrize(
    ("make", "complaint"),
    [
        (lambda d: a_mail(d, "team_welcome", parts="subject txt"), "team_welcome.html missing"),
        (lambda d: a_mail(d, "team_welcome", "de"), "no 'en' version"),
        (lambda d: a_mail(d, "team_welcome", "fr"), "no locale 'fr'"),
        (lambda d: a_mail(d, "verify_email"), "en/verify_email.html is in"),
        (a_layout, "_layout.txt is in"),
        (lambda d: d / "missing", "no such mail templates directory"),
    ],
    ids=["a-part-missing", "no-english", "a-locale-without-footer", "another-mail", "the-layout",
         "no-directory"],
)  # fmt: skip
def test_a_broken_or_clashing_directory_refuses_to_start(
    tmp_path: Path, make: Callable[[Path], Path], complaint: str
) -> None:
    directory = make(tmp_path)
    with pytest.raises(MailTemplatesInvalid, match=complaint):
        JinjaMailRenderer(modules=[directory])


def test_a_directory_registered_twice_is_refused() -> None:
    with pytest.raises(MailTemplatesInvalid, match="organization_invitation"):
        JinjaMailRenderer(modules=[MAIL_TEMPLATES, MAIL_TEMPLATES])


def test_notifications_no_longer_holds_another_module_mail() -> None:
    assert not list(TEMPLATES_DIR.rglob("organization_*"))
    assert JinjaMailRenderer().mails.count("organization_invitation") == 0
