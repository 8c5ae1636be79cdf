"""Target (a): a bare FastAPI route returning constant JSON (the ceiling for any route)."""

from __future__ import annotations

from fastapi import FastAPI

from bench.targets.serving import parse_args, pin_to, serve


def create_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    args = parse_args(__doc__ or "")
    pin_to(args.cpu)
    serve(create_app(), args.port)


if __name__ == "__main__":
    main()
