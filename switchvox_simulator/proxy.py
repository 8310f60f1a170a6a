"""A TCP proxy that can black-hole a link: the half-open fault the simulator cannot make alone.

:class:`BlackholeProxy` sits between a client and the simulator and can silently swallow every
byte in both directions while keeping both TCP connections open: a true half-open link (a pulled
cable, a stateful firewall forgetting the flow). Unlike
``SwitchvoxSimulator.set_responding(False)``, not even a WebSocket close frame is answered.
"""

import asyncio
import contextlib

_CHUNK = 65536


class BlackholeProxy:
    """A TCP proxy from 127.0.0.1:<port> to a target that can black-hole its traffic."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.blackhole = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close the listener and every proxied connection, and end their tasks."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.drop()
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)

    def drop(self) -> None:
        """Abort every proxied connection (both sides)."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Connect to the target and pump bytes both ways."""
        try:
            target_reader, target_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, target_writer))
        for source, sink in ((reader, target_writer), (target_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy bytes from ``source`` to ``sink``, dropping them while black-holing."""
        try:
            while data := await source.read(_CHUNK):
                if self.blackhole:
                    continue
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if not self.blackhole:
                with contextlib.suppress(OSError, RuntimeError):
                    sink.close()
            self._writers.discard(sink)
