"""Mail templates rendered with Jinja2: a text and an HTML part for every mail, per locale.

Layout: ``templates/_layout.{txt,html}`` (one place to restyle every mail), ``_button.html``,
and per locale ``templates/<locale>/<name>.{subject,txt,html}`` plus ``_footer.txt``. A mail in
a locale without that template falls back to English. HTML is autoescaped; a subject is one
line whatever its parameters hold, so no header can be injected through a name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from gatehouse.modules.notifications.application.ports import MailRenderer, RenderedParts
from gatehouse.modules.notifications.domain.errors import TemplateFailed, UnknownTemplate

TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "en"


class JinjaMailRenderer(MailRenderer):
    def __init__(
        self, directory: Path = TEMPLATES_DIR, *, public_url: str = "http://127.0.0.1:8000"
    ) -> None:
        """``public_url``: available to every template, for links to Gatehouse's pages."""
        self._directory = directory
        self._text = self._environment(directory, autoescape=False)  # plain text parts
        self._html = self._environment(directory, autoescape=True)
        for environment in (self._text, self._html):
            environment.globals["public_url"] = public_url
        self.locales = tuple(
            sorted(p.name for p in directory.iterdir() if p.is_dir() and p.name[0] not in "_.")
        )

    def render(self, template: str, params: Mapping[str, str], locale: str) -> RenderedParts:
        translated = locale in self.locales and self._has(locale, template)
        chosen = locale if translated else DEFAULT_LOCALE
        if not self._has(chosen, template):
            raise UnknownTemplate(template)
        context = {**params, "locale": chosen}
        try:
            raw_subject = self._text.get_template(f"{chosen}/{template}.subject").render(context)
            subject = " ".join(raw_subject.split())  # one line: no CR or LF can reach a header
            text = self._text.get_template(f"{chosen}/{template}.txt").render(context)
            html = self._html.get_template(f"{chosen}/{template}.html").render(
                {**context, "subject": subject}
            )
        except TemplateError as error:
            raise TemplateFailed(f"{template}: {error}") from error
        return RenderedParts(subject=subject, text=text.strip() + "\n", html=html)

    @staticmethod
    def _environment(directory: Path, *, autoescape: bool) -> Environment:
        return Environment(
            loader=FileSystemLoader(directory),
            autoescape=autoescape,  # noqa: S701 - on for HTML parts, off for plain text
            undefined=StrictUndefined,  # a missing parameter fails the mail, never blanks it
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )

    def _has(self, locale: str, template: str) -> bool:
        return (self._directory / locale / f"{template}.subject").is_file()
