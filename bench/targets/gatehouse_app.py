"""Target (c): Gatehouse itself, ``create_app(settings)`` with settings from the environment.

``bench/run.py`` sets ``GATEHOUSE_DATABASE_URL`` / ``GATEHOUSE_REDIS_URL`` (already migrated),
``GATEHOUSE_DATA_DIR`` (dev keys and pepper) and ``GATEHOUSE_LOG_LEVEL``; everything else is the
default. Logs go to standard output, which the runner sends to /dev/null.
"""

from __future__ import annotations

from bench.targets.serving import parse_args, pin_to, serve
from gatehouse.main.app import create_app
from gatehouse.main.logging import configure_logging
from gatehouse.main.settings import Settings


def main() -> None:
    args = parse_args(__doc__ or "")
    pin_to(args.cpu)  # before the app is built: the hashing pool is sized from the affinity
    settings = Settings(_env_file=None)
    configure_logging(settings.log_level, json=settings.log_json)
    serve(create_app(settings), args.port)


if __name__ == "__main__":
    main()
