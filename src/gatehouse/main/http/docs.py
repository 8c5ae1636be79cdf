"""The API docs page: Swagger UI, every asset served by Gatehouse itself.

The page must work without internet access (the HTTP contract), so nothing comes from a CDN:
Swagger UI's JavaScript, CSS and icon are the ones the ``fastapi-swagger`` distribution ships
(it follows Swagger UI's releases), served under ``/docs/assets/``. The page has no inline
script (the start-up code is ``swagger-init.js``, its settings a JSON data block), so its CSP
allows scripts and styles from ``'self'`` only (``DOCS_CSP`` in the middleware).

ReDoc is not served, and neither is an OAuth redirect page: the token endpoint's password
grant, the one flow Swagger UI's Authorize button uses here, needs no redirect.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

import gatehouse.main.http

router = APIRouter(include_in_schema=False)

ASSETS_PATH = "/docs/assets"


@dataclass(frozen=True, slots=True)
class Asset:
    package: str
    file: str
    media_type: str


ASSETS = {
    "swagger-ui-bundle.js": Asset(
        "fastapi_swagger.resources", "swagger-ui-bundle.js", "text/javascript; charset=utf-8"
    ),
    "swagger-ui.css": Asset(
        "fastapi_swagger.resources", "swagger-ui.css", "text/css; charset=utf-8"
    ),
    "favicon-32x32.png": Asset("fastapi_swagger.resources", "favicon-32x32.png", "image/png"),
    "swagger-init.js": Asset(
        gatehouse.main.http.__name__, "static/swagger-init.js", "text/javascript; charset=utf-8"
    ),
}


@cache
def _asset_bytes(name: str) -> bytes:
    """Read once per process: the files do not change while it runs."""
    asset = ASSETS[name]
    return resources.files(asset.package).joinpath(asset.file).read_bytes()


def _page(root: str, title: str, openapi_url: str) -> str:
    config = {
        "url": openapi_url,
        "deepLinking": True,
        "showExtensions": True,
        "showCommonExtensions": True,
        "persistAuthorization": False,
        "validatorUrl": None,  # never ask an outside validator about the document
    }
    # A JSON data block is not run, so CSP does not govern it; "<" is escaped so no value can
    # close the <script> element.
    data = json.dumps(config).replace("<", "\\u003c")
    assets = f"{root}{ASSETS_PATH}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} - Swagger UI</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script id="swagger-config" type="application/json">{data}</script>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    app = request.app
    return HTMLResponse(_page(root, app.title, f"{root}{app.openapi_url}"))


@router.get(ASSETS_PATH + "/{name}")
async def swagger_asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(404)  # rendered as a problem document like any unknown path
    return Response(
        _asset_bytes(name),
        media_type=ASSETS[name].media_type,
        headers={"cache-control": "public, max-age=3600"},
    )
