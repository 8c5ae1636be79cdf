"""The TOTP QR code shows as an image: <img src="data:image/svg+xml,..."> in Chromium."""

from __future__ import annotations

import base64
import urllib.parse

import httpx
import pytest
import segno
from playwright.sync_api import Page

from tests.browser.conftest import PASSWORD, Servers

pytestmark = pytest.mark.xdist_group("browser")

# 0 when the browser cannot show the image (decode() rejects a broken one).
NATURAL_WIDTH = """async (src) => {
  const img = new Image();
  img.src = src;
  try { await img.decode(); } catch (error) { return 0; }
  return img.naturalWidth;
}"""


def _enrolment_svg(servers: Servers) -> str:
    email = servers.new_account("qr")
    with httpx.Client(base_url=servers.direct, timeout=10) as client:
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        enrolment = client.post(
            "/api/v1/me/mfa/totp",
            json={"password": PASSWORD},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert enrolment.status_code == 200, enrolment.text
    svg: str = enrolment.json()["qr_svg"]
    return svg


def _data_urls(svg: str) -> list[str]:
    return [
        "data:image/svg+xml," + urllib.parse.quote(svg),
        "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
    ]


def test_the_enrolment_qr_svg_renders_as_an_image(page: Page, servers: Servers) -> None:
    svg = _enrolment_svg(servers)
    page.set_content("<!doctype html><title>QR</title>")
    for src in _data_urls(svg):
        assert page.evaluate(NATURAL_WIDTH, src) > 0, src[:40]


def test_an_svg_without_its_namespace_is_a_broken_image(page: Page) -> None:
    # The check above can fail: what segno's svg_inline gives (no xmlns) does not render.
    inline = segno.make("otpauth://totp/x?secret=JBSWY3DP", error="m").svg_inline(scale=4)
    assert "xmlns" not in inline
    page.set_content("<!doctype html><title>QR</title>")
    for src in _data_urls(inline):
        assert page.evaluate(NATURAL_WIDTH, src) == 0
