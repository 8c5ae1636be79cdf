"""`make audit`: pip-audit over every package uv.lock pins, with a reviewed ignore list.

    python .ci/audit.py REQUIREMENTS [--unchecked fail|warn] [--ignore-file FILE] [--report FILE]

REQUIREMENTS is `uv export` of the lock, with hashes, so pip-audit checks exactly the locked
versions without resolving or installing anything. The verdict:

- a known vulnerability fails, unless the ignore file lists it (by its id or an alias) with a
  reason and an `until` date that has not passed; an expired entry fails, so each exception is
  decided again;
- a package the vulnerability service could not be asked about (it did not answer for it) fails
  with `--unchecked fail`, the default, and is counted and named with `--unchecked warn`.

`--report FILE` evaluates a pip-audit JSON report already made instead of running pip-audit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

IGNORE_FILE = Path(__file__).with_name("audit-ignore.toml")


@dataclass(frozen=True, slots=True)
class Ignored:
    id: str
    package: str
    reason: str
    until: date


def load_ignores(path: Path) -> list[Ignored]:
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("ignore", [])
    ignores = []
    for entry in entries:
        missing = {"id", "package", "reason", "until"} - set(entry)
        if missing or not str(entry.get("reason", "")).strip():
            msg = f"{path}: entry {entry.get('id', '?')} needs id, package, reason and until"
            raise SystemExit(msg)
        ignores.append(Ignored(entry["id"], entry["package"], entry["reason"], entry["until"]))
    return ignores


def run_pip_audit(requirements: Path) -> dict[str, Any]:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [str(pip_audit), "--requirement", str(requirements), "--require-hashes"]
        command += ["--disable-pip", "--progress-spinner", "off", "--format", "json"]
        # pip-audit from this virtualenv, on a file `make audit` just exported
        subprocess.run(  # noqa: S603
            [*command, "--output", str(report)],
            check=False,
            timeout=600,
            stdout=subprocess.DEVNULL,  # its one-line summary ignores the packages it skipped
        )
        if not report.exists():
            msg = "pip-audit wrote no report"
            raise SystemExit(msg)
        data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
        return data


def verdict(report: dict[str, Any], ignores: list[Ignored], today: date, unchecked: str) -> int:
    findings, skipped, used = [], [], set()
    for dependency in report["dependencies"]:
        if "skip_reason" in dependency:
            skipped.append(dependency["name"])
        for vuln in dependency.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            match = next((i for i in ignores if i.id in ids), None)
            name = f"{dependency['name']} {dependency['version']}: {vuln['id']}"
            if match is None:
                fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
                findings.append(f"VULNERABLE {name} (fixed in: {fixed})")
            elif match.until < today:
                findings.append(f"IGNORE EXPIRED {name}: {match.reason} (until {match.until})")
            else:
                used.add(match.id)
                print(f"ignored {name}: {match.reason} (until {match.until})")
    for line in findings:
        print(line, file=sys.stderr)
    failed = bool(findings)
    for stale in (i for i in ignores if i.id not in used):
        print(f"note: {stale.id} ({stale.package}) in the ignore file matched nothing")
    total = len(report["dependencies"])
    print(
        f"pip-audit: {total} locked packages, {total - len(skipped)} checked, "
        f"{len(findings)} failing, {len(used)} ignored, {len(skipped)} not checked"
    )
    if skipped:
        word = "FAIL" if unchecked == "fail" else "WARNING"
        print(
            f"{word}: the vulnerability service gave no answer for {len(skipped)} packages "
            f"({', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}): "
            "they were not checked",
            file=sys.stderr,
        )
        failed = failed or unchecked == "fail"
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements", type=Path, nargs="?")
    parser.add_argument("--unchecked", choices=("fail", "warn"), default="fail")
    parser.add_argument("--ignore-file", type=Path, default=IGNORE_FILE)
    parser.add_argument("--report", type=Path, help="a pip-audit JSON report to judge")
    args = parser.parse_args()
    ignores = load_ignores(args.ignore_file)
    if args.report:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    elif args.requirements:
        report = run_pip_audit(args.requirements)
    else:
        parser.error("give the exported requirements, or --report")
    return verdict(report, ignores, datetime.now(UTC).date(), args.unchecked)


if __name__ == "__main__":
    raise SystemExit(main())
