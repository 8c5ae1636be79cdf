"""Mail templates rendered with Jinja2: a text and an HTML part for every mail, per locale.

Layout: ``templates/_layout.{txt,html}`` (one place to restyle every mail), ``_button.html``,
and per locale ``templates/<locale>/<name>.{subject,txt,html}`` plus ``_footer.txt``. Another
module brings its mails in a directory of its own with the same ``<locale>/<name>.*`` shape,
registered in main (``register_mail_templates``); its templates extend the same layout and
import the same partials. A mail in a locale without that template falls back to English. HTML
is autoescaped; a subject is one line whatever its parameters hold, so no header can be
injected through a name.

The directories are indexed when the renderer is built, so a broken one stops the start
(``MailTemplatesInvalid``): a mail missing a part or its English version, a locale without a
footer here, a file that two directories hold (no module replaces another's mail or layout).
Jinja2 itself is imported, and its environments built, for the first mail rendered
(``prepare``, which a server that sends mails calls at start): a server that leaves its mails
to ``gatehouse worker`` never holds it (about 2 MiB).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gatehouse.modules.notifications.application.ports import MailRenderer, RenderedParts
from gatehouse.modules.notifications.domain.errors import TemplateFailed, UnknownTemplate

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "en"
PARTS = ("subject", "txt", "html")


class MailTemplatesInvalid(ValueError):
    """A templates directory that breaks the rules above; the message names the file."""


def _visible(directory: Path) -> list[Path]:
    """What a templates directory holds, but its private and hidden names (``_footer.txt``)."""
    return sorted(p for p in directory.iterdir() if p.name[0] not in "_.")


def _index(directories: Sequence[Path]) -> tuple[tuple[str, ...], dict[str, frozenset[str]]]:
    """The locales (the first directory's) and each mail's locales, or ``MailTemplatesInvalid``."""
    for directory in directories:
        if not directory.is_dir():
            raise MailTemplatesInvalid(f"{directory}: no such mail templates directory")
    locales = tuple(p.name for p in _visible(directories[0]) if p.is_dir())
    holder: dict[str, Path] = {}
    mails: dict[str, set[str]] = {}
    for directory in directories:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            name = path.relative_to(directory).as_posix()
            if name in holder:
                msg = f"{name} is in {holder[name]} and in {directory}: rename one"
                raise MailTemplatesInvalid(msg)
            holder[name] = directory
        for locale in (p for p in _visible(directory) if p.is_dir()):
            if locale.name not in locales:
                msg = f"{locale}: no locale {locale.name!r} in {directories[0]} (its footer)"
                raise MailTemplatesInvalid(msg)
            for mail in {p.name.partition(".")[0] for p in _visible(locale)}:
                missing = [f"{mail}.{p}" for p in PARTS if not (locale / f"{mail}.{p}").is_file()]
                if missing:
                    raise MailTemplatesInvalid(f"{locale}: {', '.join(missing)} missing")
                mails.setdefault(mail, set()).add(locale.name)
    for mail, found in mails.items():
        if DEFAULT_LOCALE not in found:
            raise MailTemplatesInvalid(f"{mail}: no {DEFAULT_LOCALE!r} version to fall back to")
    return locales, {mail: frozenset(found) for mail, found in mails.items()}


class JinjaMailRenderer(MailRenderer):
    def __init__(
        self,
        directory: Path = TEMPLATES_DIR,
        *,
        modules: Iterable[Path] = (),
        public_url: str = "http://127.0.0.1:8000",
    ) -> None:
        """``modules``: other modules' templates directories. ``public_url``: available to
        every template, for links to Gatehouse's pages."""
        self._directories = (directory, *modules)
        self.locales, self._mails = _index(self._directories)
        self._public_url = public_url
        self._environments: tuple[Environment, Environment] | None = None  # on the first mail

    @property
    def mails(self) -> tuple[str, ...]:
        """Every mail's name, from every directory."""
        return tuple(sorted(self._mails))

    def render(self, template: str, params: Mapping[str, str], locale: str) -> RenderedParts:
        found = self._mails.get(template)
        if found is None:
            raise UnknownTemplate(template)
        chosen = locale if locale in found else DEFAULT_LOCALE
        context = {**params, "locale": chosen}
        plain, marked_up = self.prepare()
        from jinja2 import TemplateError  # noqa: PLC0415 - loaded by prepare already

        try:
            raw_subject = plain.get_template(f"{chosen}/{template}.subject").render(context)
            subject = " ".join(raw_subject.split())  # one line: no CR or LF can reach a header
            text = plain.get_template(f"{chosen}/{template}.txt").render(context)
            html = marked_up.get_template(f"{chosen}/{template}.html").render(
                {**context, "subject": subject}
            )
        except TemplateError as error:
            raise TemplateFailed(f"{template}: {error}") from error
        return RenderedParts(subject=subject, text=text.strip() + "\n", html=html)

    def prepare(self) -> tuple[Environment, Environment]:
        """The plain-text and the HTML environment, built once: on the first mail, or earlier
        by a process that knows it will render mails."""
        if self._environments is not None:
            return self._environments
        from jinja2 import (  # noqa: PLC0415 - see the module's docstring
            ChoiceLoader,
            Environment,
            FileSystemLoader,
            StrictUndefined,
        )

        loader = ChoiceLoader([FileSystemLoader(d) for d in self._directories])
        plain, marked_up = (
            Environment(
                loader=loader,
                autoescape=autoescape,  # noqa: S701 - on for HTML parts, off for plain text
                undefined=StrictUndefined,  # a missing parameter fails the mail, never blanks it
                trim_blocks=True,
                lstrip_blocks=True,
                auto_reload=False,
            )
            for autoescape in (False, True)
        )
        for environment in (plain, marked_up):
            environment.globals["public_url"] = self._public_url
        self._environments = (plain, marked_up)
        return self._environments
