"""Fail when the LINE coverage of src/ is below a threshold; show branch coverage alongside.

`make test` runs the suite under pytest-cov (xdist workers and CLI subprocesses combined) and
writes a JSON report; this script reads its totals. coverage's own ``fail_under`` (and
pytest-cov's ``--cov-fail-under``) would gate the combined figure, which also counts branches
when ``branch = true``; the gate here is on lines alone: covered_lines / num_statements.

usage: python .ci/coverage_gate.py coverage.json --min-lines 90
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _percent(covered: int, total: int) -> float:
    return 100.0 * covered / total if total else 100.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("report", type=Path, help="the JSON report (coverage json / pytest-cov)")
    parser.add_argument("--min-lines", type=float, required=True, help="minimum line coverage, %%")
    args = parser.parse_args(argv)

    try:
        totals = json.loads(args.report.read_text(encoding="utf-8"))["totals"]
        statements = int(totals["num_statements"])
        lines = int(totals["covered_lines"])
        branches = int(totals.get("num_branches", 0))
        taken = int(totals.get("covered_branches", 0))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"coverage gate: cannot read totals from {args.report}: {error!r}", file=sys.stderr)
        return 2
    if statements == 0:
        print(f"coverage gate: {args.report} measured no statements", file=sys.stderr)
        return 2

    line_percent = _percent(lines, statements)
    branch_note = (
        f"branches {_percent(taken, branches):.2f}% ({taken}/{branches})"
        if branches
        else "branches not measured"
    )
    print(f"coverage of src/: lines {line_percent:.2f}% ({lines}/{statements}), {branch_note}")
    if line_percent < args.min_lines:
        print(
            f"FAIL: line coverage {line_percent:.2f}% is below the required {args.min_lines:g}%",
            file=sys.stderr,
        )
        return 1
    print(f"line coverage gate passed (minimum {args.min_lines:g}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
