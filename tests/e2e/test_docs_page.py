"""/docs loads nothing from the internet: every asset is Gatehouse's own, under a 'self' CSP.

The page rendering in a real browser with no network is tests/browser/test_docs_page.py.
"""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import assert_problem


async def test_the_docs_page_loads_only_its_own_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(sources) == [
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/swagger-init.js",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    assert "<script>" not in page.text  # no inline script: the CSP does not allow one
    assert '"url": "/openapi.json"' in page.text


async def test_the_docs_page_csp_allows_this_server_only(client: httpx.AsyncClient) -> None:
    csp = (await client.get("/docs")).headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp
    assert "http" not in csp


async def test_the_swagger_ui_assets_are_served_with_their_types(
    client: httpx.AsyncClient,
) -> None:
    expected = {
        "swagger-ui-bundle.js": "text/javascript",
        "swagger-init.js": "text/javascript",
        "swagger-ui.css": "text/css",
        "favicon-32x32.png": "image/png",
    }
    for name, media_type in expected.items():
        response = await client.get(f"/docs/assets/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(media_type)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert len(response.content) > 100
    bundle = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    assert "SwaggerUIBundle" in bundle


async def test_an_unknown_docs_asset_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/docs/assets/nope.js"), 404, "not_found")
    assert_problem(await client.get("/docs/assets/..%2Fdocs.py"), 404, "not_found")


async def test_redoc_and_the_oauth_redirect_page_are_not_served(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/redoc", "/docs/oauth2-redirect"):
        assert (await client.get(path)).status_code == 404
