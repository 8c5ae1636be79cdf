from __future__ import annotations

import asyncio

import pytest

from gatehouse.shared.coalescing import Coalescer


class Loader:
    """Records every call; each call waits until the test releases it."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None
        self.short = False

    async def __call__(self, keys: list[str]) -> list[str]:
        self.calls.append(keys)
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [key.upper() for key in keys][: len(keys) - 1 if self.short else None]


async def test_lookups_arriving_while_a_call_is_in_flight_share_the_next_call() -> None:
    loader = Loader()
    coalescer = Coalescer(loader)
    first = asyncio.create_task(coalescer.get("a"))
    await asyncio.sleep(0)  # the first call is now in flight
    await asyncio.sleep(0)
    later = [asyncio.create_task(coalescer.get(key)) for key in ("b", "c", "d")]
    await asyncio.sleep(0)
    loader.release.set()
    assert await first == "A"
    assert await asyncio.gather(*later) == ["B", "C", "D"]
    assert loader.calls == [["a"], ["b", "c", "d"]]


async def test_lookups_made_in_one_loop_iteration_go_in_one_call() -> None:
    loader = Loader()
    loader.release.set()
    coalescer = Coalescer(loader)
    assert await asyncio.gather(*(coalescer.get(key) for key in "xyz")) == ["X", "Y", "Z"]
    assert loader.calls == [["x", "y", "z"]]
    assert await coalescer.get("w") == "W"  # idle again: the next lookup starts a new call
    assert loader.calls[-1] == ["w"]


async def test_a_failed_call_fails_every_lookup_in_it_and_the_next_call_goes_ahead() -> None:
    loader = Loader()
    loader.fail_with = ConnectionError("down")
    loader.release.set()
    coalescer = Coalescer(loader)
    results = await asyncio.gather(coalescer.get("a"), coalescer.get("b"), return_exceptions=True)
    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    loader.fail_with = None
    assert await coalescer.get("c") == "C"


async def test_a_loader_that_answers_too_few_values_fails_the_batch_rather_than_misattribute() -> (
    None
):
    loader = Loader()
    loader.short = True
    loader.release.set()
    coalescer = Coalescer(loader)
    with pytest.raises(RuntimeError, match="1 values for 2 keys"):
        await asyncio.gather(coalescer.get("a"), coalescer.get("b"))


async def test_a_cancelled_lookup_leaves_the_others_in_its_batch_answered() -> None:
    loader = Loader()
    coalescer = Coalescer(loader)
    gone = asyncio.create_task(coalescer.get("a"))
    kept = asyncio.create_task(coalescer.get("b"))
    await asyncio.sleep(0)
    gone.cancel()
    loader.release.set()
    assert await kept == "B"
    assert gone.cancelled()


async def test_lookups_can_be_spread_over_batches_of_bounded_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("gatehouse.shared.coalescing.MAX_BATCH", 2)
    loader = Loader()
    loader.release.set()
    coalescer = Coalescer(loader)
    assert await asyncio.gather(*(coalescer.get(key) for key in "abcde")) == list("ABCDE")
    assert loader.calls == [["a", "b"], ["c", "d"], ["e"]]
