"""docs/api.md's first journey, run as written: its curl commands against a real
``gatehouse serve``, each answer checked against the ``http`` block the page shows for it.

The walkthrough is every ``sh`` block under "## The first journey", in order, except one preceded
by ``<!-- walkthrough: skip (why) -->``. Each must be followed, before the next ``sh`` block, by
an ``http`` block: status line, the headers to check, the body whose shape (keys and JSON types)
the answer must have. Placeholders are filled from earlier answers: ``<access_token>`` and
``<refresh_token>`` from the newest answer that carried one, ``<token>`` from the newest mail not
used yet (read from the server's log, where mails go without SMTP, as the page says), and
``ada@example.com`` becomes an address of this run's own.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.support.processes import gatehouse_serve, wait_until

REPO = Path(__file__).resolve().parents[2]
API_GUIDE = REPO / "docs" / "api.md"
SECTION = "## The first journey"
DOCS_BASE = "http://127.0.0.1:8000"
SKIP = re.compile(r"^<!-- walkthrough: skip \(.+\) -->$")
FENCE = re.compile(r"^```(\w*)\s*$")
EMAIL = re.compile(r"ada@example\.com", re.IGNORECASE)
MAIL_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")
CHECKED_HEADERS = {"content-type", "cache-control", "www-authenticate"}
CURL_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: str


@dataclass(frozen=True)
class Step:
    heading: str
    commands: list[list[str]]
    expected: Answer


def _http_block(text: str) -> Answer:
    head, _, body = text.partition("\n\n")
    status_line, *header_lines = head.splitlines()
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body.strip())


def _commands(block: str) -> list[list[str]]:
    joined = re.sub(r"\\\n", " ", block)
    commands = [shlex.split(line) for line in joined.splitlines() if line.strip()]
    for command in commands:
        assert command[0] == "curl", f"the walkthrough runs curl only: {command}"
    return commands


def walkthrough(markdown: str) -> list[Step]:
    start = markdown.index(f"\n{SECTION}\n")
    end = markdown.find("\n## ", start + 1)
    lines = markdown[start : end if end != -1 else None].splitlines()
    steps: list[Step] = []
    heading = ""
    pending: tuple[str, list[list[str]]] | None = None
    previous = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("### "):
            heading = line[4:]
        fence = FENCE.match(line)
        if fence is None:
            if line.strip():
                previous = line.strip()
            index += 1
            continue
        close = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        content = "\n".join(lines[index + 1 : close])
        language = fence.group(1)
        if language == "sh" and not SKIP.match(previous):
            assert pending is None, f"{pending[0] if pending else ''}: a command without an answer"
            pending = (heading, _commands(content))
        elif language == "http" and pending is not None:
            steps.append(Step(pending[0], pending[1], _http_block(content)))
            pending = None
        previous = "```"
        index = close + 1
    assert pending is None, f"{pending[0]}: a walkthrough command without an http block after it"
    return steps


def shape(value: Any) -> Any:
    """Keys and JSON types, not values: ids, tokens and times differ from run to run."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


@dataclass
class Walker:
    base: str
    log: Path
    email_suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    values: dict[str, str] = field(default_factory=dict)
    used_tokens: set[str] = field(default_factory=set)

    @property
    def email(self) -> str:
        return f"ada-{self.email_suffix}@example.com"

    def _email(self, match: re.Match[str]) -> str:
        local, domain = match.group(0).split("@")
        return f"{local}-{self.email_suffix}@{domain}"

    def _mail_tokens(self) -> list[str]:
        tokens = []
        for line in self.log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if record.get("logger") == "gatehouse.mail" and record.get("mail_to") == self.email:
                tokens += MAIL_TOKEN.findall(record["event"])
        return tokens

    def _new_mail_token(self) -> str:
        def arrived() -> bool:
            return any(t not in self.used_tokens for t in self._mail_tokens())

        wait_until(arrived, f"a new mail to {self.email} in the log", timeout=10)
        token = next(t for t in reversed(self._mail_tokens()) if t not in self.used_tokens)
        self.used_tokens.add(token)
        return token

    def fill(self, argument: str) -> str:
        argument = EMAIL.sub(self._email, argument.replace(DOCS_BASE, self.base))
        if "<token>" in argument:
            argument = argument.replace("<token>", self._new_mail_token())
        for name in ("access_token", "refresh_token"):
            if f"<{name}>" in argument:
                assert name in self.values, f"<{name}> before any answer carried one"
                argument = argument.replace(f"<{name}>", self.values[name])
        unknown = re.search(r"<[a-z_]+>", argument)
        assert unknown is None, f"a placeholder the walkthrough cannot fill: {unknown.group(0)}"
        return argument

    def run(self, command: list[str]) -> Answer:
        arguments = [self.fill(argument) for argument in command[1:]]
        curl = shutil.which("curl")
        if curl is None:  # pragma: no cover - curl is on every machine the suite runs on
            return _replay_with_httpx(arguments)
        extra = ["-sS", "--max-time", str(CURL_TIMEOUT_SECONDS)]
        if "-i" not in arguments and "--include" not in arguments:
            extra.append("-i")
        result = subprocess.run(  # curl with the page's own arguments
            [curl, *extra, *arguments],
            capture_output=True,
            timeout=CURL_TIMEOUT_SECONDS + 5,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return _parse_curl_output(result.stdout.decode())

    def remember(self, answer: Answer) -> None:
        if not answer.body.startswith("{"):
            return
        body = json.loads(answer.body)
        for name in ("access_token", "refresh_token"):
            if isinstance(body.get(name), str):
                self.values[name] = body[name]


def _parse_curl_output(output: str) -> Answer:
    head, _, body = output.replace("\r\n", "\n").partition("\n\n")
    return _http_block(f"{head}\n\n{body}")


def _replay_with_httpx(arguments: list[str]) -> Answer:  # pragma: no cover - no curl
    """The few curl options the page uses: -i -s -X -H -d (form-encoded without a type)."""
    method, url, headers, data = None, "", {}, []
    iterator = iter(arguments)
    for argument in iterator:
        if argument in {"-i", "-s", "-sS", "--include"}:
            continue
        if argument == "-X":
            method = next(iterator)
        elif argument == "-H":
            name, _, value = next(iterator).partition(":")
            headers[name.strip()] = value.strip()
        elif argument == "-d":
            data.append(next(iterator))
        else:
            url = argument
    if data:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    response = httpx.request(
        method or ("POST" if data else "GET"),
        url,
        headers=headers,
        content="&".join(data) if data else None,
        timeout=CURL_TIMEOUT_SECONDS,
    )
    return Answer(response.status_code, dict(response.headers), response.text)


def check(step: Step, command: list[str], answer: Answer) -> None:
    where = f"{step.heading}: {shlex.join(command)}"
    assert answer.status == step.expected.status, f"{where}\n{answer.status} {answer.body}"
    for name, value in step.expected.headers.items():
        assert name in answer.headers, f"{where}: no {name} header"
        if name in CHECKED_HEADERS:
            assert answer.headers[name] == value, f"{where}: {name}"
    if not step.expected.body:
        assert answer.body == "", f"{where}: a body where the page shows none"
        return
    expected, actual = json.loads(step.expected.body), json.loads(answer.body)
    assert shape(actual) == shape(expected), f"{where}\nactual body: {answer.body}"


def test_the_walkthrough_has_the_steps_of_the_first_journey() -> None:
    steps = walkthrough(API_GUIDE.read_text())
    paths = [
        next(a for a in command if a.startswith(DOCS_BASE)).removeprefix(DOCS_BASE)
        for step in steps
        for command in step.commands
    ]
    assert paths[:3] == ["/api/v1/auth/register", "/api/v1/auth/verify-email", "/api/v1/auth/login"]
    assert {"/api/v1/auth/refresh", "/api/v1/auth/token", "/api/v1/me"} <= set(paths)
    assert paths[-1] == "/api/v1/auth/password/reset"


def test_the_curl_walkthrough_of_the_api_guide_works_against_a_running_server(
    own_database: Settings, tmp_path: Path
) -> None:
    settings = own_database
    steps = walkthrough(API_GUIDE.read_text())
    server_env = {
        "GATEHOUSE_DISPATCH_IN_SERVE": "true",  # mails go to the log: no SMTP server is set
        "GATEHOUSE_LOG_LEVEL": "info",
        # Every test calls from 127.0.0.1 and the counts outlive a test.
        "GATEHOUSE_RATE_LIMIT_LOGIN": "100000/minute",
        "GATEHOUSE_RATE_LIMIT_REGISTER": "100000/hour",
        "GATEHOUSE_RATE_LIMIT_REFRESH": "100000/minute",
        "GATEHOUSE_RATE_LIMIT_MAIL_REQUEST": "100000/hour",
        "GATEHOUSE_RATE_LIMIT_TOKEN_CHECK": "100000/minute",
        "GATEHOUSE_LOCKOUT_FREE_ATTEMPTS": "100000",
    }
    with gatehouse_serve(settings, tmp_path, "walkthrough", **server_env) as base:
        log = tmp_path / "walkthrough.log"
        walker = Walker(base, log)
        for step in steps:
            for command in step.commands:
                answer = walker.run(command)
                check(step, command, answer)
                walker.remember(answer)
        printed = log.read_text(errors="replace")
    # `make run`'s first screen: where the API, the docs and the mails are.
    assert f"  Docs   {base}/docs" in printed
    assert f"  API    {base}/api/v1" in printed
    assert "GATEHOUSE_SMTP_URL is unset" in printed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"a": [1], "b": None, "c": {"d": True}},
            {"a": ["number"], "b": "null", "c": {"d": "boolean"}},
        ),
        ([], []),
        ("x", "str"),
    ],
)
def test_shape_keeps_keys_and_types(value: Any, expected: Any) -> None:
    assert shape(value) == expected
