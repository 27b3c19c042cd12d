"""The per-user token bucket: bursts of the per-minute limit, refilled continuously."""

import grpc
import pytest

from services.common.errors import ResourceExhausted
from services.gateway.domain import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_gets_a_burst_of_the_limit_then_rate_limited():
    limiter = RateLimiter(3, Clock())
    for _ in range(3):
        limiter.take("alice")
    with pytest.raises(ResourceExhausted) as caught:
        limiter.take("alice")
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert caught.value.reason == "RATE_LIMITED"
    assert caught.value.metadata["retry_after_seconds"] == "20.0"


def test_each_user_has_their_own_allowance():
    limiter = RateLimiter(1, Clock())
    limiter.take("alice")
    limiter.take("bob")
    with pytest.raises(ResourceExhausted):
        limiter.take("alice")


def test_the_allowance_refills_at_the_limit_per_minute():
    clock = Clock()
    limiter = RateLimiter(60, clock)
    for _ in range(60):
        limiter.take("alice")
    with pytest.raises(ResourceExhausted):
        limiter.take("alice")
    clock.now += 1.0  # one call a second comes back
    limiter.take("alice")
    with pytest.raises(ResourceExhausted):
        limiter.take("alice")


def test_a_refused_call_does_not_spend_anything():
    clock = Clock()
    limiter = RateLimiter(60, clock)
    for _ in range(60):
        limiter.take("alice")
    for _ in range(10):
        with pytest.raises(ResourceExhausted):
            limiter.take("alice")
    clock.now += 1.0
    limiter.take("alice")


def test_the_burst_never_exceeds_the_limit_after_a_long_idle_time():
    clock = Clock()
    limiter = RateLimiter(2, clock)
    clock.now += 3600
    limiter.take("alice")
    limiter.take("alice")
    with pytest.raises(ResourceExhausted):
        limiter.take("alice")


def test_idle_users_are_forgotten_so_memory_stays_bounded():
    clock = Clock()
    limiter = RateLimiter(10, clock)
    for i in range(1000):
        limiter.take(f"user-{i}")
    assert len(limiter) == 1000
    clock.now += 61
    limiter.take("late")
    assert len(limiter) == 1


@pytest.mark.parametrize(
    ("per_minute", "seconds_per_call"), [(3, 20.0), (120, 0.5), (600, 0.1), (1, 60.0)]
)
def test_one_call_comes_back_every_sixty_seconds_over_the_limit(per_minute, seconds_per_call):
    clock = Clock()
    limiter = RateLimiter(per_minute, clock)
    for _ in range(per_minute):
        limiter.take("alice")
    clock.now += seconds_per_call * 0.99
    with pytest.raises(ResourceExhausted):
        limiter.take("alice")
    clock.now += seconds_per_call * 0.02
    limiter.take("alice")
    with pytest.raises(ResourceExhausted):
        limiter.take("alice")


def test_an_idle_minute_refills_the_whole_burst_at_any_rate():
    clock = Clock()
    limiter = RateLimiter(5, clock)
    for _ in range(5):
        limiter.take("alice")
    clock.now += 36.0  # three calls' worth at 5 a minute
    for _ in range(3):
        limiter.take("alice")
    with pytest.raises(ResourceExhausted):
        limiter.take("alice")


@pytest.mark.parametrize(("per_minute", "retry_after"), [(3, "20.0"), (120, "0.5"), (6, "10.0")])
def test_the_refusal_says_when_the_next_call_comes_back(per_minute, retry_after):
    limiter = RateLimiter(per_minute, Clock())
    for _ in range(per_minute):
        limiter.take("alice")
    with pytest.raises(ResourceExhausted) as caught:
        limiter.take("alice")
    assert caught.value.metadata == {"retry_after_seconds": retry_after}
    assert f"retry in {retry_after} s" in caught.value.message


def test_the_retry_time_counts_what_has_already_refilled():
    clock = Clock()
    limiter = RateLimiter(6, clock)  # one call every 10 s
    for _ in range(6):
        limiter.take("alice")
    clock.now += 7.5
    with pytest.raises(ResourceExhausted) as caught:
        limiter.take("alice")
    assert caught.value.metadata["retry_after_seconds"] == "2.5"


def test_idle_users_are_forgotten_at_most_once_a_minute():
    clock = Clock()
    limiter = RateLimiter(10, clock)
    limiter.take("alice")
    clock.now += 30
    limiter.take("bob")
    clock.now += 30  # a minute since the last sweep: alice is idle a full minute, bob half
    limiter.take("carol")
    assert len(limiter) == 2
    clock.now += 30  # bob has been idle a minute, but the next sweep is not due yet
    limiter.take("dave")
    assert len(limiter) == 3
    clock.now += 30
    limiter.take("erin")
    assert len(limiter) == 2  # bob and carol (idle a minute or more) went; dave and erin stay


def test_a_forgotten_user_comes_back_with_the_full_burst_and_no_more():
    clock = Clock()
    limiter = RateLimiter(2, clock)
    limiter.take("alice")
    limiter.take("alice")
    clock.now += 60
    limiter.take("bob")  # sweeps alice away
    assert len(limiter) == 1
    limiter.take("alice")
    limiter.take("alice")
    with pytest.raises(ResourceExhausted):
        limiter.take("alice")
