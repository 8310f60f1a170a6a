"""The simulated PBX server: an aiohttp site joining the wire, JSON-RPC, call flows and faults."""

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from datetime import UTC, tzinfo
from functools import partial
import logging
from pathlib import Path
import shutil
import tempfile
import time
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from aiohttp.typedefs import Handler

from . import handshake, tls
from .calls import CallFlows
from .faults import Faults, HandshakeFault
from .pbx import TOPIC_LINE, JsonDict, Pbx
from .rpc import (
    ALREADY_AUTHENTICATED,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    NOT_AUTHENTICATED,
    NOT_AUTHORIZED,
    JsonRpc,
    SessionTable,
    Sleep,
    redact,
)
from .wire import SOCKETIO_PATH, Wire, cancel_all

__all__ = [
    "ALREADY_AUTHENTICATED",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "NOT_AUTHENTICATED",
    "NOT_AUTHORIZED",
    "SOCKETIO_PATH",
    "SwitchvoxSimulator",
    "redact",
]

_LOGGER = logging.getLogger(__name__)


def _drifted_time(drift: float) -> float:
    """Return the time of a clock ``drift`` seconds off the true time."""
    return time.time() + drift


class SwitchvoxSimulator:
    """A fake Switchvox PBX: Realtime API over socket.io, call flows, and fault injection."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = False,
        ping_interval: float = 25,
        ping_timeout: float = 60,
        timestamp_format: str = "iso",
        timezone: tzinfo = UTC,
        clock_drift: float = 0.0,
        outside_answer_delay: float = 1.0,
        cert_dir: Path | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Serve on ``host``:``port`` (0: a free port).

        The PBX's times are sent in ``timestamp_format``, in ``timezone`` where the format has
        one, from a clock ``clock_drift`` seconds off the true time, as a real PBX's may be.
        """
        self.host = host
        self.port = port
        self.tls = tls
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.pbx = Pbx(
            clock=partial(_drifted_time, clock_drift),
            timestamp_format=timestamp_format,
            zone=timezone,
        )
        self.faults = Faults()
        self.session_table = SessionTable()
        self.calls = CallFlows(
            self.pbx, self._publish, self.spawn, outside_answer_delay=outside_answer_delay
        )
        self.rpc = JsonRpc(
            self.pbx,
            self.session_table,
            self.faults.rpc,
            emit=self._emit,
            disconnect=self._disconnect,
            place_call=self.calls.dial,
            spawn=self.spawn,
            sleep=sleep,
        )
        self.cert_path: Path | None = None
        self.key_path: Path | None = None
        self._cert_dir = cert_dir
        self._tmpdir: Path | None = None
        self._routes: list[web.AbstractRouteDef] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._ssl_context: Any = None
        self._wire: Wire | None = None
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start the simulator."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the simulator."""
        await self.stop()

    @property
    def url(self) -> str:
        """Return the base URL clients connect to (an IPv6 host in brackets)."""
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Serve more HTTP routes beside socket.io (from the next start on)."""
        self._routes.extend(routes)

    async def start(self) -> None:
        """Bind the listening socket and start serving."""
        if self._runner is not None:
            raise RuntimeError("Simulator already started")
        self._stopping = False
        if self.tls:
            if self._cert_dir is not None:
                self.cert_path, self.key_path = tls.load_or_generate(self._cert_dir)
            else:
                self._tmpdir = Path(tempfile.mkdtemp(prefix="switchvox-sim-"))
                self.cert_path, self.key_path = tls.generate_self_signed(self._tmpdir)
            self._ssl_context = tls.server_context(self.cert_path, self.key_path)
        self._runner = web.AppRunner(self._build_app(), access_log=None, shutdown_timeout=1.0)
        try:
            await self._runner.setup()
            await self._listen()
        except BaseException:
            await self.stop()
            raise

    def _build_app(self) -> web.Application:
        """Create the aiohttp app with the socket.io server and any extra routes."""
        wire = Wire(
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            responding=lambda: self.faults.connection.responding,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_request=self.rpc.handle,
        )
        self._wire = wire

        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            """Route every request through the simulator's connection gate."""
            return await self._gate(request, handler)

        app = web.Application(middlewares=[middleware])
        wire.attach(app)
        app.router.add_routes(self._routes)
        return app

    async def _listen(self) -> None:
        """Open the TCP listener (on self.port; the first time 0 picks a free port)."""
        assert self._runner is not None  # noqa: S101
        site = web.TCPSite(
            self._runner, self.host, self.port, ssl_context=self._ssl_context, reuse_address=True
        )
        await site.start()
        self._site = site
        server = site._server  # noqa: SLF001
        if server is not None and self.port == 0:
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close every connection and the listener, cancel all tasks, remove temp files."""
        self._stopping = True
        await cancel_all(self._tasks)
        wire = self._wire
        if wire is not None:
            await wire.cancel_tasks()
            await self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None
        # Requests still in flight during cleanup may have started more tasks.
        if wire is not None:
            await wire.cancel_tasks()
        await cancel_all(self._tasks)
        if wire is not None:
            wire.forget()
            self._wire = None
        self.session_table.clear()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by the simulator (cancelled by stop)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """Forget a finished task and log its failure."""
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            _LOGGER.error("Simulator task %s failed", task.get_name(), exc_info=exc)

    # -- connections --------------------------------------------------------------------------

    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count and maybe refuse or break new handshakes; remember socket.io transports."""
        if not request.path.startswith(f"/{SOCKETIO_PATH}") or self._wire is None:
            return await handler(request)
        faults = self.faults.connection
        if "sid" not in request.query:
            fault = faults.next_handshake()
            if self._stopping or not faults.accepting:
                return web.json_response({"error": "PBX is not accepting connections"}, status=503)
            self._wire.allow_upgrades = fault != "polling_only"
            answer = await handshake.faulty_answer(
                fault, request, ping_interval=self.ping_interval, ping_timeout=self.ping_timeout
            )
            if answer is not None:
                return answer
        elif faults.handshake == "polling_only" and handshake.is_websocket(request):
            return handshake.refuse_websocket()
        self._wire.remember(request.transport)
        return await handler(request)

    async def _on_connect(self, sid: str) -> None:
        """Register a new socket.io connection."""
        self.session_table.open(sid)

    async def _on_disconnect(self, sid: str) -> None:
        """Forget a closed socket.io connection and its subscriptions."""
        self.session_table.close(sid)

    async def _emit(self, event: str, payload: Any, sid: str) -> None:
        """Emit one event to one connection."""
        if self._wire is not None:
            await self._wire.emit(event, payload, sid)

    async def _disconnect(self, sid: str) -> None:
        """Close one connection (after logout)."""
        if self._wire is not None:
            await self._wire.disconnect(sid)

    async def _publish(self, extension: str, params: Any) -> None:
        """Send one notification with exactly ``params`` to the subscribers of ``extension``."""
        payload = {"jsonrpc": "2.0", "method": TOPIC_LINE, "params": params}
        for sid in self.session_table.subscribers(extension):
            await self._emit("notification", payload, sid)
            if (session := self.session_table.get(sid)) is not None:
                await self.rpc.notified(session)

    def subscribers(self, extension: str) -> list[str]:
        """Return the socket.io sids of the connections subscribed to ``extension``."""
        return self.session_table.subscribers(extension)

    async def send_packet(self, sid: str, packet: str) -> None:
        """Send an encoded socket.io packet (text) to one connection as it is (load fast path)."""
        if self._wire is None:
            raise RuntimeError("Simulator not started")
        await self._wire.send_packet(sid, packet)

    # -- control API: accounts and call flows -----------------------------------------------------

    def add_account(
        self,
        extension: str,
        password: str,
        display_name: str,
        can_watch: Iterable[str] | None = None,
        can_dial: bool = True,
    ) -> None:
        """Create or replace an account (can_watch None = may watch everyone)."""
        self.pbx.add_account(
            extension, password, display_name, can_watch=can_watch, can_dial=can_dial
        )

    @property
    def outside_answer_delay(self) -> float:
        """Return the seconds an outside number takes to answer a call."""
        return self.calls.outside_answer_delay

    @outside_answer_delay.setter
    def outside_answer_delay(self, value: float) -> None:
        """Set the seconds an outside number takes to answer a call."""
        self.calls.outside_answer_delay = value

    async def ring(
        self,
        extension: str,
        caller_name: str = "",
        caller_number: str = "",
        queue: str | None = None,
    ) -> str:
        """Ring ``extension`` with an outside call; return the channel's uniqueId."""
        return await self.calls.ring(extension, caller_name, caller_number, queue)

    async def answer(self, unique_id: str) -> None:
        """Answer a ringing channel (both legs of an internal call go onThePhone)."""
        await self.calls.answer(unique_id)

    async def hold(self, unique_id: str) -> None:
        """Put a channel on hold."""
        await self.calls.hold(unique_id)

    async def resume(self, unique_id: str) -> None:
        """Resume a held channel."""
        await self.calls.resume(unique_id)

    async def hang_up(self, unique_id: str) -> None:
        """End a channel (and its peer): final idle notifications."""
        await self.calls.hang_up(unique_id)

    async def call(
        self,
        from_extension: str,
        to: str,
        *,
        dial_data: JsonDict | None = None,
        auto_answer: bool = True,
    ) -> tuple[str, str | None]:
        """Place a call A->B (B None for an outside number, which answers by itself)."""
        return await self.calls.call(
            from_extension, to, dial_data=dial_data, auto_answer=auto_answer
        )

    async def notify(self, extension: str, params: Any, *, raw: bool = False) -> None:
        """Send ``params`` (merged over a synthetic ringing channel unless raw) to subscribers."""
        await self.calls.notify(extension, params, raw=raw)

    async def flood(self, extension: str, count: int) -> None:
        """Send ``count`` notifications as fast as possible (ringing/idle on fresh channels)."""
        await self.calls.flood(extension, count)

    async def send_raw(self, event: str, payload: Any) -> None:
        """Emit any event and payload to every connection."""
        for session in self.session_table:
            await self._emit(event, payload, session.sid)

    # -- control API: permissions -----------------------------------------------------------------

    def set_password(self, extension: str, password: str) -> None:
        """Change an account's password (existing sessions stay logged in)."""
        self.pbx.account(extension).password = password

    def revoke_watch(self, extension: str, target: str) -> None:
        """Stop ``extension`` from watching ``target`` and drop its live subscriptions to it."""
        self.pbx.revoke_watch(extension, target)
        if target != extension:
            self.session_table.unwatch(extension, target)

    def grant_watch(self, extension: str, target: str) -> None:
        """Allow ``extension`` to watch ``target``."""
        self.pbx.grant_watch(extension, target)

    def set_can_dial(self, extension: str, value: bool) -> None:
        """Grant or revoke the dial permission."""
        self.pbx.account(extension).can_dial = value

    # -- control API: faults ----------------------------------------------------------------------

    async def drop_connections(self) -> None:
        """Abruptly close every client connection (TCP abort), as a PBX restart would."""
        if self._wire is not None:
            await self._wire.drop()
        self.session_table.clear()

    def expire_sessions(self) -> int:
        """End every API session but keep the connections open; return how many ended.

        Requests but login are then answered -32000 "Not authenticated" and no notification is
        sent, as by a PBX whose sessions time out while the socket stays up.
        """
        return self.session_table.expire()

    async def close_engines(self) -> None:
        """Close every connection with an Engine.IO close (no socket.io disconnect first)."""
        if self._wire is not None:
            await self._wire.close_engines()

    def set_responding(self, value: bool) -> None:
        """Freeze (False) or thaw every connection: no responses, no pongs, nothing sent."""
        self.faults.connection.responding = value

    def set_delay(self, method: str, seconds: float) -> None:
        """Delay handling of (and so the response to) ``method`` by ``seconds`` (0 = none)."""
        self.faults.rpc.set_delay(method, seconds)

    def set_ignore(self, method: str, value: bool = True) -> None:
        """Swallow requests for ``method``: not handled and never answered."""
        self.faults.rpc.set_ignore(method, value)

    def set_error(
        self, method: str, code: int | None, message: str = "Error", data: Any = None
    ) -> None:
        """Answer every ``method`` request with this error, unhandled (code None clears)."""
        self.faults.rpc.set_error(method, code, message, data)

    def set_flapping(
        self,
        *,
        after: str | None = None,
        seconds: float | None = None,
        notifications: int | None = None,
    ) -> None:
        """Close every session at one point of its life (no argument: stop).

        Right after the ``after`` method's answer ("login", "subscribe"), ``seconds`` after its
        login, or after so many ``notifications``. A PBX at its session limit, another client
        taking the extension's session, or a proxy with a broken idle timer look like this.
        """
        self.faults.rpc.set_flapping(after=after, seconds=seconds, notifications=notifications)

    def set_string_ids(self, value: bool = True) -> None:
        """Echo numeric JSON-RPC ids as strings ("1" for 1), as some servers do."""
        self.faults.rpc.string_ids = value

    def set_accepting(self, value: bool) -> None:
        """Refuse (False) new Engine.IO handshakes with HTTP 503; the port stays bound."""
        self.faults.connection.accepting = value

    def set_handshake_fault(self, fault: HandshakeFault, times: int | None = None) -> None:
        """Break the next ``times`` new connections (None: all until cleared) with ``fault``.

        Faults: "close_after_upgrade", "open_without_sid", "html_page", "proxy_502",
        "polling_only"; "none" restores normal handshakes (see :mod:`.handshake`).
        """
        self.faults.connection.set_handshake(fault, times)

    async def set_listening(self, value: bool) -> None:
        """Close (False) or reopen the TCP listener on the same port: connection refused."""
        if not value and self._site is not None:
            await self._site.stop()
            self._site = None
        elif value and self._site is None and self._runner is not None:
            await self._listen()

    # -- introspection ----------------------------------------------------------------------------

    @property
    def responding(self) -> bool:
        """Return whether connections are answered (False = half-open)."""
        return self.faults.connection.responding

    @property
    def accepting(self) -> bool:
        """Return whether new connections are accepted."""
        return self.faults.connection.accepting

    @property
    def handshake_fault(self) -> HandshakeFault:
        """Return the fault new connections get ("none" = a normal handshake)."""
        return self.faults.connection.handshake

    @property
    def handshake_attempts(self) -> int:
        """Return how many new connections were attempted (faulted, refused or served)."""
        return self.faults.connection.handshake_attempts

    @property
    def listening(self) -> bool:
        """Return whether the TCP listener is open."""
        return self._site is not None

    @property
    def sessions(self) -> int:
        """Return the number of authenticated sessions."""
        return self.session_table.authenticated

    @property
    def connections(self) -> int:
        """Return the number of connected sockets."""
        return len(self.session_table)

    @property
    def engine_sessions(self) -> int:
        """Return the number of open Engine.IO sessions (one may outlive its socket.io one)."""
        return self._wire.engine_sessions if self._wire is not None else 0

    @property
    def subscriptions(self) -> dict[str, int]:
        """Return extension -> number of sessions subscribed to it."""
        return self.session_table.subscriptions

    @property
    def requests(self) -> list[tuple[str, Any]]:
        """Return every (method, params) received, passwords replaced by "***"."""
        return self.rpc.requests

    async def wait_until(
        self, predicate: Callable[[], bool], *, within: float = 5.0, step: float = 0.01
    ) -> None:
        """Poll ``predicate`` until true; raise TimeoutError after ``within`` seconds."""
        async with asyncio.timeout(within):
            while not predicate():  # noqa: ASYNC110 - an arbitrary predicate has no event
                await asyncio.sleep(step)

    def channels(self, extension: str) -> list[str]:
        """Return the uniqueIds of the live channels on ``extension``."""
        return [c.unique_id for c in self.pbx.channels(extension)]

    def state(self) -> JsonDict:
        """Return accounts, channels, sessions and fault switches as JSON data."""
        return {
            **self.pbx.snapshot(),
            "sessions": self.sessions,
            "connections": self.connections,
            "subscriptions": self.subscriptions,
            "session_details": self.session_table.details(),
            "responding": self.responding,
            "accepting": self.accepting,
            "handshake_fault": self.handshake_fault,
            "handshake_attempts": self.handshake_attempts,
            "listening": self.listening,
            "url": self.url,
        }
