"""The QR code an authenticator app scans: an SVG document a browser shows as an image."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gatehouse.modules.auth.adapters.mfa_crypto import SegnoQrCodes

SVG_NS = "http://www.w3.org/2000/svg"
URI = "otpauth://totp/Gatehouse:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Gatehouse"


def test_the_qr_svg_root_is_in_the_svg_namespace() -> None:
    # Without xmlns, <img src="data:image/svg+xml,..."> is a broken image in browsers.
    root = ET.fromstring(SegnoQrCodes().svg(URI))
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert int(root.attrib["width"]) > 0
    assert int(root.attrib["height"]) > 0


def test_the_qr_svg_is_one_line_without_an_xml_declaration_or_script() -> None:
    svg = SegnoQrCodes().svg(URI)
    assert svg.startswith(f'<svg xmlns="{SVG_NS}"')
    assert "<?xml" not in svg
    assert "\n" not in svg
    assert "<script" not in svg
