"""What the command line prints for people: serve's banner, db shell's connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.main import db_shell
from gatehouse.main.db_shell import libpq_environment
from gatehouse.main.serving import banner
from gatehouse.main.settings import Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_the_dev_banner_says_where_the_api_the_docs_and_the_mails_are() -> None:
    configured = _settings(data_dir=Path("/srv/gh"))
    resolved = configured.model_copy(
        update={"database_url": "postgresql+asyncpg://x", "redis_url": "unix:///r"}
    )
    text = banner(configured, resolved, "127.0.0.1", 8000)
    assert "API    http://127.0.0.1:8000/api/v1" in text
    assert "Docs   http://127.0.0.1:8000/docs" in text
    assert "GATEHOUSE_SMTP_URL is unset" in text
    assert "mail to <address>: <subject>: <link>" in text
    assert "embedded PostgreSQL and Redis in /srv/gh" in text
    assert "gatehouse db shell" in text
    assert "Links in mails" not in text  # the public URL is where it serves


def test_the_banner_names_the_smtp_server_but_never_its_password() -> None:
    configured = _settings(
        smtp_url="smtp://mailer:hunter2hunter2@mail.internal:587?starttls=true",
        database_url="postgresql+asyncpg://db/x",
        redis_url="redis://r",
        public_url="https://id.example.com",
    )
    text = banner(configured, configured, "0.0.0.0", 8080)
    assert "sent through mail.internal:587" in text
    assert "hunter2" not in text
    assert "mailer" not in text
    assert "http://127.0.0.1:8080/docs" in text
    assert "from GATEHOUSE_DATABASE_URL and GATEHOUSE_REDIS_URL" in text
    assert "Links in mails start with https://id.example.com" in text


def test_the_banner_points_at_the_worker_when_serve_does_not_send() -> None:
    configured = _settings(dispatch_in_serve=False)
    assert "sent by `gatehouse worker`" in banner(configured, configured, "::1", 8000)


def test_libpq_gets_the_connection_in_its_environment_not_on_the_command_line() -> None:
    assert libpq_environment("postgresql+asyncpg://gh:s3cret@db.internal:6543/gatehouse") == {
        "PGHOST": "db.internal",
        "PGPORT": "6543",
        "PGUSER": "gh",
        "PGPASSWORD": "s3cret",
        "PGDATABASE": "gatehouse",
        "PGAPPNAME": "gatehouse db shell",
    }
    embedded = libpq_environment("postgresql+asyncpg://postgres:@/gatehouse?host=/data/postgres")
    assert embedded["PGHOST"] == "/data/postgres"
    assert "PGPASSWORD" not in embedded


def test_db_shell_without_psql_says_what_to_install_and_hides_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(db_shell, "psql_program", lambda *, embedded: None)
    configured = _settings(database_url="postgresql+asyncpg://gh:s3cret@db.internal:5432/gatehouse")
    assert db_shell.db_shell(configured, []) == 2
    err = capsys.readouterr().err
    assert "psql" in err
    assert "apt install postgresql-client" in err
    assert "postgresql://gh:***@db.internal:5432/gatehouse" in err
    assert "s3cret" not in err
