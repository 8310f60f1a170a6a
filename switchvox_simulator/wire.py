"""socket.io 1.x / Engine.IO v3 plumbing: the server object, frozen sockets, aborts, its tasks."""

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import logging
import time
from typing import Any, Final
import warnings

from aiohttp import web
import engineio_v3.asyncio_server
import engineio_v3.packet
import socketio_v4
import socketio_v4.asyncio_server

SOCKETIO_PATH: Final = "rtapi/socket.io"

# socket.io/Engine.IO log every packet (passwords included) at INFO: keep them at WARNING.
_SIO_LOGGER = logging.getLogger(f"{__name__}.socketio")
_SIO_LOGGER.setLevel(logging.WARNING)
_EIO_LOGGER = logging.getLogger(f"{__name__}.engineio")
_EIO_LOGGER.setLevel(logging.WARNING)
# The socket.io 1.x server library calls asyncio.iscoroutinefunction, which Python 3.14
# deprecates, for every event: the warning is silenced for those modules only (the test suite
# says the same in pyproject.toml). Python 3.16 removes the function, and the library fails on
# every event: the simulator then needs a socket.io 1.x server of another kind.
warnings.filterwarnings(
    "ignore",
    message=r".*iscoroutinefunction",
    category=DeprecationWarning,
    module=r"(socketio_v4|engineio_v3)\.",
)

_FROZEN_POLL_INTERVAL: Final = 0.05

type OnConnect = Callable[[str], Awaitable[None]]
type OnRequest = Callable[[str, Any], Awaitable[None]]


async def cancel_all(tasks: set[asyncio.Task[Any]] | set[asyncio.Future[Any]]) -> None:
    """Cancel and await a set of tasks until it stays empty."""
    while tasks:
        pending = list(tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        tasks.difference_update(pending)


class Wire:
    """One socket.io server mounted on an aiohttp app, per simulator start."""

    def __init__(
        self,
        *,
        ping_interval: float,
        ping_timeout: float,
        responding: Callable[[], bool],
        on_connect: OnConnect,
        on_disconnect: OnConnect,
        on_request: OnRequest,
    ) -> None:
        self._responding = responding
        self._io_tasks: set[asyncio.Future[Any]] = set()
        self._transports: set[asyncio.Transport] = set()
        sio = socketio_v4.AsyncServer(
            async_mode="aiohttp",
            logger=_SIO_LOGGER,
            engineio_v3_logger=_EIO_LOGGER,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
        )
        self._sio: Any = sio
        eio = sio.eio
        original_start = eio.start_background_task

        def start_background_task(target: Any, *args: Any, **kwargs: Any) -> Any:
            """Track every Engine.IO background task so close() can cancel it."""
            task = original_start(target, *args, **kwargs)
            self._io_tasks.add(task)
            task.add_done_callback(self._io_tasks.discard)
            return task

        eio.start_background_task = start_background_task
        original_connect = sio._handle_eio_connect  # noqa: SLF001

        async def on_eio_connect(sid: str, environ: Any) -> Any:
            """Instrument a new Engine.IO socket before socket.io handles the connection."""
            socket = eio.sockets.get(sid)
            if socket is not None:
                self._instrument(socket)
            return await original_connect(sid, environ)

        async def connect(sid: str, environ: Any) -> None:
            await on_connect(sid)

        async def request(sid: str, *args: Any) -> None:
            await on_request(sid, args[0] if args else None)

        eio.on("connect", on_eio_connect)
        sio.on("connect", connect)
        sio.on("disconnect", on_disconnect)
        sio.on("request", request)

    def attach(self, app: web.Application) -> None:
        """Serve socket.io on ``app`` at /rtapi/socket.io."""
        self._sio.attach(app, socketio_v4_path=SOCKETIO_PATH)

    @property
    def allow_upgrades(self) -> bool:
        """Return whether open packets offer the websocket upgrade."""
        return bool(self._sio.eio.allow_upgrades)

    @allow_upgrades.setter
    def allow_upgrades(self, value: bool) -> None:
        """Offer (or stop offering) the websocket upgrade in new open packets."""
        self._sio.eio.allow_upgrades = value

    def _instrument(self, socket: Any) -> None:
        """Make an Engine.IO socket go silent in both directions while not responding."""
        original_receive = socket.receive
        original_send = socket.send
        original_poll = socket.poll
        responding = self._responding

        async def receive(pkt: Any) -> None:
            """Drop incoming packets (pings unanswered, requests unread) while frozen."""
            if not responding():
                if pkt.packet_type == engineio_v3.packet.PING:
                    socket.last_ping = time.time()  # keep the server's own ping check quiet
                return
            await original_receive(pkt)

        async def send(pkt: Any) -> None:
            """Drop outgoing packets while frozen."""
            if responding():
                await original_send(pkt)

        async def poll() -> Any:
            """Hold long-poll GETs open while frozen (no 400 after ping_timeout)."""
            # Polled: a close (drop/stop) must wake it too, and sockets have no event for that.
            while not responding() and not socket.closed:  # noqa: ASYNC110
                await asyncio.sleep(_FROZEN_POLL_INTERVAL)
            return await original_poll()

        socket.receive = receive
        socket.send = send
        socket.poll = poll

    def remember(self, transport: asyncio.Transport | None) -> None:
        """Keep the TCP transport of a socket.io request, so drop() can abort it."""
        if transport is not None:
            self._transports = {t for t in self._transports if not t.is_closing()}
            self._transports.add(transport)

    async def emit(self, event: str, payload: Any, sid: str) -> None:
        """Emit one event to one connection (ignoring connections that just went away)."""
        # Not sio.emit(): python-socketio 4.6's AsyncManager.emit passes bare coroutines to
        # asyncio.wait(), which Python 3.11+ rejects.
        if self._sio.manager.is_connected(sid, "/"):
            await self._sio._emit_internal(sid, event, payload, "/")  # noqa: SLF001

    async def send_packet(self, sid: str, packet: str) -> None:
        """Send an already encoded socket.io packet (text) to one connection, as it is."""
        await self._sio.eio.send(sid, packet, binary=False)

    @property
    def engine_sessions(self) -> int:
        """Return the number of open Engine.IO sessions (a closed one may stay listed a while)."""
        return sum(1 for socket in self._sio.eio.sockets.values() if not socket.closed)

    async def disconnect(self, sid: str) -> None:
        """Close one connection the socket.io way."""
        await self._sio.disconnect(sid)

    async def close_engines(self) -> None:
        """Close every Engine.IO session politely (its close packet), without socket.io's own."""
        sockets = self._sio.eio.sockets
        for sid, socket in list(sockets.items()):
            # Not waiting for the close packet to be fetched: a long-poll that comes later
            # finds the session gone (HTTP 500) and would never fetch it.
            await socket.close(wait=False)
            sockets.pop(sid, None)

    async def drop(self) -> None:
        """Abruptly close every connection (TCP abort), as a PBX restart would."""
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        sockets = self._sio.eio.sockets
        for sid, socket in list(sockets.items()):
            with contextlib.suppress(Exception):
                await socket.close(wait=False, abort=True)
            socket.queue.put_nowait(None)  # release a pending long-poll or websocket writer
            sockets.pop(sid, None)

    async def cancel_tasks(self) -> None:
        """Cancel the Engine.IO background tasks (pings, writers)."""
        await cancel_all(self._io_tasks)

    def forget(self) -> None:
        """Forget every Engine.IO socket (after the HTTP server is gone)."""
        self._sio.eio.sockets.clear()
