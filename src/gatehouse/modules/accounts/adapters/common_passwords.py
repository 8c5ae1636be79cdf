"""The bundled common-password list (see data/README.md for its provenance), held compactly.

A ``frozenset`` of the 100 000 strings cost about 9 MiB of every server process (a ``str`` object
and a hash-table slot each). Here each entry is one 64-bit BLAKE2b digest of its UTF-8 form in a
sorted ``array`` (8 bytes an entry, about 0.8 MiB), looked up by binary search. Two different
passwords share a digest with a chance of about 100 000 / 2**64 (5e-15): a strong password
refused as common is that unlikely, and a common one is never let through.
"""

from __future__ import annotations

import gzip
import io
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from functools import cache
from hashlib import blake2b
from importlib import resources

_DIGEST_BYTES = 8


def _digest(text: str) -> int:
    digest = blake2b(text.encode("utf-8"), digest_size=_DIGEST_BYTES).digest()
    return int.from_bytes(digest, "little")


class CommonPasswords:
    """A read-only set of case-folded passwords: ``in`` and ``len``, nothing else."""

    __slots__ = ("_digests",)

    def __init__(self, lines: Iterable[str]) -> None:
        digests = {_digest(word) for line in lines if (word := line.rstrip("\n"))}
        self._digests = array("Q", sorted(digests))

    def __contains__(self, candidate: object) -> bool:
        if not isinstance(candidate, str):
            return False
        wanted = _digest(candidate)
        index = bisect_left(self._digests, wanted)
        return index < len(self._digests) and self._digests[index] == wanted

    def __len__(self) -> int:
        return len(self._digests)


@cache
def load_common_passwords() -> CommonPasswords:
    """The list (stored case-folded), loaded once per process."""
    data = resources.files(__package__).joinpath("data/common-passwords.txt.gz").read_bytes()
    with io.TextIOWrapper(gzip.GzipFile(fileobj=io.BytesIO(data)), encoding="utf-8") as lines:
        return CommonPasswords(lines)
