"""The raw bcrypt verify rate: one thread pinned to one CPU, ``checkpw`` in a loop.

The input is what Gatehouse feeds bcrypt: ``base64(HMAC-SHA256(pepper, password))``, 44 bytes.
Prints one JSON object. Run as ``python -m bench.bcrypt_rate --cpu 0 --iterations 20``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import time

import bcrypt


def measure(iterations: int, rounds: int) -> dict[str, float]:
    pepper = secrets.token_bytes(32)
    password = secrets.token_urlsafe(18).encode("ascii")
    prehashed = base64.b64encode(hmac.new(pepper, password, hashlib.sha256).digest())
    assert len(prehashed) == 44
    hashed = bcrypt.hashpw(prehashed, bcrypt.gensalt(rounds))
    if not bcrypt.checkpw(prehashed, hashed):  # also warms caches and the CPU
        msg = "bcrypt.checkpw rejected its own hash"
        raise RuntimeError(msg)
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(iterations):
        bcrypt.checkpw(prehashed, hashed)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    return {
        "rounds": rounds,
        "iterations": iterations,
        "seconds": wall,
        "verifies_per_second": iterations / wall,
        "cpu_share": cpu / wall,  # below ~0.95 means something else ran on the CPU
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cpu", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    print(json.dumps(measure(args.iterations, args.rounds)))


if __name__ == "__main__":
    main()
