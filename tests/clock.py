"""Controlled time for tests: minutes of backoff and session timers run in an instant.

The session (``rtapi.session.Clock``) and the simulator (its ``sleep``) each get a view of one
:class:`VirtualClock`. Time moves only in :meth:`VirtualClock.run_for`, and only once the real
network has settled: the client and the server agree on whether a connection is open and the
session is waiting on the clock (or sits settled), so no real I/O is cut short by a jump.
"""

import asyncio
from collections.abc import Awaitable, Callable
import heapq
import itertools

# How long (real time) the network must look settled before time jumps: lets a close frame
# already on its way arrive first.
SETTLE: float = 0.01
# Real time allowed for the network to settle between two jumps.
SETTLE_WITHIN: float = 10.0


class ClockView:
    """One party's sleeps on the shared clock (the session's, or the simulator's)."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self.sleeping = 0

    def monotonic(self) -> float:
        """Return the virtual time in seconds."""
        return self._clock.now

    async def sleep(self, seconds: float) -> None:
        """Wait until the virtual clock has moved ``seconds`` on."""
        self.sleeping += 1
        try:
            await self._clock.wait_until(self._clock.now + max(seconds, 0.0))
        finally:
            self.sleeping -= 1


class VirtualClock:
    """Virtual seconds from 0; sleepers wake in deadline order as the test moves time on."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.session = ClockView(self)
        self.server = ClockView(self)

    async def wait_until(self, deadline: float) -> None:
        """Wait until the clock reaches ``deadline``."""
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    def next_deadline(self) -> float | None:
        """Return the earliest deadline anybody still waits for."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleeps
        return self._sleepers[0][0] if self._sleepers else None

    def advance_to(self, when: float) -> None:
        """Move the clock to ``when`` and wake everybody whose deadline has come."""
        self.now = max(self.now, when)
        while self._sleepers and self._sleepers[0][0] <= self.now:
            _deadline, _order, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    async def run_for(
        self,
        seconds: float,
        settled: Callable[[], bool],
        on_step: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Let ``seconds`` of virtual time pass, jumping from deadline to deadline.

        Before each jump, wait (real time) for ``settled`` to hold for :data:`SETTLE`, then run
        ``on_step`` (a test's action at that moment, such as sending a notification).
        """
        end = self.now + seconds
        while True:
            await self._settle(settled)
            if on_step is not None:
                await on_step()
                await self._settle(settled)
            deadline = self.next_deadline()
            if deadline is None or deadline > end:
                self.advance_to(end)
                return
            self.advance_to(deadline)

    @staticmethod
    async def _settle(settled: Callable[[], bool]) -> None:
        """Wait until ``settled`` holds, and still holds :data:`SETTLE` later."""
        async with asyncio.timeout(SETTLE_WITHIN):
            while True:
                while not settled():  # the network has no event for this
                    await asyncio.sleep(0.001)
                await asyncio.sleep(SETTLE)
                if settled():
                    return
