"""``create_whole``: one winner among racing writers, a complete owner-only file, no leftovers."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gatehouse.shared.files import create_whole


def test_racing_writers_leave_exactly_one_whole_file_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "pepper"
    contents = [bytes([n]) * 4096 for n in range(16)]

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda content: create_whole(path, content), contents))

    assert created.count(True) == 1
    assert path.read_bytes() == contents[created.index(True)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["pepper"]


def test_an_existing_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(b"first")

    assert create_whole(path, b"second") is False
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]
