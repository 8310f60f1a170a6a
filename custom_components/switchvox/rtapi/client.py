"""Async client for the Switchvox Realtime API: JSON-RPC 2.0 over socket.io 1.x."""

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
import itertools
import logging
import time
from typing import Any, Final, Self

import aiohttp

from .exceptions import (
    SwitchvoxConnectionError,
    SwitchvoxError,
    SwitchvoxMessageError,
    SwitchvoxNotAuthorizedError,
    SwitchvoxRpcError,
    SwitchvoxSessionExpiredError,
    SwitchvoxTimeoutError,
    SwitchvoxTLSError,
    rpc_error_from_code,
)
from .models import TOPIC_LINE_STATE, LineState, RpcResponse
from .wire import DroppedPackets, ReceivedMessage, SocketIOConnection, TransportName

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 443
DEFAULT_REQUEST_TIMEOUT: Final = 10.0
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_RECORDED_MESSAGES: Final = 50
MALFORMED_LOG_INTERVAL: Final = 60.0

# What a listener returns is ignored (a LineTracker's apply can listen directly).
type LineStateListener = Callable[[LineState], object]
type ConnectionListener = Callable[[bool], None]


class _RateLimitedWarning:
    """Log a recurring problem at most once per interval, counting what was suppressed."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last = -interval
        self._suppressed = 0

    def __call__(self, msg: str, *args: object) -> None:
        """Log ``msg`` now, or count it for the next line."""
        now = time.monotonic()
        if now - self._last < self._interval:
            self._suppressed += 1
            return
        if self._suppressed:
            _LOGGER.warning("%s (and %d more since the last report)", msg % args, self._suppressed)
        else:
            _LOGGER.warning(msg, *args)
        self._last = now
        self._suppressed = 0


class SwitchvoxClient:
    """One connection to a Switchvox PBX, carrying one API session.

    The API binds a session to its socket.io connection, so a new session needs a new
    connection: :meth:`connect` after a drop opens a fresh one, and nothing survives it.

    HTTP goes through ``session`` (an application's own, made with the same ``verify_ssl``);
    given none, the client makes its own for each connection and closes it in :meth:`disconnect`.
    Every argument but ``host`` is keyword-only.
    """

    def __init__(
        self,
        host: str,
        *,
        port: int = DEFAULT_PORT,
        session: aiohttp.ClientSession | None = None,
        use_ssl: bool = True,
        verify_ssl: bool = True,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        transports: Sequence[TransportName] = ("websocket", "polling"),
        recorded_messages: int = DEFAULT_RECORDED_MESSAGES,
    ) -> None:
        self.host = host
        self.port = port
        self.use_ssl = use_ssl
        self.verify_ssl = verify_ssl
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self._transports = tuple(transports)
        self._worked: TransportName | None = None  # the transport that last connected
        self._session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._transport: SocketIOConnection | None = None
        self._ids = itertools.count(1)
        # By the id's text: servers differ in echoing 1 as 1 or as "1".
        self._pending: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self._line_listeners: list[LineStateListener] = []
        self._connection_listeners: list[ConnectionListener] = []
        self._warn_malformed = _RateLimitedWarning(MALFORMED_LOG_INTERVAL)
        self._extension: str | None = None
        self._closing_tasks: set[asyncio.Task[None]] = set()
        self.malformed_messages = 0
        # Whether the PBX ended this connection's API session ("not authenticated" to a request
        # other than login), which closed the connection; False again on the next connect.
        self.session_expired = False
        # Packets the wire dropped (not UTF-8, broken long-polling framing), across connections.
        self.dropped_packets = DroppedPackets()
        # The last messages received, as received, across connections (for diagnostics).
        self.received: deque[ReceivedMessage] = deque(maxlen=recorded_messages)

    @property
    def url(self) -> str:
        """Return the base URL of the PBX."""
        scheme = "https" if self.use_ssl else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def connected(self) -> bool:
        """Return whether the connection is up."""
        return self._transport is not None and self._transport.connected

    @property
    def transport_name(self) -> str | None:
        """Return the transport in use: "websocket", or "polling" where WebSocket is not served."""
        return self._transport.transport_name if self._transport is not None else None

    @property
    def ping_interval(self) -> float | None:
        """Return the ping interval the PBX announced for this connection."""
        return self._transport.ping_interval if self._transport is not None else None

    @property
    def ping_timeout(self) -> float | None:
        """Return the ping timeout the PBX announced for this connection."""
        return self._transport.ping_timeout if self._transport is not None else None

    @property
    def extension(self) -> str | None:
        """Return the extension this session logged in as, if any."""
        return self._extension

    @property
    def pending_requests(self) -> int:
        """Return how many requests await a response."""
        return len(self._pending)

    def add_line_state_listener(self, listener: LineStateListener) -> Callable[[], None]:
        """Call ``listener`` with every line state notification; return a remover."""
        self._line_listeners.append(listener)
        return lambda: self._line_listeners.remove(listener)

    def add_connection_listener(self, listener: ConnectionListener) -> Callable[[], None]:
        """Call ``listener`` with True on connect and False on a drop; return a remover."""
        self._connection_listeners.append(listener)
        return lambda: self._connection_listeners.remove(listener)

    async def connect(self) -> None:
        """Open a new connection, closing any previous one.

        WebSocket first; where it cannot be had (a proxy that does not pass WebSockets, a PBX
        serving long-polling only), long-polling; after that, the transport that last connected
        first. TLS failures are not retried over polling: the same certificate would fail again.
        """
        await self.disconnect()
        self.session_expired = False
        try:
            transport = await self._open()
        except BaseException:
            await self._close_own_session()
            raise
        self._transport = transport
        _LOGGER.debug("Connected to %s over %s", self.url, transport.transport_name)
        self._notify_connection(connected=True)

    async def _open(self) -> SocketIOConnection:
        """Return a connection over the first transport that connects.

        Each attempt but the last gets an equal share of the connect budget and the last what is
        left: a transport that hangs (a proxy that swallows the WebSocket upgrade) leaves the
        next one its time.
        """
        order = sorted(self._transports, key=lambda name: name != self._worked)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        share = self.connect_timeout / len(order) if order else 0.0
        failure: SwitchvoxConnectionError | None = None
        for index, name in enumerate(order):
            until = deadline if index == len(order) - 1 else min(deadline, loop.time() + share)
            transport = self._new_transport(name)
            try:
                # On a failure or the timeout, the transport releases itself.
                async with asyncio.timeout_at(until):
                    await transport.connect(self.url, events=("response", "notification"))
            except SwitchvoxTLSError:
                raise
            except TimeoutError:
                failure = SwitchvoxTimeoutError(f"Timed out connecting to {self.url} over {name}")
            except SwitchvoxConnectionError as err:
                failure = err
            else:
                self._worked = name
                return transport
            _LOGGER.debug("Cannot connect over %s: %s", name, failure)
        raise failure or SwitchvoxConnectionError("No transport to connect with")

    def _new_transport(self, name: TransportName) -> SocketIOConnection:
        """Return a connection over one Engine.IO transport ("websocket" or "polling")."""
        session = self._session
        if session is None:
            if self._own_session is None:
                self._own_session = aiohttp.ClientSession()
            session = self._own_session
        return SocketIOConnection(
            session,
            self._handle_event,
            self._handle_drop,
            transport=name,
            verify_ssl=self.verify_ssl,
            received=self.received,
            dropped=self.dropped_packets,
        )

    async def disconnect(self) -> None:
        """Close the connection without logging out; pending requests fail."""
        transport, self._transport = self._transport, None
        self._extension = None
        if transport is not None:
            self._fail_pending(SwitchvoxConnectionError("Connection closed"))
            await transport.disconnect()
        if self._closing_tasks:
            # A dropped connection is still being released in the background: finish it.
            await asyncio.wait(tuple(self._closing_tasks))
        await self._close_own_session()

    async def _close_own_session(self) -> None:
        """Close the HTTP session the client made itself (never one it was given)."""
        own, self._own_session = self._own_session, None
        if own is not None:
            await own.close()

    async def login(self, extension: str, password: str) -> None:
        """Authenticate this connection's session as ``extension``.

        A PBX error message may echo the request's params: the password is taken out of it
        before the error goes anywhere (logs, diagnostics, the UI).
        """
        try:
            await self.request("login", {"extension": extension, "password": password})
        except SwitchvoxRpcError as err:
            if not password or password not in err.rpc_message:
                raise
            message = err.rpc_message.replace(password, "**REDACTED**")
            raise rpc_error_from_code(err.code, message, err.method) from None
        self._extension = extension

    async def logout(self) -> None:
        """End the session; the PBX then drops the connection.

        The PBX may drop the connection before its response arrives ("pending responses are
        lost"): a drop while logging out is the expected outcome, not an error.
        """
        was_connected = self.connected
        try:
            await self.request("logout", {})
        except SwitchvoxTimeoutError:
            raise
        except SwitchvoxConnectionError:
            if not was_connected:
                raise
            _LOGGER.debug("Connection closed while logging out")
        finally:
            await self.disconnect()

    async def subscribe(self, extensions: Iterable[str]) -> None:
        """Subscribe to line state changes of ``extensions`` in one request."""
        await self.request("subscribe", _line_targets(extensions))

    async def unsubscribe(self, extensions: Iterable[str]) -> None:
        """Stop line state changes of ``extensions``."""
        await self.request("unsubscribe", _line_targets(extensions))

    async def subscribe_permitted(self, extensions: Iterable[str]) -> tuple[str, ...]:
        """Subscribe to every extension the PBX allows; return those it refused (-32001).

        The happy path is one request. A refusal of the batch falls back to one request per
        extension, since the PBX does not document whether it names the refused ones.
        """
        wanted = list(dict.fromkeys(extensions))
        if not wanted:
            return ()
        try:
            await self.subscribe(wanted)
        except SwitchvoxNotAuthorizedError:
            pass
        else:
            return ()
        results = await asyncio.gather(
            *(self.subscribe([extension]) for extension in wanted), return_exceptions=True
        )
        refused: list[str] = []
        for extension, result in zip(wanted, results, strict=True):
            if isinstance(result, SwitchvoxNotAuthorizedError):
                refused.append(extension)
            elif isinstance(result, BaseException):
                raise result
        return tuple(refused)

    async def dial(
        self,
        extension: str,
        converged_device_id: str | None = None,
        dial_data: Mapping[str, Any] | None = None,
    ) -> None:
        """Place a call from the session's extension to ``extension``.

        ``dial_data`` is echoed in the calling channel's notifications; the PBX stores it in
        a size-limited channel variable and treats it as public.
        """
        params: dict[str, Any] = {"extension": extension}
        if converged_device_id is not None:
            params["convergedDeviceId"] = converged_device_id
        if dial_data is not None:
            params["dialData"] = dict(dial_data)
        await self.request("dial", params)

    async def request(self, method: str, params: Mapping[str, Any]) -> Any:
        """Send a JSON-RPC request and return its result, raising typed errors."""
        transport = self._transport
        if transport is None or not transport.connected:
            raise SwitchvoxConnectionError(f"Not connected: cannot send {method}")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[str(request_id)] = (method, future)
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": dict(params)}
        _LOGGER.debug("Sending %s (id %s)", method, request_id)
        try:
            await transport.emit("request", message)
            async with asyncio.timeout(self.request_timeout):
                return await future
        except TimeoutError as err:
            raise SwitchvoxTimeoutError(
                f"No response to {method} within {self.request_timeout} s"
            ) from err
        finally:
            self._pending.pop(str(request_id), None)

    async def __aenter__(self) -> Self:
        """Connect on entering the context."""
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Disconnect on leaving the context."""
        await self.disconnect()

    def _handle_event(self, event: str, args: tuple[Any, ...]) -> None:
        """Route one socket.io event; bad input is logged and dropped, never raised."""
        if len(args) != 1:
            self._malformed(event, f"{len(args)} arguments")
            return
        try:
            if event == "response":
                self._handle_response(args[0])
            else:
                self._handle_notification(args[0])
        except SwitchvoxMessageError as err:
            self._malformed(event, str(err))

    def _handle_response(self, data: object) -> None:
        """Resolve the request a response answers."""
        response = RpcResponse.from_json(data)
        # JSON-RPC says the id comes back unchanged, but servers differ: 1 and "1" are one id.
        entry = self._pending.get(_id_text(response.id))
        if entry is None:
            _LOGGER.debug("Response to unknown or expired request id %r", response.id)
            return
        method, future = entry
        if future.done():
            return
        if response.error_code is None:
            future.set_result(response.result)
            return
        error = rpc_error_from_code(response.error_code, response.error_message, method)
        future.set_exception(error)
        if isinstance(error, SwitchvoxSessionExpiredError):
            self._end_expired_session()

    def _end_expired_session(self) -> None:
        """Close a connection whose API session the PBX has ended, as if it had dropped.

        The PBX binds a session to its connection and sends such a connection nothing more:
        only a new connection and login bring the session back. Listeners hear a drop.
        """
        _LOGGER.debug("The PBX ended the API session on %s (not authenticated)", self.url)
        self.session_expired = True
        self._handle_drop()

    def _handle_notification(self, data: object) -> None:
        """Parse a notification and hand line states to the listeners."""
        if not isinstance(data, dict):  # what JSON decodes an object to, as the models check
            raise SwitchvoxMessageError(f"notification is {type(data).__name__}, not an object")
        method = data.get("method")
        if method != TOPIC_LINE_STATE:
            _LOGGER.debug("Ignoring notification of topic %.64r", method)
            return
        state = LineState.from_json(data.get("params"))
        for listener in tuple(self._line_listeners):
            try:
                listener(state)
            except Exception:
                _LOGGER.exception("Line state listener failed")

    def _malformed(self, event: str, reason: str) -> None:
        """Count and log (rate-limited) a message that could not be used."""
        self.malformed_messages += 1
        self._warn_malformed("Dropped a malformed %s from the PBX: %.200s", event, reason)

    def _handle_drop(self) -> None:
        """Fail pending requests and tell listeners that the connection is gone."""
        transport, self._transport = self._transport, None
        self._extension = None
        self._fail_pending(SwitchvoxConnectionError("Connection lost"))
        if transport is not None:
            # The transport has already torn the socket down; release its HTTP session.
            task = asyncio.get_running_loop().create_task(transport.disconnect())
            self._closing_tasks.add(task)
            task.add_done_callback(self._closing_tasks.discard)
            task.add_done_callback(_discard_result)
            _LOGGER.debug("Connection to %s lost", self.url)
            self._notify_connection(connected=False)

    def _fail_pending(self, error: SwitchvoxError) -> None:
        """Fail every request still waiting for a response."""
        for _method, future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    def _notify_connection(self, *, connected: bool) -> None:
        """Call the connection listeners, shielding the client from their errors."""
        for listener in tuple(self._connection_listeners):
            try:
                listener(connected)
            except Exception:
                _LOGGER.exception("Connection listener failed")


def _line_targets(extensions: Iterable[str]) -> dict[str, Any]:
    """Return subscribe params for the line state topic of ``extensions``."""
    return {
        "topic": TOPIC_LINE_STATE,
        "targets": [{"account": {"extension": extension}} for extension in extensions],
    }


def _id_text(value: int | str) -> str:
    """Return a response id as the text requests are filed under (ours are small integers)."""
    if isinstance(value, int):
        # str() of an integer of thousands of digits raises: no request of ours has such an id.
        return str(value) if -(2**63) <= value < 2**64 else ""
    return value


def _discard_result(task: asyncio.Task[None]) -> None:
    """Consume a background task's outcome so that nothing is reported as never retrieved."""
    if not task.cancelled() and (err := task.exception()) is not None:
        _LOGGER.debug("Closing a dropped connection failed: %s", err)
