"""The line-coverage gate `make test` runs after the suite (.ci/coverage_gate.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

GATE = Path(__file__).resolve().parents[2] / ".ci" / "coverage_gate.py"


def gate(tmp_path: Path, totals: dict[str, int] | None) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "coverage.json"
    if totals is not None:
        report.write_text(json.dumps({"totals": totals}), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(GATE), str(report), "--min-lines", "90"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def totals(lines: int, statements: int, taken: int = 0, branches: int = 0) -> dict[str, int]:
    return {
        "covered_lines": lines,
        "num_statements": statements,
        "covered_branches": taken,
        "num_branches": branches,
    }


@pytest.mark.parametrize(("lines", "expected_code"), [(900, 0), (950, 0), (899, 1), (0, 1)])
def test_the_gate_compares_covered_lines_with_statements(
    tmp_path: Path, lines: int, expected_code: int
) -> None:
    # 100/400 branches: at 900/1000 lines the combined figure is 71.4 %, yet the line gate passes.
    result = gate(tmp_path, totals(lines, 1000, taken=100, branches=400))
    assert result.returncode == expected_code, result.stdout + result.stderr
    assert f"lines {lines / 10:.2f}% ({lines}/1000)" in result.stdout
    assert "branches 25.00% (100/400)" in result.stdout
    if expected_code:
        assert "below the required 90%" in result.stderr


@pytest.mark.parametrize(
    "broken", [None, {"num_statements": 10}, totals(0, 0)], ids=["missing", "partial", "empty"]
)
def test_an_unreadable_or_empty_report_fails_the_gate(
    tmp_path: Path, broken: dict[str, int] | None
) -> None:
    result = gate(tmp_path, broken)
    assert result.returncode == 2
    assert "coverage gate:" in result.stderr
