"""Lifelike random call traffic for demos and manual testing."""

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING, Any, Final, Self

from .calls import CallFlows
from .pbx import PbxError

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence

_LOGGER = logging.getLogger(__name__)

STAFF_NAMES: Final = (
    "Alice Archer",
    "Bruno Baptiste",
    "Chloé Chen",
    "Dmitri Dvořák",
    "Esther Eze",
    "Farid Farouk",
    "Greta Gunnarsdóttir",
    "Hiro Hayashi",
    "Ines Ibáñez",
    "Jamal Jones",
)

CALLER_NAMES: Final = (
    "Acme Plumbing",
    "Maria Gonzalez",
    "WIRELESS CALLER",
    "Dr. Priya Natarajan",
    "Oak Street Dental",
    "Tom O'Brien",
    "Springfield Library",
    "Lena Fischer",
    "",
    "Unknown",
    "Kwame Mensah",
    "Northwind Traders",
)

AREA_CODES: Final = ("212", "312", "415", "503", "617", "720", "808", "919")


def staff_name(index: int) -> str:
    """Return a lifelike display name for the index-th extension."""
    if index < len(STAFF_NAMES):
        return STAFF_NAMES[index]
    return f"Extension User {index + 1}"


def fake_number(rng: random.Random) -> str:
    """Return a fictional North American number (555-01xx is reserved for fiction)."""
    return f"{rng.choice(AREA_CODES)}5550{rng.randint(100, 199)}"


class DemoTraffic:
    """Generate random incoming, internal and outgoing calls through a simulator's call flows."""

    def __init__(
        self,
        calls: CallFlows,
        extensions: Sequence[str],
        *,
        calls_per_minute: float = 6.0,
        max_concurrent: int = 4,
        seed: int | None = None,
    ) -> None:
        self._calls = calls
        self._extensions = list(extensions)
        self._rate = max(calls_per_minute, 0.01)
        self._max_concurrent = max_concurrent
        self._rng = random.Random(seed)
        self._active = 0

    def start(self) -> Self:
        """Run the traffic as a task of the simulator (cancelled when it stops)."""
        self._calls.spawn(self.run(), "switchvox-sim-demo")
        return self

    async def run(self) -> None:
        """Start calls forever at the configured average rate (cancel to stop)."""
        while True:
            await asyncio.sleep(self._rng.expovariate(self._rate / 60.0))
            if self._active >= self._max_concurrent or not self._extensions:
                continue
            roll = self._rng.random()
            if roll < 0.6:
                flow = self._incoming
            elif roll < 0.85 and len(self._extensions) > 1:
                flow = self._internal
            else:
                flow = self._outgoing
            self._active += 1
            self._calls.spawn(self._guard(flow), "switchvox-sim-demo-call")

    async def _guard(self, flow: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run one call flow, counting it as active; a channel ended elsewhere is fine."""
        try:
            with contextlib.suppress(PbxError):
                await flow()
        finally:
            self._active -= 1

    async def _pause(self, low: float, high: float) -> None:
        """Sleep a random time between low and high seconds."""
        await asyncio.sleep(self._rng.uniform(low, high))

    async def _talk(self, unique_id: str) -> None:
        """Talk for a while, maybe with a hold in the middle, then hang up."""
        await self._pause(3, 25)
        if self._rng.random() < 0.25:
            await self._calls.hold(unique_id)
            _LOGGER.info("demo: call on hold [%s]", unique_id)
            await self._pause(3, 12)
            await self._calls.resume(unique_id)
            await self._pause(2, 20)
        await self._calls.hang_up(unique_id)
        _LOGGER.info("demo: hung up [%s]", unique_id)

    async def _incoming(self) -> None:
        """Ring an extension from outside; answer it or let it be missed."""
        extension = self._rng.choice(self._extensions)
        name, number = self._rng.choice(CALLER_NAMES), fake_number(self._rng)
        unique_id = await self._calls.ring(extension, caller_name=name, caller_number=number)
        _LOGGER.info("demo: %s (%s) rings %s [%s]", name or "?", number, extension, unique_id)
        await self._pause(2, 12)
        if self._rng.random() < 0.3:
            _LOGGER.info("demo: %s missed the call [%s]", extension, unique_id)
            await self._calls.hang_up(unique_id)
            return
        await self._calls.answer(unique_id)
        await self._talk(unique_id)

    async def _internal(self) -> None:
        """Call one extension from another."""
        caller, callee = self._rng.sample(self._extensions, 2)
        a_uid, b_uid = await self._calls.call(caller, callee)
        _LOGGER.info("demo: %s calls %s [%s, %s]", caller, callee, a_uid, b_uid)
        await self._pause(2, 8)
        if b_uid is None or self._rng.random() < 0.2:
            await self._calls.hang_up(a_uid)
            return
        await self._calls.answer(b_uid)
        await self._talk(self._rng.choice((a_uid, b_uid)))

    async def _outgoing(self) -> None:
        """Call an outside number from an extension; it answers by itself."""
        extension, number = self._rng.choice(self._extensions), fake_number(self._rng)
        a_uid, _ = await self._calls.call(extension, number)
        _LOGGER.info("demo: %s calls out to %s [%s]", extension, number, a_uid)
        await asyncio.sleep(self._calls.outside_answer_delay + 0.1)
        await self._talk(a_uid)
