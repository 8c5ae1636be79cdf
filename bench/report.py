"""Measurements, the targets they are held to, the printed table and the JSON file."""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.loadgen import WrkResult
from bench.servers import CpuUsage

# Printed order: each reference first, Gatehouse beside it.
_KEYS = (
    "a.live c.live c.info.live p.live b.me c.me c.me.pair c.norev.me c.info.me p.me d.refresh"
    " c.refresh c.login p.login"
    " c.storm.login"
    " c.storm.live"
)
_ORDER = {key: i for i, key in enumerate(_KEYS.split())}
MAX_ERROR_SHARE = 0.01  # more errors than this and a figure says nothing about the route
NOISY_OTHER_CPU = 0.10  # other processes on the server CPU above this: the figure is suspect
LOAD_SATURATED = 0.90  # the load CPU busier than this: the load generator may be the limit


@dataclass(frozen=True, slots=True)
class Measurement:
    key: str
    target: str
    request: str
    connections: int
    duration_s: float
    result: WrkResult
    usage: CpuUsage
    server_cpus: str  # Cpus_allowed_list of the server process, as the kernel saw it
    load_cpus: str  # ... and of the load generator
    round: int = 1
    rss_mib: float = 0.0  # the server's resident memory right after this measurement

    @property
    def per_cpu_second(self) -> float:
        """Requests per second of server CPU: steadier than req/s when other work steals CPU."""
        return self.result.requests_per_second / max(self.usage.server, 1e-9)

    @property
    def error_share(self) -> float:
        return self.result.errors / max(1, self.result.requests)

    @property
    def valid(self) -> bool:
        return self.result.requests > 0 and self.error_share <= MAX_ERROR_SHARE


@dataclass(frozen=True, slots=True)
class BcryptRate:
    rounds: int
    iterations: int
    seconds: float
    verifies_per_second: float
    cpu_share: float


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    rule: str
    value: float | None
    threshold: float
    status: str  # PASS, MISS, INVALID (too many errors), SKIP (not measured in this run), or
    # INFO (a ratio reported without a target)
    detail: str
    primary: bool


def _ratio_check(
    name: str,
    measured: Measurement | None,
    reference: Measurement | float | None,
    threshold: float,
    *,
    reference_label: str,
    primary: bool,
    per_round: Sequence[float] = (),
) -> Check:
    """``per_round``: the ratio within each round; when given, their median is the measure."""
    rule = f">= {threshold:.2f} x {reference_label}"
    if measured is None or reference is None:
        return Check(name, rule, None, threshold, "SKIP", "not measured in this run", primary)
    base = reference if isinstance(reference, float) else reference.result.requests_per_second
    broken = [m for m in (measured, reference) if isinstance(m, Measurement) and not m.valid]
    ratio = measured.result.requests_per_second / base if base else 0.0
    detail = f"{measured.result.requests_per_second:,.1f} / {base:,.1f} req/s"
    if per_round:
        ratio = statistics.median(per_round)
        detail = f"median of rounds {', '.join(f'{r:.2f}' for r in per_round)}; medians {detail}"
    if isinstance(reference, Measurement):
        per_cpu = measured.per_cpu_second / reference.per_cpu_second
        detail += f"; per server CPU-second {per_cpu:.2f} x"
    if broken:
        names = ", ".join(f"{m.key} ({m.error_share:.1%} errors)" for m in broken)
        return Check(name, rule, ratio, threshold, "INVALID", f"{detail}; {names}", primary)
    status = "PASS" if ratio >= threshold else "MISS"
    return Check(name, rule, ratio, threshold, status, detail, primary)


def _info_ratio(
    name: str, measured: Measurement | None, reference: Measurement | None, reference_label: str
) -> Check:
    """A ratio the issue asks to report, with no target: INFO (or INVALID, SKIP)."""
    check = _ratio_check(
        name, measured, reference, 0.0, reference_label=reference_label, primary=False
    )
    rule = f"ratio to {reference_label}, no target"
    if measured is None or check.status != "PASS":
        return dataclasses.replace(check, rule=rule)
    latency = f"; p50 {measured.result.p50_ms:.2f} ms, p99 {measured.result.p99_ms:.2f} ms"
    return dataclasses.replace(check, rule=rule, status="INFO", detail=check.detail + latency)


def _p99_check(name: str, measured: Measurement | None, limit_ms: float) -> Check:
    rule = f"p99 <= {limit_ms:.0f} ms"
    if measured is None:
        return Check(name, rule, None, limit_ms, "SKIP", "not measured in this run", primary=True)
    p99 = measured.result.p99_ms
    detail = f"p99 {p99:.2f} ms, p50 {measured.result.p50_ms:.2f} ms"
    if not measured.valid:
        detail += f"; {measured.error_share:.1%} errors"
        return Check(name, rule, p99, limit_ms, "INVALID", detail, primary=True)
    status = "PASS" if p99 <= limit_ms else "MISS"
    return Check(name, rule, p99, limit_ms, status, detail, primary=True)


def paired_ratios(
    rounds: Mapping[str, Sequence[Measurement]], key: str, reference: str
) -> list[float]:
    """``key`` over ``reference`` within each round both were measured in (minutes apart at
    most), so a machine that slows down over the run slows both sides of each ratio."""
    by_round = {m.round: m for m in rounds.get(reference, ()) if m.result.requests_per_second}
    return [
        m.result.requests_per_second / by_round[m.round].result.requests_per_second
        for m in rounds.get(key, ())
        if m.round in by_round
    ]


def _peer_checks(
    m: Callable[[str], Measurement | None], paired: Callable[[str, str], list[float]]
) -> list[Check]:
    """Gatehouse ÷ fastapi-users (issue 17): at least 2.5 × on /me, never below 1 ×."""
    return [
        _ratio_check(
            name,
            m(key),
            m(peer),
            threshold,
            reference_label="(p)",
            primary=True,
            per_round=paired(key, peer) if per_round else (),
        )
        for name, key, peer, threshold, per_round in (
            ("Gatehouse GET /health/live vs (p) fastapi-users", "c.live", "p.live", 1.0, True),
            ("Gatehouse GET /api/v1/me vs (p) GET /users/me", "c.me", "p.me", 2.5, True),
            ("Gatehouse POST /auth/login vs (p) /auth/jwt/login", "c.login", "p.login", 1.0, False),
        )
    ]


def checks(
    measurements: Mapping[str, Measurement],
    bcrypt_rate: float | None,
    rounds: Mapping[str, Sequence[Measurement]] | None = None,
) -> list[Check]:
    m = measurements.get

    def paired(key: str, reference: str) -> list[float]:
        return paired_ratios(rounds or {}, key, reference)

    result = [
        _ratio_check(
            "Gatehouse GET /health/live vs (a)",
            m("c.live"),
            m("a.live"),
            0.80,
            reference_label="(a)",
            primary=True,
            per_round=paired("c.live", "a.live"),
        ),
        _ratio_check(
            "Gatehouse GET /api/v1/me vs (b)",
            m("c.me"),
            m("b.me"),
            0.60,
            reference_label="(b)",
            primary=True,
            per_round=paired("c.me", "b.me"),
        ),
        _ratio_check(
            "Gatehouse POST /auth/login vs raw bcrypt",
            m("c.login"),
            bcrypt_rate,
            0.85,
            reference_label="bcrypt verifies/s",
            primary=True,
        ),
        _ratio_check(
            "/me with the revocation check vs without: slowdown <= 15 %",
            m("c.me.pair"),
            m("c.norev.me"),
            0.85,
            reference_label="no check",
            primary=True,
            per_round=paired("c.me.pair", "c.norev.me"),
        ),
        _p99_check("GET /health/live during the login storm", m("c.storm.live"), 25.0),
        _ratio_check(
            "Gatehouse POST /auth/refresh vs (d)",
            m("c.refresh"),
            m("d.refresh"),
            0.50,
            reference_label="(d)",
            primary=True,
            per_round=paired("c.refresh", "d.refresh"),
        ),
        _info_ratio("Gatehouse POST /auth/refresh vs (a)", m("c.refresh"), m("a.live"), "(a)"),
        *_peer_checks(m, paired),
    ]
    if "c.info.live" in measurements:
        result += [
            _ratio_check(
                "  same, request log at info: /health/live vs (a)",
                m("c.info.live"),
                m("a.live"),
                0.80,
                reference_label="(a)",
                primary=False,
                per_round=paired("c.info.live", "a.live"),
            ),
            _ratio_check(
                "  same, request log at info: /me vs (b)",
                m("c.info.me"),
                m("b.me"),
                0.60,
                reference_label="(b)",
                primary=False,
                per_round=paired("c.info.me", "b.me"),
            ),
        ]
    return result


def _columns(rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    align: Callable[[str, int], str]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            align = str.rjust if i in right else str.ljust
            cells.append(align(cell, widths[i]))
        lines.append("  ".join(cells).rstrip())
    return lines


def table(measurements: Sequence[Measurement], rounds: Mapping[str, list[Measurement]]) -> str:
    rows = [
        [
            "target",
            "request",
            "conns",
            "req/s",
            "rounds",
            "req/CPU-s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "errors",
            "server CPU",
            "other CPU",
            "load CPU",
            "RSS MiB",
        ]
    ]
    for item in measurements:
        result = item.result
        rows.append(
            [
                item.target,
                item.request,
                str(item.connections),
                f"{result.requests_per_second:,.1f}",
                _spread(rounds.get(item.key, [item])),
                f"{item.per_cpu_second:,.0f}",
                f"{result.p50_ms:.2f}",
                f"{result.p99_ms:.2f}",
                f"{result.max_ms:.1f}",
                f"{result.errors}" + (" !" if not item.valid else ""),
                f"{item.usage.server:.0%}",
                f"{item.usage.other:.0%}" + (" !" if item.usage.other > NOISY_OTHER_CPU else ""),
                f"{item.usage.load:.0%}" + (" !" if item.usage.load > LOAD_SATURATED else ""),
                f"{item.rss_mib:.0f}",
            ]
        )
    lines = _columns(rows, right=set(range(2, 14)))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _spread(items: Sequence[Measurement]) -> str:
    """``n=3 ±4%``: how far the rounds' req/s lie from the middle one."""
    if len(items) < 2:
        return "n=1"
    rates = sorted(m.result.requests_per_second for m in items)
    middle = rates[(len(rates) - 1) // 2]
    half_range = (rates[-1] - rates[0]) / 2 / middle if middle else 0.0
    return f"n={len(items)} ±{half_range:.0%}"


def checks_table(items: Sequence[Check]) -> str:
    rows = [["target", "rule", "measured", "result", "detail"]]
    for check in items:
        if check.value is None:
            value = "-"
        elif check.rule.startswith("p99"):
            value = f"{check.value:.2f} ms"
        else:
            value = f"{check.value:.2f} x"
        if check.primary:
            status = check.status
        else:
            status = "info" if check.status == "INFO" else check.status.lower() + " (info)"
        rows.append([check.name, check.rule, value, status, check.detail])
    lines = _columns(rows, right={2})
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class Report:
    started_at: str
    environment: dict[str, Any]
    config: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    bcrypt: list[BcryptRate] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def bcrypt_rate(self) -> float | None:
        if not self.bcrypt:
            return None
        return sum(b.verifies_per_second for b in self.bcrypt) / len(self.bcrypt)

    def rounds(self) -> dict[str, list[Measurement]]:
        grouped: dict[str, list[Measurement]] = {}
        for item in self.measurements:
            grouped.setdefault(item.key, []).append(item)
        return grouped

    def by_key(self) -> dict[str, Measurement]:
        """The median round of each measurement, by req/s (the lower middle of an even count)."""
        medians = {}
        for key, items in self.rounds().items():
            ordered = sorted(items, key=lambda m: m.result.requests_per_second)
            medians[key] = ordered[(len(ordered) - 1) // 2]
        return medians

    def evaluate(self) -> None:
        self.checks = checks(self.by_key(), self.bcrypt_rate, self.rounds())

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = _plain(self)
        document["bcrypt_rate"] = self.bcrypt_rate
        for entry, item in zip(document["measurements"], self.measurements, strict=True):
            entry["valid"] = item.valid
            entry["error_share"] = item.error_share
        path.write_text(json.dumps(document, indent=2) + "\n")

    def render(self) -> str:
        medians = self.by_key()
        order = list(dict.fromkeys(m.key for m in self.measurements))
        ordered = sorted(
            medians.values(), key=lambda m: (_ORDER.get(m.key, len(_ORDER)), order.index(m.key))
        )
        parts = [table(ordered, self.rounds())]
        if self.bcrypt:
            runs = ", ".join(
                f"{b.verifies_per_second:.2f}/s ({b.iterations} in {b.seconds:.1f} s, "
                f"CPU share {b.cpu_share:.0%})"
                for b in self.bcrypt
            )
            rate = self.bcrypt_rate or 0.0
            parts.append(
                f"raw bcrypt checkpw, cost {self.bcrypt[0].rounds}, one thread: {runs}\n"
                f"  -> reference rate {rate:.2f} verifies/s (mean)"
            )
        parts.append(checks_table(self.checks))
        misses = [c for c in self.checks if c.primary and c.status in {"MISS", "INVALID"}]
        if misses:
            parts.append("MISSED: " + "; ".join(f"{c.name} ({c.status})" for c in misses))
        elif any(c.status == "SKIP" for c in self.checks if c.primary):
            parts.append("All measured targets met (some were skipped).")
        else:
            parts.append("All targets met.")
        parts.extend(f"note: {note}" for note in self.notes)
        return "\n\n".join(parts)
