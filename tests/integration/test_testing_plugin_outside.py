"""The testing plugin works from outside: a throwaway project that depends on gatehouse, as
another team's would, uses the fixtures and passes.

Gatehouse is built into a wheel (``uv build``) and installed with the extra ``testing`` into a
fresh virtualenv (``uv venv``, ``uv pip install``; versions pinned to ``uv.lock``, from uv's
cache when it has them), so the test proves the packaging too: the entry point, the extra's
dependencies, the migrations carried in the wheel. The project has no ``conftest.py``: the
fixtures can only come from the entry point. Its pytest runs once with this run's
``GATEHOUSE_TEST_*`` URLs and once without any (so it starts its own servers: testcontainers
when Docker answers, else the embedded ones).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from gatehouse.testing.infra import DATABASE_URL_VAR, REDIS_URL_VAR, redis_db_url

ROOT = Path(__file__).resolve().parents[2]

PYPROJECT = """\
[project]
name = "outside-team"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["gatehouse[testing]"]

[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
"""

TESTS = '''\
"""Another team's tests: nothing but the gatehouse plugin's fixtures (no conftest.py)."""

from pathlib import Path

import gatehouse
import pytest

from gatehouse.testing import link_in, token_in


def test_the_fixtures_come_from_the_installed_wheel_through_its_entry_point(request):
    plugin = request.config.pluginmanager.get_plugin("gatehouse")  # the entry point's name
    assert plugin is not None and plugin.__name__ == "gatehouse.testing.plugin"
    assert Path(gatehouse.__file__).parent.parent.name == "site-packages"
    modules = Path(gatehouse.__file__).parent / "modules"  # mail templates ship in the wheel
    assert (modules / "organizations/templates/de/organization_invitation.html").is_file()
    assert not list(Path(__file__).parents[1].rglob("conftest.py"))


@pytest.mark.asyncio
async def test_an_admin_signed_in_with_a_second_factor_lists_the_users(gatehouse_client, make_user):
    admin = await make_user(roles=("admin",), mfa=True)
    response = await gatehouse_client.get("/api/v1/admin/users", headers=admin.headers)
    assert response.status_code == 200, response.text


@pytest.mark.asyncio
async def test_a_password_reset_goes_through_the_mailed_link(
    gatehouse_client, make_user, mail_sink
):
    user = await make_user()
    forgot = await gatehouse_client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    assert forgot.status_code == 202
    [mail] = await mail_sink.wait_for(1, to=user.email)
    assert token_in(mail) in link_in(mail)
    reset = await gatehouse_client.post(
        "/api/v1/auth/password/reset",
        json={"token": token_in(mail), "new_password": "a brand new passphrase"},
    )
    assert reset.status_code == 204, reset.text


def test_each_test_has_a_database_of_its_own(gatehouse_database_url, gatehouse_infra):
    assert gatehouse_database_url != gatehouse_infra.database_url
'''


@dataclass(frozen=True)
class Outside:
    python: Path  # the fresh virtualenv's interpreter, gatehouse[testing] installed from a wheel
    project: Path


def uv_binary() -> str | None:
    found = shutil.which("uv")
    local = ROOT / ".tools" / "bin" / "uv"
    return found or (str(local) if local.is_file() else None)


def nice(command: list[str]) -> list[str]:
    """``command`` at a lower priority: it competes with this run's other tests for the CPU
    (a fresh virtualenv compiles every module it imports once), and some of those wait for a
    server with a deadline."""
    return ["nice", "-n", "10", *command] if shutil.which("nice") else command


def run_uv(uv: str, *args: str, cwd: Path = ROOT) -> None:
    """``uv`` from its cache alone first; from the index when the cache lacks something."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    for offline in (["--offline"], []):
        done = subprocess.run(
            nice([uv, *args, *offline]),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode == 0:
            return
    raise AssertionError(f"uv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def outside() -> Iterator[Outside]:
    uv = uv_binary()
    if uv is None:
        pytest.skip("uv is neither on PATH nor in .tools/bin (make install puts it there)")
    # Not under pytest's temp root: a pytest session that starts meanwhile makes that private
    # again (0700), and PostgreSQL started as root by pgserver runs as another user, which must
    # reach its programs in the virtualenv and its data.
    work = Path(tempfile.mkdtemp(prefix="gh-outside-"))
    work.chmod(0o755)
    try:
        yield build_outside(uv, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_outside(uv: str, work: Path) -> Outside:
    run_uv(uv, "build", "--wheel", "--out-dir", str(work / "dist"), "--python", sys.executable)
    [wheel] = (work / "dist").glob("gatehouse-*.whl")
    constraints = work / "constraints.txt"
    run_uv(
        uv, "export", "--frozen", "--no-dev", "--extra", "testing", "--no-emit-project",
        "--no-hashes", "--output-file", str(constraints),
    )  # fmt: skip
    venv = work / "venv"
    run_uv(uv, "venv", str(venv), "--python", sys.executable)
    python = venv / "bin" / "python"
    run_uv(
        uv, "pip", "install", "--python", str(python), "--constraints", str(constraints),
        f"{wheel}[testing]",
    )  # fmt: skip
    project = work / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "tests" / "test_with_gatehouse.py").write_text(TESTS)
    return Outside(python, project)


def child_environment(urls: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without what would leak this run into the child's: pytest's
    and xdist's variables, coverage's, every GATEHOUSE_* (but ``urls``), our source on the
    path."""
    leaking = ("PYTEST_", "COV_", "COVERAGE_", "GATEHOUSE_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(leaking)}
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONSTARTUP"):
        env.pop(key, None)
    return {**env, **urls}


# The child shares this run's Redis server when it is given the URLs: its database numbers
# start above the ones this run's workers use (base + worker index + 1).
CHILD_REDIS_BASE = 14


def env_urls() -> dict[str, str]:
    database, redis = os.environ.get(DATABASE_URL_VAR), os.environ.get(REDIS_URL_VAR)
    if not (database and redis):
        return {}
    return {DATABASE_URL_VAR: database, REDIS_URL_VAR: redis_db_url(redis, CHILD_REDIS_BASE)}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("servers", ["the-env-urls", "servers-of-its-own"])
def test_a_project_outside_the_repository_passes_its_tests_with_the_installed_plugin(
    outside: Outside, servers: str
) -> None:
    urls = env_urls() if servers == "the-env-urls" else {}
    if servers == "the-env-urls" and not urls:
        pytest.skip(f"{DATABASE_URL_VAR} / {REDIS_URL_VAR} are not set in this run")
    basetemp = outside.project.parent / f"basetemp-{servers}"  # short: sockets live there
    done = subprocess.run(
        nice([str(outside.python), "-m", "pytest", "-v", "-p", "no:cacheprovider", "--basetemp",
              str(basetemp), "tests"]),
        cwd=outside.project, env=child_environment(urls), capture_output=True, text=True,
        timeout=540, check=False,
    )  # fmt: skip
    report = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, report
    assert "4 passed" in report, report
    plugins = next(line for line in done.stdout.splitlines() if line.startswith("plugins:"))
    assert "gatehouse-0.1.0" in plugins, plugins  # loaded as the distribution's entry point
