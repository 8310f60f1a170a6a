"""The line protocol between the orchestrator (which hosts the simulator) and a worker.

The worker runs Home Assistant (or a bare socket.io client) in a process of its own, so that
the simulator never competes for its event loop and its memory figures are its own. It sends
one JSON object per line on stdout (``{"op": ..., ...}``) and, for every op except ``result``,
reads one JSON reply line on stdin.
"""

import asyncio
import json
import sys
from typing import Any, Final

PASSWORD: Final = "bench-Pa55"  # noqa: S105 - a simulator credential
FIRST_EXTENSION: Final = 10000


def extensions(count: int) -> list[str]:
    """Return the watched extensions of a scenario (the first one logs in)."""
    return [str(FIRST_EXTENSION + index) for index in range(count)]


class Link:
    """The worker's end: ask the orchestrator to act on the simulator, report results."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None

    async def _stdin(self) -> asyncio.StreamReader:
        if self._reader is None:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=1 << 24)
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer
            )
            self._reader = reader
        return self._reader

    def send(self, op: str, **fields: Any) -> None:
        """Send one message without waiting for a reply."""
        sys.stdout.write(json.dumps({"op": op, **fields}) + "\n")
        sys.stdout.flush()

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one message and return the orchestrator's reply."""
        reader = await self._stdin()
        self.send(op, **fields)
        line = await reader.readline()
        if not line:
            raise ConnectionError("The orchestrator went away")
        reply: dict[str, Any] = json.loads(line)
        return reply
