"""Print the OpenAPI document (``make openapi``) without connecting to anything."""

from __future__ import annotations

import json
import sys

from gatehouse.main.app import create_app
from gatehouse.main.settings import Settings


def main() -> None:
    settings = Settings(
        _env_file=None,
        database_url="postgresql+asyncpg://unused/unused",
        redis_url="redis://unused:6379/0",
    )
    json.dump(create_app(settings).openapi(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
