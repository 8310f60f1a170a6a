"""socket.io 1.x (Engine.IO v3) server speaking the Switchvox Realtime API's JSON-RPC 2.0."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
import contextlib
from dataclasses import dataclass, field
import logging
from pathlib import Path
import shutil
import tempfile
import time
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import web
from aiohttp.typedefs import Handler
import engineio_v3.async_drivers.aiohttp
import engineio_v3.asyncio_server
import engineio_v3.packet
import socketio_v4
import socketio_v4.asyncio_server

from custom_components.switchvox.rtapi.transport import contain_asyncio

from . import tls
from .demo import DemoTraffic
from .pbx import TOPIC_LINE, JsonDict, Notification, Pbx, PbxError

_LOGGER = logging.getLogger(__name__)
# The server side of the socket.io 1.x library calls asyncio.iscoroutinefunction (deprecated in
# Python 3.14) for every event, as the client side does: the same containment.
contain_asyncio(
    socketio_v4.asyncio_server, engineio_v3.asyncio_server, engineio_v3.async_drivers.aiohttp
)
# socket.io/Engine.IO log every packet (passwords included) at INFO: keep them at WARNING.
_SIO_LOGGER = logging.getLogger(f"{__name__}.socketio")
_SIO_LOGGER.setLevel(logging.WARNING)
_EIO_LOGGER = logging.getLogger(f"{__name__}.engineio")
_EIO_LOGGER.setLevel(logging.WARNING)

SOCKETIO_PATH: Final = "rtapi/socket.io"
CONTROL_PREFIX: Final = "/control/"

INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
NOT_AUTHENTICATED: Final = -32000
NOT_AUTHORIZED: Final = -32001
ALREADY_AUTHENTICATED: Final = -32002

_FROZEN_POLL_INTERVAL: Final = 0.05

METHODS: Final = frozenset({"login", "logout", "subscribe", "unsubscribe", "dial"})

type AfterAction = Callable[[], Awaitable[None]]


@dataclass
class _Session:
    """State of one socket.io connection (one API session)."""

    sid: str
    extension: str | None = None
    watched: set[str] = field(default_factory=set)


@dataclass
class _Outcome:
    """A method's JSON-RPC result or error, and what to do after responding."""

    result: bool = True
    error: JsonDict | None = None
    after: AfterAction | None = None


def _error(code: int, message: str, data: JsonDict | None = None) -> _Outcome:
    """Return an error outcome."""
    error: JsonDict = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return _Outcome(result=False, error=error)


def redact(value: Any) -> Any:
    """Return ``value`` with every "password" entry replaced by "***" (recursively)."""
    if isinstance(value, Mapping):
        return {k: "***" if k == "password" else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _target_extensions(params: JsonDict) -> list[str] | _Outcome:
    """Parse subscribe/unsubscribe params into extensions, or an invalid-params outcome."""
    topic = params.get("topic")
    if not isinstance(topic, str):
        return _error(INVALID_PARAMS, "Missing or invalid param: topic")
    if topic != TOPIC_LINE:
        return _error(INVALID_PARAMS, f"Unsupported topic: {topic}")
    targets = params.get("targets")
    if not isinstance(targets, list) or not targets:
        return _error(INVALID_PARAMS, "Missing or invalid param: targets")
    extensions: list[str] = []
    for target in targets:
        account = target.get("account") if isinstance(target, dict) else None
        extension = account.get("extension") if isinstance(account, dict) else None
        if isinstance(extension, int) and not isinstance(extension, bool):
            extension = str(extension)
        if not isinstance(extension, str) or not extension:
            return _error(INVALID_PARAMS, "Each target must be {account: {extension: string}}")
        if extension not in extensions:
            extensions.append(extension)
    return extensions


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
        outside_answer_delay: float = 1.0,
        cert_dir: Path | None = None,
        control: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.outside_answer_delay = outside_answer_delay
        self.control = control
        self.pbx = Pbx(timestamp_format=timestamp_format)
        self.cert_path: Path | None = None
        self.key_path: Path | None = None
        self._cert_dir = cert_dir
        self._tmpdir: Path | None = None
        self._sessions: dict[str, _Session] = {}
        self._requests: list[tuple[str, Any]] = []
        self._responding = True
        self._accepting = True
        self._delays: dict[str, float] = {}
        self._ignored: set[str] = set()
        self._errors: dict[str, JsonDict] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._io_tasks: set[asyncio.Future[Any]] = set()
        self._transports: set[asyncio.Transport] = set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._ssl_context: Any = None
        self._sio: Any = None
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
        """Return the base URL clients connect to."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

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
        app = self._build_app()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        try:
            await self._runner.setup()
            await self._listen()
        except BaseException:
            await self.stop()
            raise

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
        await self._cancel(self._tasks)
        await self._cancel(self._io_tasks)
        if self._sio is not None:
            await self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None
        # Requests still in flight during cleanup may have started more tasks.
        await self._cancel(self._io_tasks)
        await self._cancel(self._tasks)
        if self._sio is not None:
            self._sio.eio.sockets.clear()
            self._sio = None
        self._sessions.clear()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    @staticmethod
    async def _cancel(tasks: set[asyncio.Task[Any]] | set[asyncio.Future[Any]]) -> None:
        """Cancel and await a set of tasks until it stays empty."""
        while tasks:
            pending = list(tasks)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            tasks.difference_update(pending)

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

    # -- socket.io wiring --------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        """Create the aiohttp app with the socket.io server and the control routes."""
        sio = socketio_v4.AsyncServer(
            async_mode="aiohttp",
            logger=_SIO_LOGGER,
            engineio_v3_logger=_EIO_LOGGER,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
        )
        self._sio = sio
        eio = sio.eio
        original_start = eio.start_background_task

        def start_background_task(target: Any, *args: Any, **kwargs: Any) -> Any:
            """Track every Engine.IO background task so stop() can cancel it."""
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

        eio.on("connect", on_eio_connect)
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("request", self._on_request)

        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            """Route every request through the simulator's connection gate."""
            return await self._middleware(request, handler)

        app = web.Application(middlewares=[middleware])
        sio.attach(app, socketio_v4_path=SOCKETIO_PATH)
        if self.control:
            from .control import add_control_routes  # noqa: PLC0415

            add_control_routes(app, self)
        return app

    def _instrument(self, socket: Any) -> None:
        """Make an Engine.IO socket go silent in both directions while not responding."""
        original_receive = socket.receive
        original_send = socket.send

        async def receive(pkt: Any) -> None:
            """Drop incoming packets (pings unanswered, requests unread) while frozen."""
            if not self._responding:
                if pkt.packet_type == engineio_v3.packet.PING:
                    socket.last_ping = time.time()  # keep the server's own ping check quiet
                return
            await original_receive(pkt)

        async def send(pkt: Any) -> None:
            """Drop outgoing packets while frozen."""
            if self._responding:
                await original_send(pkt)

        original_poll = socket.poll

        async def poll() -> Any:
            """Hold long-poll GETs open while frozen (no 400 after ping_timeout)."""
            # Polled: a close (drop/stop) must wake it too, and sockets have no event for that.
            while not self._responding and not socket.closed:  # noqa: ASYNC110
                await asyncio.sleep(_FROZEN_POLL_INTERVAL)
            return await original_poll()

        socket.receive = receive
        socket.send = send
        socket.poll = poll

    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse new Engine.IO handshakes when not accepting; remember socket.io transports."""
        if request.path.startswith(f"/{SOCKETIO_PATH}"):
            if (self._stopping or not self._accepting) and "sid" not in request.query:
                return web.json_response({"error": "PBX is not accepting connections"}, status=503)
            transport = request.transport
            if transport is not None:
                self._transports = {t for t in self._transports if not t.is_closing()}
                self._transports.add(transport)
        return await handler(request)

    async def _on_connect(self, sid: str, environ: Any) -> None:
        """Register a new socket.io connection."""
        self._sessions[sid] = _Session(sid)

    async def _on_disconnect(self, sid: str) -> None:
        """Forget a closed socket.io connection and its subscriptions."""
        self._sessions.pop(sid, None)

    async def _emit(self, event: str, payload: Any, sid: str) -> None:
        """Emit one event to one connection (ignoring connections that just went away)."""
        # Not sio.emit(): python-socketio 4.6's AsyncManager.emit passes bare coroutines to
        # asyncio.wait(), which Python 3.11+ rejects.
        sio = self._sio
        if sio is not None and sio.manager.is_connected(sid, "/"):
            await sio._emit_internal(sid, event, payload, "/")  # noqa: SLF001

    # -- JSON-RPC -------------------------------------------------------------------------------

    async def _on_request(self, sid: str, *args: Any) -> None:
        """Handle a ``request`` event: a JSON-RPC 2.0 request object."""
        session = self._sessions.get(sid)
        if session is None:
            return
        data = args[0] if args else None
        request_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(request_id, (str, int, float)) or isinstance(request_id, bool):
            request_id = None
        method = data.get("method") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or not isinstance(method, str)
            or data.get("jsonrpc") != "2.0"
            or ("id" in data and data["id"] is not None and request_id is None)
        ):
            self._requests.append(("", redact(data)))
            await self._respond(sid, request_id, _error(INVALID_REQUEST, "Invalid Request"))
            return
        params = data.get("params", {})
        self._requests.append((method, redact(params)))
        if method in self._ignored:
            return
        if delay := self._delays.get(method):
            await asyncio.sleep(delay)
        forced = self._errors.get(method)
        if forced is not None:
            outcome = _Outcome(result=False, error=dict(forced))
        else:
            outcome = await self._dispatch(session, method, params)
        if "id" in data:
            await self._respond(sid, request_id, outcome)
        if outcome.after is not None:
            await outcome.after()

    async def _respond(self, sid: str, request_id: Any, outcome: _Outcome) -> None:
        """Send a JSON-RPC response."""
        payload: JsonDict = {"jsonrpc": "2.0", "id": request_id}
        if outcome.error is not None:
            payload["error"] = outcome.error
        else:
            payload["result"] = outcome.result
        await self._emit("response", payload, sid)

    async def _dispatch(self, session: _Session, method: str, params: Any) -> _Outcome:
        """Run one method for a session."""
        if method not in METHODS:
            return _error(METHOD_NOT_FOUND, f"Method not found: {method}")
        if method != "login" and session.extension is None:
            return _error(NOT_AUTHENTICATED, "Not authenticated")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return _error(INVALID_PARAMS, "params must be an object")
        handler = {
            "login": self._login,
            "logout": self._logout,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "dial": self._dial,
        }[method]
        return handler(session, params)

    def _login(self, session: _Session, params: JsonDict) -> _Outcome:
        """Authenticate the session."""
        if session.extension is not None:
            return _error(ALREADY_AUTHENTICATED, "Session already authenticated")
        extension, password = params.get("extension"), params.get("password")
        if not isinstance(extension, str) or not isinstance(password, str):
            return _error(INVALID_PARAMS, "Missing or invalid params: extension, password")
        account = self.pbx.authenticate(extension, password)
        if account is None:
            return _error(NOT_AUTHENTICATED, "Invalid credentials")
        session.extension = account.extension
        return _Outcome()

    def _logout(self, session: _Session, params: JsonDict) -> _Outcome:
        """End the session: respond, then drop the connection."""
        session.extension = None
        session.watched.clear()

        async def disconnect() -> None:
            if self._sio is not None:
                await self._sio.disconnect(session.sid)

        return _Outcome(after=disconnect)

    def _check_watch(self, session: _Session, method: str, extensions: list[str]) -> _Outcome:
        """Return an error outcome naming the extensions this session may not watch."""
        account = self.pbx.accounts.get(session.extension or "")
        refused = [
            e
            for e in extensions
            if e not in self.pbx.accounts or not account or not account.may_watch(e)
        ]
        if refused:
            return _error(
                NOT_AUTHORIZED,
                f"Not authorized to watch {', '.join(refused)}",
                {"method": method, "extensions": refused},
            )
        return _Outcome()

    def _subscribe(self, session: _Session, params: JsonDict) -> _Outcome:
        """Subscribe to line state of the target extensions (all or nothing)."""
        extensions = _target_extensions(params)
        if isinstance(extensions, _Outcome):
            return extensions
        outcome = self._check_watch(session, "subscribe", extensions)
        if outcome.error is None:
            session.watched.update(extensions)
        return outcome

    def _unsubscribe(self, session: _Session, params: JsonDict) -> _Outcome:
        """Unsubscribe from the target extensions."""
        extensions = _target_extensions(params)
        if isinstance(extensions, _Outcome):
            return extensions
        outcome = self._check_watch(session, "unsubscribe", extensions)
        if outcome.error is None:
            session.watched.difference_update(extensions)
        return outcome

    def _dial(self, session: _Session, params: JsonDict) -> _Outcome:
        """Place a call from the session's extension."""
        account = self.pbx.account(session.extension or "")
        target = params.get("extension")
        device = params.get("convergedDeviceId")
        dial_data = params.get("dialData")
        if not isinstance(target, str) or not target:
            return _error(INVALID_PARAMS, "Missing or invalid param: extension")
        if device is not None and not isinstance(device, (str, int)):
            return _error(INVALID_PARAMS, "Invalid param: convergedDeviceId")
        if dial_data is not None and not isinstance(dial_data, dict):
            return _error(INVALID_PARAMS, "Invalid param: dialData")
        if not account.can_dial:
            return _error(NOT_AUTHORIZED, "Not authorized to dial", {"method": "dial"})

        async def place_call() -> None:
            await self._place_call(account.extension, target, dial_data, auto_answer=True)

        return _Outcome(after=place_call)

    # -- notifications ----------------------------------------------------------------------------

    def _subscribers(self, extension: str) -> list[str]:
        """Return the connections subscribed to ``extension``."""
        return [s.sid for s in self._sessions.values() if extension in s.watched]

    async def _publish(self, events: Iterable[Notification]) -> None:
        """Send notifications to the subscribers of their extensions, in order."""
        for event in events:
            await self._notify_raw(event.extension, event.params)

    async def _notify_raw(self, extension: str, params: Any) -> None:
        """Send one notification with exactly ``params`` to the subscribers of ``extension``."""
        payload = {"jsonrpc": "2.0", "method": TOPIC_LINE, "params": params}
        for sid in self._subscribers(extension):
            await self._emit("notification", payload, sid)

    # -- control API: call flows ----------------------------------------------------------------

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
        return await self._place_call(from_extension, to, dial_data, auto_answer=auto_answer)

    async def _place_call(
        self, from_extension: str, to: str, dial_data: JsonDict | None, *, auto_answer: bool
    ) -> tuple[str, str | None]:
        """Create the call legs, publish, and schedule the outside line's answer."""
        a_uid, b_uid, events = self.pbx.call(from_extension, to, dial_data=dial_data)
        await self._publish(events)
        if b_uid is None and auto_answer:
            self.spawn(self._answer_later(a_uid), name=f"switchvox-sim-answer-{a_uid}")
        return a_uid, b_uid

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
        await self._notify_raw(extension, params)

    async def send_raw(self, event: str, payload: Any) -> None:
        """Emit any event and payload to every connection."""
        for sid in list(self._sessions):
            await self._emit(event, payload, sid)

    async def flood(self, extension: str, count: int) -> None:
        """Send ``count`` notifications as fast as possible (ringing/idle on fresh channels)."""
        for index, params in enumerate(self.pbx.flood_params(extension, count)):
            await self._notify_raw(extension, params)
            if index % 200 == 199:
                await asyncio.sleep(0)

    def start_demo(
        self,
        extensions: Iterable[str] | None = None,
        *,
        calls_per_minute: float = 6.0,
        max_concurrent: int = 4,
        seed: int | None = None,
    ) -> DemoTraffic:
        """Start random lifelike traffic on ``extensions`` (default: all accounts) until stop."""
        demo = DemoTraffic(
            self,
            list(self.pbx.accounts) if extensions is None else list(extensions),
            calls_per_minute=calls_per_minute,
            max_concurrent=max_concurrent,
            seed=seed,
        )
        self.spawn(demo.run(), name="switchvox-sim-demo")
        return demo

    # -- control API: faults ----------------------------------------------------------------------

    async def drop_connections(self) -> None:
        """Abruptly close every client connection (TCP abort), as a PBX restart would."""
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        if self._sio is None:
            return
        sockets = self._sio.eio.sockets
        for sid, socket in list(sockets.items()):
            with contextlib.suppress(Exception):
                await socket.close(wait=False, abort=True)
            socket.queue.put_nowait(None)  # release a pending long-poll or websocket writer
            sockets.pop(sid, None)
        self._sessions.clear()

    def set_password(self, extension: str, password: str) -> None:
        """Change an account's password (existing sessions stay logged in)."""
        self.pbx.account(extension).password = password

    def revoke_watch(self, extension: str, target: str) -> None:
        """Stop ``extension`` from watching ``target`` and drop its live subscriptions to it."""
        self.pbx.revoke_watch(extension, target)
        if target != extension:
            for session in self._sessions.values():
                if session.extension == extension:
                    session.watched.discard(target)

    def grant_watch(self, extension: str, target: str) -> None:
        """Allow ``extension`` to watch ``target``."""
        self.pbx.grant_watch(extension, target)

    def set_can_dial(self, extension: str, value: bool) -> None:
        """Grant or revoke the dial permission."""
        self.pbx.account(extension).can_dial = value

    def set_responding(self, value: bool) -> None:
        """Freeze (False) or thaw every connection: no responses, no pongs, nothing sent."""
        self._responding = value

    def set_delay(self, method: str, seconds: float) -> None:
        """Delay handling of (and so the response to) ``method`` by ``seconds`` (0 = none)."""
        if seconds > 0:
            self._delays[method] = seconds
        else:
            self._delays.pop(method, None)

    def set_ignore(self, method: str, value: bool = True) -> None:
        """Swallow requests for ``method``: not handled and never answered."""
        if value:
            self._ignored.add(method)
        else:
            self._ignored.discard(method)

    def set_error(
        self, method: str, code: int | None, message: str = "Error", data: Any = None
    ) -> None:
        """Answer every ``method`` request with this error, unhandled (code None clears)."""
        if code is None:
            self._errors.pop(method, None)
            return
        error: JsonDict = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self._errors[method] = error

    def set_accepting(self, value: bool) -> None:
        """Refuse (False) new Engine.IO handshakes with HTTP 503; the port stays bound."""
        self._accepting = value

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
        return self._responding

    @property
    def accepting(self) -> bool:
        """Return whether new connections are accepted."""
        return self._accepting

    @property
    def listening(self) -> bool:
        """Return whether the TCP listener is open."""
        return self._site is not None

    @property
    def sessions(self) -> int:
        """Return the number of authenticated sessions."""
        return sum(1 for s in self._sessions.values() if s.extension is not None)

    @property
    def connections(self) -> int:
        """Return the number of connected sockets."""
        return len(self._sessions)

    @property
    def subscriptions(self) -> dict[str, int]:
        """Return extension -> number of sessions subscribed to it."""
        counts: dict[str, int] = {}
        for session in self._sessions.values():
            for extension in session.watched:
                counts[extension] = counts.get(extension, 0) + 1
        return counts

    @property
    def requests(self) -> list[tuple[str, Any]]:
        """Return every (method, params) received, passwords replaced by "***"."""
        return self._requests

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
            "session_details": [
                {"extension": s.extension, "watched": sorted(s.watched)}
                for s in self._sessions.values()
            ],
            "responding": self._responding,
            "accepting": self._accepting,
            "listening": self.listening,
            "url": self.url,
        }
