"""The library's own time per notification, without Home Assistant: ``python -m benchmarks.micro``.

Feeds the WebSocket frames the simulator's load generator sends (one long-lived channel per
extension, round robin) through the wire's packet handler, the client, parsing and the
session's line tracker, with a no-op observer: no socket and no event loop wake-ups, so the
figure (µs per notification, best and median of the runs) moves only with the library's code.
"""

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

import aiohttp

from custom_components.switchvox.rtapi import (
    LineChange,
    SwitchvoxClient,
    SwitchvoxError,
    SwitchvoxSession,
)
from custom_components.switchvox.rtapi.wire import SocketIOConnection
from switchvox_simulator import SwitchvoxSimulator, format_timestamp
from switchvox_simulator.load import LoadGenerator, add_accounts

from .protocol import PASSWORD, extensions


class _Observer:
    """Count line changes; ignore the rest."""

    def __init__(self) -> None:
        self.changes = 0

    def session_up(self, refused: frozenset[str]) -> None:
        """Ignore."""

    def session_down(self) -> None:
        """Ignore."""

    def reconnect_failed(self, error: SwitchvoxError, attempt: int) -> None:
        """Ignore."""

    def login_refused(self, error: SwitchvoxError) -> None:
        """Ignore."""

    def sessions_unstable(self, unstable: bool) -> None:
        """Ignore."""

    def line_changed(self, change: LineChange | None) -> None:
        """Count (the session's subscriber)."""
        self.changes += 1


def frames(watched: list[str], count: int) -> list[str]:
    """Return ``count`` notification frames over ``watched``, as the load generator sends them."""
    sim = SwitchvoxSimulator("127.0.0.1", 0)
    add_accounts(sim, watched, PASSWORD)
    generator = LoadGenerator(sim, watched)
    now = int(time.time())
    return [
        # serverTime moves on once a second at 4,000 notifications/s.
        "4"
        + generator._packet(  # noqa: SLF001
            watched[index % len(watched)], str(format_timestamp(now + index // 4000, "iso"))
        )
        for index in range(count)
    ]


async def measure(count: int, notifications: int, runs: int) -> dict[str, Any]:
    """Return µs per notification (best, median, runs) and GC collections per run."""
    watched = extensions(count)
    messages = frames(watched, notifications)
    client = SwitchvoxClient("127.0.0.1")
    observer = _Observer()
    SwitchvoxSession(
        client=client, extension=watched[0], password=PASSWORD, watched=watched, observer=observer
    ).subscribe(observer.line_changed)
    http = aiohttp.ClientSession()
    transport = SocketIOConnection(
        http,
        client._handle_event,  # noqa: SLF001
        lambda: None,
        received=client.received,
    )
    transport._events = frozenset(("response", "notification"))  # noqa: SLF001
    receive = transport._receive  # noqa: SLF001
    per_run: list[float] = []
    collections: list[int] = []
    for _ in range(runs):
        gc.collect()
        before = sum(generation["collections"] for generation in gc.get_stats())
        start = time.perf_counter_ns()
        for message in messages:
            receive((message,))  # one WebSocket frame
        per_run.append((time.perf_counter_ns() - start) / notifications / 1e3)
        collections.append(sum(s["collections"] for s in gc.get_stats()) - before)
    await http.close()
    if observer.changes != notifications * runs:  # every frame changes its line's status
        raise RuntimeError(f"{observer.changes} line changes of {notifications * runs} frames")
    return {
        "best_us": min(per_run),
        "median_us": statistics.median(per_run),
        "runs_us": per_run,
        "gc_collections": collections,
        "changes": observer.changes,
    }


def main() -> None:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extensions", type=int, default=1000)
    parser.add_argument("--notifications", type=int, default=40000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(measure(args.extensions, args.notifications, args.runs))
    runs = " ".join(f"{value:.2f}" for value in result["runs_us"])
    print(
        f"{args.extensions} extensions, {args.notifications} notifications x {args.runs}: "
        f"best {result['best_us']:.2f} µs, median {result['median_us']:.2f} µs per notification "
        f"(runs {runs}); GC collections per run {result['gc_collections']}"
    )


if __name__ == "__main__":
    main()
