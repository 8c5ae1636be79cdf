"""Keyed hashes of short MFA codes, and QR codes for authenticator apps.

``HmacCodeHasher`` derives one HMAC-SHA256 key per ``GATEHOUSE_MFA_ENCRYPTION_KEYS`` version
(HKDF, its own ``info``, so it never equals the key that seals secrets). A backup code has 50
bits and an emailed code 20: hashed without a key, a stolen table would give them up offline.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import uuid
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gatehouse.modules.auth.application.ports import CodeHasher, QrCodes

_INFO = b"gatehouse mfa code hash v1"


class HmacCodeHasher(CodeHasher):
    def __init__(self, keys: Mapping[int, bytes]) -> None:
        if not keys:
            msg = "at least one key version is needed"
            raise ValueError(msg)
        derived = {
            version: HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
                secret
            )
            for version, secret in keys.items()
        }
        self._newest_first = [derived[version] for version in sorted(derived, reverse=True)]

    @staticmethod
    def _mac(key: bytes, user_id: uuid.UUID, code: str) -> bytes:
        return hmac.new(key, user_id.bytes + code.encode("utf-8"), hashlib.sha256).digest()

    def digest(self, user_id: uuid.UUID, code: str) -> bytes:
        return self._mac(self._newest_first[0], user_id, code)

    def candidates(self, user_id: uuid.UUID, code: str) -> list[bytes]:
        return [self._mac(key, user_id, code) for key in self._newest_first]


class SegnoQrCodes(QrCodes):
    """segno is imported on the first enrolment, not by every server process (about 1 MiB)."""

    def svg(self, data: str) -> str:
        import segno  # noqa: PLC0415 - only an authenticator's enrolment draws a QR code

        # Error correction M survives a smudged screen; the SVG scales, so scale stays small.
        # A standalone SVG document, namespace included: without ``xmlns`` a browser shows
        # ``<img src="data:image/svg+xml,...">`` as a broken image (segno's ``svg_inline``
        # leaves it out, being meant for inlining into HTML).
        out = io.BytesIO()
        segno.make(data, error="m", micro=False).save(
            out, kind="svg", xmldecl=False, svgns=True, nl=False, scale=4, border=2
        )
        return out.getvalue().decode()
