"""`make audit`'s verdict on a pip-audit report (.ci/audit.py): what fails CI and what does not."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

AUDIT = Path(__file__).resolve().parents[2] / ".ci" / "audit.py"
VULN = {"id": "PYSEC-2099-1", "aliases": ["GHSA-aaaa-bbbb-cccc"], "fix_versions": ["2.0.1"]}


def audit(
    tmp_path: Path, dependencies: list[dict[str, Any]], ignores: str = "", *options: str
) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    ignore_file = tmp_path / "ignore.toml"
    ignore_file.write_text(ignores)
    command = [
        sys.executable,
        str(AUDIT),
        "--report",
        str(report),
        "--ignore-file",
        str(ignore_file),
    ]
    return subprocess.run(
        [*command, *options],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def ignore(until: datetime, reason: str = "never called with untrusted input") -> str:
    return (
        f'[[ignore]]\nid = "GHSA-aaaa-bbbb-cccc"\npackage = "lib"\n'
        f'reason = "{reason}"\nuntil = {until:%Y-%m-%d}\n'
    )


def test_a_known_vulnerability_fails_and_names_the_fix(tmp_path: Path) -> None:
    result = audit(tmp_path, [{"name": "lib", "version": "2.0.0", "vulns": [VULN]}])
    assert result.returncode == 1
    assert "VULNERABLE lib 2.0.0: PYSEC-2099-1 (fixed in: 2.0.1)" in result.stderr


def test_a_clean_report_passes(tmp_path: Path) -> None:
    result = audit(tmp_path, [{"name": "lib", "version": "2.0.1", "vulns": []}])
    assert result.returncode == 0
    assert "1 locked packages, 1 checked, 0 failing" in result.stdout


def test_an_ignored_vulnerability_passes_by_alias_with_its_reason(tmp_path: Path) -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    result = audit(
        tmp_path, [{"name": "lib", "version": "2.0.0", "vulns": [VULN]}], ignore(tomorrow)
    )
    assert result.returncode == 0
    assert "ignored lib 2.0.0: PYSEC-2099-1: never called with untrusted input" in result.stdout


@pytest.mark.parametrize("reason", ["expired", "no reason"])
def test_an_expired_or_unexplained_ignore_fails(tmp_path: Path, reason: str) -> None:
    now = datetime.now(UTC)
    entry = ignore(now - timedelta(days=1)) if reason == "expired" else ignore(now, reason=" ")
    result = audit(tmp_path, [{"name": "lib", "version": "2.0.0", "vulns": [VULN]}], entry)
    assert result.returncode == 1
    assert (
        "IGNORE EXPIRED" if reason == "expired" else "needs id, package, reason"
    ) in result.stderr


@pytest.mark.parametrize(("mode", "code"), [("fail", 1), ("warn", 0)])
def test_a_package_the_service_did_not_answer_for(tmp_path: Path, mode: str, code: int) -> None:
    skipped = {"name": "lib", "skip_reason": "Dependency not found on PyPI"}
    result = audit(tmp_path, [skipped], "", "--unchecked", mode)
    assert result.returncode == code
    assert "gave no answer for 1 packages (lib)" in result.stderr
