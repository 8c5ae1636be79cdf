"""Target (c): Gatehouse itself, ``create_app(settings)`` with settings from the environment.

``bench/run.py`` sets ``GATEHOUSE_DATABASE_URL`` / ``GATEHOUSE_REDIS_URL`` (already migrated),
``GATEHOUSE_DATA_DIR`` (dev keys and pepper) and ``GATEHOUSE_LOG_LEVEL``; everything else is the
default. Logs go to standard error, which the runner writes to the server's log file.

``BENCH_NO_REVOCATION_CHECK=1`` serves the same app with the container's ``auth.revocations``
overridden by ``NoRevocations`` (no per-request session revocation check), the baseline the
check is measured against.
"""

from __future__ import annotations

import os

from dependency_injector import providers

from bench.targets.no_revocations import NoRevocations
from bench.targets.serving import parse_args, pin_to, serve
from gatehouse.main.app import create_app
from gatehouse.main.http.protocol import LimitedHttpToolsProtocol
from gatehouse.main.logging import configure_logging
from gatehouse.main.settings import Settings
from gatehouse.modules.auth.application.ports import SessionRevocations

NO_REVOCATION_CHECK_ENV = "BENCH_NO_REVOCATION_CHECK"


def main() -> None:
    args = parse_args(__doc__ or "")
    pin_to(args.cpu)  # before the app is built: the hashing pool is sized from the affinity
    settings = Settings(_env_file=None)
    configure_logging(settings.log_level, json=settings.log_json)
    app = create_app(settings)
    if os.environ.get(NO_REVOCATION_CHECK_ENV) == "1":
        # Before the first request: the principal resolver is a Singleton built lazily, so it
        # is built with the override. run.py checks from outside that a logged-out session's
        # access token is still accepted here.
        revocations: SessionRevocations = NoRevocations()  # mypy: it fits the port
        app.state.container.auth.revocations.override(providers.Object(revocations))
    serve(app, args.port, http=LimitedHttpToolsProtocol)


if __name__ == "__main__":
    main()
