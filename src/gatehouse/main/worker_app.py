"""The app of one ``gatehouse serve --workers N`` process (``serving.serve``).

uvicorn starts each worker as a new interpreter and calls ``create_app_from_environment``
there: its settings come from the environment, where the parent put the embedded servers' URLs
and the worker's share of the hashing pool; the parent has already checked the secrets and
migrated the database.
"""

from __future__ import annotations

import atexit

from fastapi import FastAPI

from gatehouse.main.app import create_app
from gatehouse.main.logging import configure_logging
from gatehouse.main.monitoring import start_monitoring
from gatehouse.main.settings import Settings


def create_app_from_environment() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    monitoring = start_monitoring(settings)
    atexit.register(monitoring.stop)
    return create_app(settings, monitoring=monitoring)
