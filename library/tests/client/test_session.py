"""Unit tests of the session's pure helpers (its life cycle is tested over the simulator)."""

import pytest

from aioswitchvox.session import (
    FIRST_RECONNECT_DELAY,
    RECONNECT_MAX_DELAY,
    _duration,
    reconnect_delay,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.42, "0.4 s"),
        (9.96, "10.0 s"),
        (42.4, "42 s"),
        (60, "1 min"),
        (252, "4 min 12 s"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
    ],
)
def test_duration_reads_as_people_write_it(seconds: float, text: str) -> None:
    """Outage lengths in the log read as people write them."""
    assert _duration(seconds) == text


def test_reconnect_delays_grow_to_the_cap() -> None:
    """0.1 s first, then doubling from 0.5 s, never past the cap (jitter ±25 %)."""
    first = [reconnect_delay(0) for _ in range(50)]
    assert all(0.75 * FIRST_RECONNECT_DELAY <= d <= 1.25 * FIRST_RECONNECT_DELAY for d in first)
    assert 0.375 <= reconnect_delay(1) <= 0.625
    assert all(reconnect_delay(n) <= 1.25 * RECONNECT_MAX_DELAY for n in range(100))
    assert reconnect_delay(40) >= 0.75 * RECONNECT_MAX_DELAY
