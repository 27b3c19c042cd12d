"""Calls that arrive together go as one batch (services.common.batching): how they are grouped,
when a batch goes, and that every caller gets its own answer or error, nobody else's."""

import asyncio

import grpc
import pytest

from services.common.auth import Caller, current_caller
from services.common.batching import (
    Batches,
    Coalescer,
    Send,
    Waiting,
    batch_deadline,
    own_copy,
)
from services.common.server import request_deadline


async def until(check) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("not so in time")


def waiting(item: str, deadline: float | None = None) -> Waiting[str, str]:
    return Waiting(item, deadline, asyncio.get_running_loop().create_future())


async def test_the_first_call_of_a_key_goes_now_and_the_next_ones_with_it():
    batches: Batches[str, str, str] = Batches(max_batch=10)
    assert batches.add("r1", waiting("a")) is Send.NOW
    assert batches.add("r1", waiting("b")) is None
    assert batches.add("r2", waiting("c")) is Send.NOW
    [batch] = batches.take("r1")
    assert [w.item for w in batch] == ["a", "b"]
    assert batches.take("r1") == []


async def test_calls_of_a_key_with_a_batch_on_its_way_wait_for_it():
    batches: Batches[str, str, str] = Batches(max_batch=10)
    batches.add("r1", waiting("a"))
    batches.take("r1")
    assert batches.add("r1", waiting("b")) is Send.LATER
    assert batches.add("r1", waiting("c")) is None
    assert batches.back("r1") is True  # b and c wait: they go now
    [batch] = batches.take("r1")
    assert [w.item for w in batch] == ["b", "c"]
    assert batches.back("r1") is False
    assert batches.add("r1", waiting("d")) is Send.NOW  # nothing on its way any more


async def test_a_key_with_two_batches_on_its_way_is_free_when_both_are_back():
    batches: Batches[str, str, str] = Batches(max_batch=1)
    batches.add("r1", waiting("a"))
    batches.add("r1", waiting("b"))
    assert len(batches.take("r1")) == 2
    assert batches.back("r1") is False
    assert batches.add("r1", waiting("c")) is Send.LATER
    assert batches.back("r1") is True


async def test_a_crowd_goes_in_batches_of_at_most_max_batch_in_arrival_order():
    batches: Batches[str, str, str] = Batches(max_batch=3)
    for i in range(7):
        batches.add("r1", waiting(str(i)))
    assert [[w.item for w in b] for b in batches.take("r1")] == [
        ["0", "1", "2"],
        ["3", "4", "5"],
        ["6"],
    ]


async def test_a_batch_waits_as_long_as_its_most_patient_call():
    assert batch_deadline([waiting("a", 5.0), waiting("b", 9.0), waiting("c", 7.0)]) == 9.0
    assert batch_deadline([waiting("a", 5.0), waiting("b", None)]) is None


def test_each_caller_of_a_failed_batch_gets_an_error_of_its_own():
    error = grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(("grpc-status-details-bin", b"x")),
        "down",
        "debug",
    )
    copy = own_copy(error)
    assert copy is not error
    assert (copy.code(), copy.details(), copy.trailing_metadata(), copy.debug_error_string()) == (
        grpc.StatusCode.UNAVAILABLE,
        "down",
        error.trailing_metadata(),
        "debug",
    )
    other = ValueError("x")
    assert own_copy(other) is other


class Peer:
    """A batch endpoint: answers item.upper(), fails items starting with "!" on their own, and
    fails a whole batch containing "boom". `hold` keeps batches waiting until released."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[str]]] = []
        self.contexts: list[tuple[Caller, float | None]] = []
        self.hold: asyncio.Event | None = None

    async def send(self, key: str, items: list[str]) -> list[str | Exception]:
        self.batches.append((key, items))
        self.contexts.append((current_caller.get(), request_deadline.get()))
        if self.hold is not None:
            await self.hold.wait()
        if "boom" in items:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down"
            )
        return [ValueError(i) if i.startswith("!") else i.upper() for i in items]


async def test_calls_that_arrive_together_go_as_one_batch_per_key():
    peer = Peer()
    coalescer = Coalescer(peer.send, max_batch=100, linger=1.0)
    answers = await asyncio.gather(
        coalescer.call("r1", "a"), coalescer.call("r1", "b"), coalescer.call("r2", "c")
    )
    assert answers == ["A", "B", "C"]
    assert sorted(peer.batches) == [("r1", ["a", "b"]), ("r2", ["c"])]


async def test_each_caller_gets_its_own_answer_or_error_only():
    peer = Peer()
    coalescer = Coalescer(peer.send, max_batch=100, linger=1.0)
    answers = await asyncio.gather(
        coalescer.call("r1", "a"), coalescer.call("r1", "!b"), coalescer.call("r1", "c"),
        return_exceptions=True,
    )  # fmt: skip
    assert answers[0] == "A" and answers[2] == "C"
    assert isinstance(answers[1], ValueError) and str(answers[1]) == "!b"
    assert len(peer.batches) == 1


async def test_a_batch_that_fails_fails_each_of_its_callers_and_not_the_next_batch():
    peer = Peer()
    coalescer = Coalescer(peer.send, max_batch=100, linger=1.0)
    answers = await asyncio.gather(
        coalescer.call("r1", "a"), coalescer.call("r1", "boom"), return_exceptions=True
    )
    assert all(isinstance(a, grpc.aio.AioRpcError) for a in answers)
    assert answers[0] is not answers[1]
    assert {a.code() for a in answers} == {grpc.StatusCode.UNAVAILABLE}
    assert await coalescer.call("r1", "a") == "A"


async def test_calls_arriving_while_a_batch_is_on_its_way_go_together_when_it_is_back():
    peer = Peer()
    peer.hold = asyncio.Event()
    coalescer = Coalescer(peer.send, max_batch=100, linger=60.0)
    first = asyncio.ensure_future(coalescer.call("r1", "a"))
    await until(lambda: peer.batches == [("r1", ["a"])])
    later = [asyncio.ensure_future(coalescer.call("r1", i)) for i in ("b", "c", "d")]
    await asyncio.sleep(0.01)
    assert len(peer.batches) == 1  # b, c and d wait for a's batch
    peer.hold.set()
    assert await first == "A"
    assert await asyncio.gather(*later) == ["B", "C", "D"]
    assert peer.batches == [("r1", ["a"]), ("r1", ["b", "c", "d"])]


async def test_calls_do_not_wait_longer_than_the_linger_for_a_batch_that_hangs():
    peer = Peer()
    peer.hold = asyncio.Event()
    coalescer = Coalescer(peer.send, max_batch=100, linger=0.01)
    first = asyncio.ensure_future(coalescer.call("r1", "a"))
    await until(lambda: len(peer.batches) == 1)
    later = asyncio.ensure_future(coalescer.call("r1", "b"))
    await until(lambda: len(peer.batches) == 2)  # a's batch still hangs
    assert peer.batches == [("r1", ["a"]), ("r1", ["b"])]
    peer.hold.set()
    assert (await first, await later) == ("A", "B")


async def test_a_caller_that_goes_away_leaves_the_others_their_answers():
    peer = Peer()
    peer.hold = asyncio.Event()
    coalescer = Coalescer(peer.send, max_batch=100, linger=1.0)
    gone = asyncio.ensure_future(coalescer.call("r1", "a"))
    stays = asyncio.ensure_future(coalescer.call("r1", "b"))
    await until(lambda: len(peer.batches) == 1)
    gone.cancel()
    peer.hold.set()
    assert await stays == "B"
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_a_batch_carries_no_callers_identity_and_the_latest_deadline():
    peer = Peer()
    coalescer = Coalescer(peer.send, max_batch=100, linger=1.0)

    async def as_caller(user: str, deadline: float) -> str:
        current_caller.set(Caller(user_id=user, token=f"token-of-{user}"))
        request_deadline.set(deadline)
        return await coalescer.call("r1", user)

    await asyncio.gather(as_caller("alice", 100.0), as_caller("bob", 200.0))
    assert peer.contexts == [(Caller(), 200.0)]
