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
