"""/docs in a real browser with no internet: Swagger UI renders from Gatehouse's own assets."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Offline, Servers

pytestmark = pytest.mark.xdist_group("browser")

# Records every Content-Security-Policy violation on the page, from its first script on.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_the_docs_page_renders_swagger_ui_with_no_internet(
    page: Page, servers: Servers, offline: Offline
) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    response = page.goto(f"{servers.api}/docs")
    assert response is not None
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "http" not in csp  # no CDN, no other host

    title = page.locator(".swagger-ui .info .title")
    title.wait_for()
    assert "Gatehouse" in title.inner_text()
    page.locator(".swagger-ui .opblock").first.wait_for()  # the operations, from /openapi.json
    assert page.locator(".swagger-ui .opblock").count() > 10
    assert page.locator(".swagger-ui .btn.authorize").is_visible()

    assert offline.blocked == []  # it did not even try the internet
    assert failed == []
    assert page.evaluate("window.cspViolations") == []
