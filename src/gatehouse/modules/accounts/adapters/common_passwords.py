"""The bundled common-password list (see data/README.md for its provenance)."""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources


@cache
def load_common_passwords() -> frozenset[str]:
    """The list (stored case-folded), loaded once per process."""
    data = resources.files(__package__).joinpath("data/common-passwords.txt.gz").read_bytes()
    text = gzip.decompress(data).decode("utf-8")
    return frozenset(line for line in text.splitlines() if line)
