"""Time-ordered identifiers (UUID version 7, RFC 9562), strictly increasing within a process."""

from __future__ import annotations

import os
import threading
import time
import uuid

_COUNTER_MAX = 0xFFF  # rand_a: 12 bits
_lock = threading.Lock()
_last_ms = 0
_last_counter = 0


def new_id() -> uuid.UUID:
    """Return a fresh UUIDv7: 48-bit Unix milliseconds, a 12-bit counter, 62 random bits.

    Ids minted in the same millisecond count up in ``rand_a`` (RFC 9562 section 6.2, method 1),
    so "newest first" by id is exact for ids from one process. Python 3.11's ``uuid`` has no v7.
    """
    global _last_ms, _last_counter
    rand = int.from_bytes(os.urandom(10), "big")
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        if now_ms > _last_ms:
            counter = (rand >> 64) & 0x3FF  # a random start, leaving room to count up
        else:  # same millisecond (or the clock stepped back): continue the sequence
            now_ms, counter = _last_ms, _last_counter + 1
            if counter > _COUNTER_MAX:
                now_ms, counter = now_ms + 1, 0
        _last_ms, _last_counter = now_ms, counter
    value = (now_ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= counter << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF  # rand_b, 62 bits
    return uuid.UUID(int=value)
