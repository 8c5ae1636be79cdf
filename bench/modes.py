"""``bench/run.py --outbox [N]`` and ``bench/run.py --scale``: the two long measurements of issue
17 item 4, outside the default run (``make bench``), each by its own script's code:

    bench/run.py --outbox [N] [--concurrency C] [--limit S]    # bench/outbox_drain.py, N mails
    bench/run.py --scale [--users U] [--rows R] [--keep] ...   # bench/scale.py

What follows the mode goes to that script (``bench/run.py --outbox --help``, ``--scale --help``).
Both need a PostgreSQL role that may create databases (``GATEHOUSE_BENCH_DATABASE_URL``) and
drop their scratch database at the end; see bench/README.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

MODES = ("--outbox", "--scale")


def _outbox(args: list[str]) -> Coroutine[Any, Any, int]:
    from bench import outbox_drain  # noqa: PLC0415 - only this mode needs aiosmtpd

    if args and args[0].replace("_", "").isdigit():  # --outbox N: the number of mails
        args = ["--mails", args[0], *args[1:]]
    return outbox_drain.main(args)


def _scale(args: list[str]) -> Coroutine[Any, Any, int]:
    from bench import scale  # noqa: PLC0415 - only this mode loads the app in the runner

    return scale.main(args)


Mode = Callable[[list[str]], Coroutine[Any, Any, int]]
_RUN: dict[str, Mode] = {"--outbox": _outbox, "--scale": _scale}


def run_mode(argv: Sequence[str]) -> int | None:
    """The exit status of the mode ``argv`` asks for (its flag first or anywhere before its own
    options); ``None`` when it asks for none: the default run."""
    chosen = [arg for arg in argv if arg in MODES]
    if not chosen:
        return None
    if len(chosen) > 1:
        raise SystemExit(f"error: one of {', '.join(MODES)} at a time")
    at = list(argv).index(chosen[0])
    if at:
        raise SystemExit(f"error: {chosen[0]} comes first; its options follow it")
    return asyncio.run(_RUN[chosen[0]](list(argv[1:])))
