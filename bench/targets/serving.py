"""How every target is served, so the only difference between targets is the app.

One uvicorn worker, uvloop + httptools, no access log, no server header, the process pinned to
one CPU before the app is built (so thread pools sized from the affinity see one core).
"""

from __future__ import annotations

import argparse
import asyncio
import os

import uvicorn
from starlette.types import ASGIApp


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, required=True, help="the one CPU the server may use")
    return parser.parse_args()


def pin_to(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})


def serve(app: ASGIApp, port: int, http: type[asyncio.Protocol] | str = "httptools") -> None:
    """``http``: Gatehouse passes the protocol ``gatehouse serve`` uses (httptools with the head
    limits), so its figures include that work."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        workers=1,
        loop="uvloop",
        http=http,
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
    )
    uvicorn.Server(config).run()
