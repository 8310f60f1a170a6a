"""Call flows: drive the PBX model and publish every resulting notification to its subscribers."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
import contextlib
from typing import Any

from .pbx import JsonDict, Notification, Pbx, PbxError

type Publish = Callable[[str, Any], Awaitable[None]]
"""Send one notification's params to the subscribers of an extension: (extension, params)."""
type Spawn = Callable[[Coroutine[Any, Any, Any], str], object]
"""Run a coroutine as a task owned (and cancelled on stop) by the simulator: (coro, name)."""


class CallFlows:
    """Ring, answer, hold, resume, hang up and place calls, notifying the watchers of each line."""

    def __init__(
        self, pbx: Pbx, publish: Publish, spawn: Spawn, *, outside_answer_delay: float = 1.0
    ) -> None:
        self.pbx = pbx
        self.publish = publish
        self.spawn = spawn
        self.outside_answer_delay = outside_answer_delay

    async def _publish(self, events: Iterable[Notification]) -> None:
        """Send notifications to the subscribers of their extensions, in order."""
        for event in events:
            await self.publish(event.extension, event.params)

    async def ring(
        self,
        extension: str,
        caller_name: str = "",
        caller_number: str = "",
        queue: str | None = None,
    ) -> str:
        """Ring ``extension`` with an outside call; return the channel's uniqueId."""
        unique_id, events = self.pbx.ring(extension, caller_name, caller_number, queue=queue)
        await self._publish(events)
        return unique_id

    async def answer(self, unique_id: str) -> None:
        """Answer a ringing channel (both legs of an internal call go onThePhone)."""
        await self._publish(self.pbx.answer(unique_id))

    async def hold(self, unique_id: str) -> None:
        """Put a channel on hold."""
        await self._publish(self.pbx.hold(unique_id))

    async def resume(self, unique_id: str) -> None:
        """Resume a held channel."""
        await self._publish(self.pbx.resume(unique_id))

    async def hang_up(self, unique_id: str) -> None:
        """End a channel (and its peer): final idle notifications."""
        await self._publish(self.pbx.hang_up(unique_id))

    async def call(
        self,
        from_extension: str,
        to: str,
        *,
        dial_data: JsonDict | None = None,
        auto_answer: bool = True,
    ) -> tuple[str, str | None]:
        """Place a call A->B (B None for an outside number, which answers by itself)."""
        a_uid, b_uid, events = self.pbx.call(from_extension, to, dial_data=dial_data)
        await self._publish(events)
        if b_uid is None and auto_answer:
            self.spawn(self._answer_later(a_uid), f"switchvox-sim-answer-{a_uid}")
        return a_uid, b_uid

    async def dial(self, from_extension: str, to: str, dial_data: JsonDict | None) -> object:
        """Place a call as the API's ``dial`` method does (an outside number answers by itself)."""
        return await self.call(from_extension, to, dial_data=dial_data)

    async def _answer_later(self, unique_id: str) -> None:
        """Answer an outside call after outside_answer_delay, if it is still calling."""
        await asyncio.sleep(self.outside_answer_delay)
        with contextlib.suppress(PbxError):
            if self.pbx.channel(unique_id).status == "calling":
                await self.answer(unique_id)

    async def notify(self, extension: str, params: Any, *, raw: bool = False) -> None:
        """Send ``params`` (merged over a synthetic ringing channel unless raw) to subscribers."""
        if not raw:
            params = self.pbx.default_params(extension, params)
        await self.publish(extension, params)

    async def flood(self, extension: str, count: int) -> None:
        """Send ``count`` notifications as fast as possible (ringing/idle on fresh channels)."""
        for index, params in enumerate(self.pbx.flood_params(extension, count)):
            await self.publish(extension, params)
            if index % 200 == 199:
                await asyncio.sleep(0)
