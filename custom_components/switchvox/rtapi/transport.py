"""A small typed seam over python-socketio 4.x (``socketio_v4``), which speaks socket.io 1.x.

The PBX runs a socket.io 1.x server (Engine.IO v3); python-socketio 5.x cannot talk to it. The
4.x code ships as ``python-socketio-v4`` under other import names, so it lives beside the 5.x
that other libraries need. It is untyped and has three hazards this module contains:

* it logs every packet, the login password included, at INFO: it gets a logger that drops
  everything below WARNING;
* it closes the aiohttp session it is given, and leaks the one it made when a connect fails:
  every connection gets a session of its own, closed here whatever happens;
* its first client installs SIGINT handlers (one stops the event loop): module flags say
  they are installed already;
* it calls ``asyncio.iscoroutinefunction`` for every event it dispatches, which Python 3.14
  deprecates and 3.16 removes: its client modules see an ``asyncio`` whose
  ``iscoroutinefunction`` is :func:`inspect.iscoroutinefunction` (see :func:`contain_asyncio`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
import contextlib
import inspect
import json
import logging
import signal
import socket
import ssl
import time
import types
from typing import Any, Final, NamedTuple

import aiohttp
import engineio_v3.asyncio_client
import engineio_v3.client
import socketio_v4
import socketio_v4.asyncio_client
import socketio_v4.client
import socketio_v4.exceptions

from .exceptions import SwitchvoxConnectionError, SwitchvoxTLSError

SOCKETIO_PATH: Final = "rtapi/socket.io"
# How long a disconnect waits for engineio's background loops to end before cancelling them.
CLOSE_GRACE: Final = 1.0
_ENGINEIO_TASKS: Final = ("read_loop_task", "write_loop_task", "ping_loop_task")

_LOGGER = logging.getLogger(__name__)

_CERTIFICATE_ERRORS: Final = (aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError)

type EventHandler = Callable[[str, tuple[Any, ...]], None]

# What the transport raises for an unreachable or refusing server (vs. a malformed handshake).
_TRANSPORT_ERRORS: Final = (socketio_v4.exceptions.ConnectionError, aiohttp.ClientError, OSError)

# Engine.IO's MESSAGE packet type: socket.io events ride in these.
_MESSAGE: Final = 4
# A socket.io EVENT packet of the default namespace without an acknowledgement id: "2[...]",
# and the Engine.IO MESSAGE packet ("4") carrying one over a WebSocket.
_PLAIN_EVENT: Final = "2["
_PLAIN_MESSAGE: Final = "42["
_json_loads: Final = json.JSONDecoder().decode
# orjson (which Home Assistant ships) decodes in half the time, but turns integers outside
# [-2**63, 2**64) into floats, and the first of them (-2**63 - 1) has 19 digits: text holding a
# run of 19 digits is left to json, as is any text orjson refuses (lone surrogates, NaN,
# nesting past 1,024 levels...).
_DIGITS_AS_ZERO: Final = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER: Final = b"0" * 19
NOT_DECODED: Final = object()
# Characters of one received message kept for diagnostics.
MAX_RECORDED_MESSAGE: Final = 8192


class ReceivedMessage(NamedTuple):
    """A socket.io packet as the PBX sent it (its text, cut at MAX_RECORDED_MESSAGE)."""

    at: float
    text: str


def _record(text: str) -> ReceivedMessage:
    """Return the record of ``text`` received now (skipping NamedTuple's Python-level __new__)."""
    return tuple.__new__(ReceivedMessage, (time.time(), text))


class _AsyncioWithoutDeprecations(types.ModuleType):
    """``asyncio`` as socketio_v4/engineio_v3 should see it: the same, but for one function.

    ``asyncio.iscoroutinefunction`` warns from Python 3.14 and is gone in 3.16;
    ``inspect.iscoroutinefunction`` answers the same for the plain ``async def`` handlers
    these libraries are given.
    """

    iscoroutinefunction = staticmethod(inspect.iscoroutinefunction)

    def __getattr__(self, name: str) -> Any:
        """Forward everything else to the real asyncio."""
        return getattr(asyncio, name)


_ASYNCIO_SHIM: Final = _AsyncioWithoutDeprecations("asyncio")


def contain_asyncio(*modules: types.ModuleType) -> None:
    """Give ``modules`` (socketio_v4/engineio_v3 modules) the asyncio without deprecations."""
    for module in modules:
        if getattr(module, "asyncio", None) is asyncio:
            module.asyncio = _ASYNCIO_SHIM  # type: ignore[attr-defined]


# The client side: every event received goes through these modules' iscoroutinefunction.
contain_asyncio(socketio_v4.asyncio_client, engineio_v3.asyncio_client)


def disarm_signal_handlers() -> None:
    """Stop socketio_v4/engineio_v3 from replacing the application's SIGINT handling."""
    current = signal.getsignal(signal.SIGINT)
    marker = current if callable(current) else signal.default_int_handler
    if engineio_v3.client.original_signal_handler is None:
        engineio_v3.client.original_signal_handler = marker
    if socketio_v4.client.original_signal_handler is None:
        socketio_v4.client.original_signal_handler = marker
    engineio_v3.asyncio_client.async_signal_handler_set = True


class _QuietLogger:
    """Logger for the transport: packet traces (INFO/DEBUG) may hold secrets and are dropped.

    Exceptions passed as arguments are remembered (never logged): engineio reports a failed
    long-polling request only at INFO and then raises a bare "Connection refused", which
    would hide a certificate failure.
    """

    def __init__(self) -> None:
        self.last_error: BaseException | None = None

    def _remember(self, args: tuple[Any, ...]) -> None:
        """Keep the last exception among ``args``."""
        for arg in args:
            if isinstance(arg, BaseException):
                self.last_error = arg

    def debug(self, *args: Any, **kwargs: Any) -> None:
        """Drop packet-level tracing."""
        self._remember(args)

    def info(self, *args: Any, **kwargs: Any) -> None:
        """Drop packet-level tracing (it includes packet payloads)."""
        self._remember(args)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Forward transport warnings at debug level: the client reports what matters."""
        _LOGGER.debug(msg, *args)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Forward transport errors."""
        _LOGGER.warning(msg, *args)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Forward handler crashes with their traceback (never packet payloads)."""
        # engineio calls this from inside its except block, so exc_info is the crash.
        _LOGGER.warning(msg, *args, exc_info=True)  # noqa: LOG014


def _connection_error(
    err: BaseException, url: str, underlying: BaseException | None = None
) -> SwitchvoxConnectionError:
    """Translate a transport failure, recognising certificate problems in its cause chain.

    ``underlying`` is an error the transport reported on the side (see :class:`_QuietLogger`).
    """
    for first in (err, underlying):
        seen: BaseException | None = first
        while seen is not None:
            if isinstance(seen, _CERTIFICATE_ERRORS):
                return SwitchvoxTLSError(f"TLS certificate of {url} failed verification: {seen}")
            seen = seen.__cause__ or seen.__context__
    return SwitchvoxConnectionError(f"Cannot connect to {url}: {err}")


def _float(value: object) -> float | None:
    """Return a number the server announced as a float, or None."""
    return float(value) if isinstance(value, int | float) else None


def _shut_down(eio: Any) -> None:
    """Shut down the WebSocket's TCP socket: its reads end at once, no handshake is awaited."""
    ws = getattr(eio, "ws", None)
    sock = ws.get_extra_info("socket") if ws is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _orjson_loads() -> Callable[[bytes], object] | None:
    """Return orjson's decoder when it is installed."""
    try:
        import orjson  # noqa: PLC0415
    except ImportError:  # pragma: no cover - Home Assistant ships it
        return None
    return orjson.loads


_fast_loads: Final = _orjson_loads()


def decode_json(text: str, start: int = 0) -> object:
    """Return the JSON document ``text`` holds from ``start`` on, as ``json.loads`` decodes it.

    Text that is no JSON document gives :data:`NOT_DECODED`.
    """
    if start:
        text = text[start:]
    if _fast_loads is not None:
        try:
            encoded = text.encode()
        except UnicodeEncodeError:  # a lone surrogate: json decides
            pass
        else:
            if _LONG_NUMBER not in encoded.translate(_DIGITS_AS_ZERO):
                try:
                    return _fast_loads(encoded)
                except ValueError:  # orjson.JSONDecodeError: json decides
                    pass
    try:
        return _json_loads(text)
    except ValueError:
        return NOT_DECODED


class SocketIOTransport:
    """One socket.io connection: connect, emit, receive events, disconnect."""

    def __init__(
        self,
        on_event: EventHandler,
        on_disconnect: Callable[[], None],
        *,
        verify_ssl: bool = True,
        request_timeout: float = 10.0,
        transports: Sequence[str] = ("websocket",),
        received: deque[ReceivedMessage] | None = None,
    ) -> None:
        self._on_event = on_event
        self._received = received
        self._on_disconnect = on_disconnect
        self._verify_ssl = verify_ssl
        self._request_timeout = request_timeout
        self._transports = list(transports)
        self._session: aiohttp.ClientSession | None = None
        self._sio: Any = None
        self._events: frozenset[str] = frozenset()
        self._closing = False
        self._dropped = False
        self._last_received = 0.0
        self._watchdog: asyncio.Task[None] | None = None
        self._websockets: list[aiohttp.ClientWebSocketResponse] = []

    @property
    def connected(self) -> bool:
        """Return whether the socket.io connection is up."""
        return bool(self._sio is not None and self._sio.connected)

    async def connect(self, url: str, *, events: Sequence[str]) -> None:
        """Open the connection, delivering ``events`` to the event handler."""
        disarm_signal_handlers()
        # Certificate checking is the session's job: engineio's own ssl_verify=False path builds
        # a new SSL context per connect, which loads the CA store (blocking I/O) in the loop.
        # aiohttp's connector uses contexts it built once, at import.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self._verify_ssl))
        self._track_websockets(self._session)
        quiet = _QuietLogger()
        sio = socketio_v4.AsyncClient(
            reconnection=False,
            logger=quiet,
            engineio_v3_logger=quiet,
            ssl_verify=True,
            http_session=self._session,
            request_timeout=self._request_timeout,
        )
        self._events = frozenset(events)
        for event in events:
            sio.on(event, self._make_handler(event))
        sio.on("disconnect", self._handle_disconnect)
        self._sio = sio
        self._track_received(sio)
        try:
            await sio.connect(url, transports=self._transports, socketio_v4_path=SOCKETIO_PATH)
        except BaseException as err:
            self._sio = None
            await self._release(sio)
            if isinstance(
                err, socketio_v4.exceptions.ConnectionError | aiohttp.ClientError | OSError
            ):
                raise _connection_error(err, url, quiet.last_error) from err
            if isinstance(err, Exception):
                # A front end that closes before Engine.IO's open packet, an open packet without
                # a sid, a page that is no handshake: the library fails in ways of its own
                # (AttributeError, KeyError, ValueError...). All of them mean "cannot connect".
                raise SwitchvoxConnectionError(
                    f"Cannot connect to {url}: no valid socket.io handshake "
                    f"({type(err).__name__}: {str(err)[:200]})"
                ) from err
            raise
        self._watchdog = asyncio.get_running_loop().create_task(
            self._watch(sio.eio), name="switchvox transport watchdog"
        )

    async def emit(self, event: str, data: object) -> None:
        """Send one event; raises when the connection is down."""
        if not self.connected:
            raise SwitchvoxConnectionError("Not connected")
        try:
            await self._sio.emit(event, data)
        except (aiohttp.ClientError, OSError, socketio_v4.exceptions.SocketIOError) as err:
            raise SwitchvoxConnectionError(f"Cannot send {event}: {err}") from err

    @property
    def transport_name(self) -> str | None:
        """Return the Engine.IO transport in use ("websocket" or "polling")."""
        return getattr(self._eio, "current_transport", None)

    @property
    def ping_interval(self) -> float | None:
        """Return the ping interval (seconds) the server announced in its handshake."""
        return _float(getattr(self._eio, "ping_interval", None))

    @property
    def ping_timeout(self) -> float | None:
        """Return the ping timeout (seconds) the server announced in its handshake."""
        return _float(getattr(self._eio, "ping_timeout", None))

    @property
    def _eio(self) -> Any:
        """Return the Engine.IO client of the connection, if any."""
        return getattr(self._sio, "eio", None)

    async def disconnect(self) -> None:
        """Close the connection and its HTTP session (idempotent)."""
        self._closing = True
        sio, self._sio = self._sio, None
        try:
            if sio is not None:
                # engineio would close the session in a task nobody awaits: hide it meanwhile,
                # _release closes it once the loops that may still use it have ended.
                eio = sio.eio
                http, eio.http = eio.http, None
                # A dead link never answers the WebSocket close handshake, which aiohttp
                # awaits for 10 s: past CLOSE_GRACE, shut the socket down to end the wait.
                timer = asyncio.get_running_loop().call_later(CLOSE_GRACE, _shut_down, eio)
                try:
                    # Long-polling says goodbye with an HTTP request, which a dead link never
                    # answers: past twice the grace, give up on it (_release ends the rest).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(2 * CLOSE_GRACE):
                            await sio.disconnect()
                finally:
                    timer.cancel()
                    if eio.http is None:
                        eio.http = http
        finally:
            await self._release(sio)

    async def _release(self, sio: Any) -> None:
        """End engineio's background loops and close every HTTP session of the connection.

        engineio_v3 does not wait for its loops on disconnect, and a long-polling loop that
        finds our session closed opens one of its own: wait for the loops (cancelling the
        stragglers after CLOSE_GRACE), then close whichever session engineio holds, and ours.
        """
        try:
            watchdog, self._watchdog = self._watchdog, None
            if watchdog is not None and watchdog is not asyncio.current_task():
                watchdog.cancel()
                await asyncio.wait((watchdog,))
            eio = getattr(sio, "eio", None)
            tasks = [
                task
                for name in _ENGINEIO_TASKS
                if (task := getattr(eio, name, None)) is not None and not task.done()
            ]
            if tasks:
                _done, pending = await asyncio.wait(tasks, timeout=CLOSE_GRACE)
                for task in pending:
                    task.cancel()
                if pending:
                    await asyncio.wait(pending)
            for ws in self._websockets:
                if not ws.closed:
                    # engineio gives up on a bad open packet without closing its WebSocket.
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(CLOSE_GRACE):
                            await ws.close()
            self._websockets.clear()
            http = getattr(eio, "http", None)
            if http is not None and http is not self._session and not http.closed:
                await http.close()
        finally:
            await self._close_session()

    def _track_websockets(self, session: aiohttp.ClientSession) -> None:
        """Remember every WebSocket engineio opens on ``session``, to close them all on release.

        Each one also delivers our plain events as it reads them (see :meth:`_deliver`):
        engineio's read loop only sees the other messages.
        """
        ws_connect = session.ws_connect

        async def tracked(*args: Any, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
            ws: aiohttp.ClientWebSocketResponse = await ws_connect(*args, **kwargs)
            self._websockets.append(ws)
            self._deliver_while_reading(ws)
            return ws

        session.ws_connect = tracked  # type: ignore[method-assign,assignment]

    def _deliver_while_reading(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Deliver Engine.IO messages carrying a plain event of ours ("42[...]") as read.

        engineio_v3 would turn each into a packet (encoding the text to bytes and back, and
        trying it as JSON first), then hand it to :meth:`_track_received`'s wrapper.
        """
        receive = ws.receive
        clock = asyncio.get_running_loop().time

        async def receive_undelivered(*args: Any, **kwargs: Any) -> aiohttp.WSMessage:
            while True:
                message = await receive(*args, **kwargs)
                data = message.data
                if type(data) is not str or not data.startswith(_PLAIN_MESSAGE):
                    return message
                sio = self._sio
                if sio is None or not self._deliver(sio, data, 2):
                    return message
                self._last_received = clock()
                if (received := self._received) is not None:
                    # The socket.io packet, as _track_received records it.
                    received.append(_record(data[1 : MAX_RECORDED_MESSAGE + 1]))

        ws.receive = receive_undelivered  # type: ignore[method-assign]

    async def _close_session(self) -> None:
        """Close this connection's own aiohttp session."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _make_handler(self, event: str) -> Callable[..., Awaitable[None]]:
        """Return a socketio handler forwarding ``event`` with its arguments."""

        async def handler(*args: Any) -> None:
            self._on_event(event, args)

        return handler

    def _track_received(self, sio: Any) -> None:
        """Note the time of every Engine.IO packet received, and deliver messages in order.

        engineio_v3 hands every message to socketio_v4 in a task of its own, which decodes it
        again and awaits the handler: a task, two packet objects and a coroutine per message.
        Here a plain event of ours ("2[...]", no namespace, no acknowledgement) is decoded
        once and delivered at once; any other message goes through socketio, awaited here
        rather than in a task, so that messages are handled one after the other, in the
        order they arrived, either way.
        """
        eio = sio.eio
        loop = asyncio.get_running_loop()
        self._last_received = loop.time()
        receive_packet = eio._receive_packet  # noqa: SLF001
        handle_message = sio._handle_eio_message  # noqa: SLF001
        received = self._received

        async def track(pkt: Any) -> None:
            self._last_received = loop.time()
            if pkt.packet_type != _MESSAGE:
                await receive_packet(pkt)
                return
            data = pkt.data
            if type(data) is str:
                if received is not None:
                    # As received, for diagnostics: a slice bounds what a huge message keeps.
                    received.append(_record(data[:MAX_RECORDED_MESSAGE]))
                if data.startswith(_PLAIN_EVENT) and self._deliver(sio, data, 1):
                    return
            try:
                await handle_message(data)
            except Exception:  # noqa: BLE001 - a bad message must not end engineio's read loop
                _LOGGER.debug(
                    "Dropped a socket.io message socketio could not handle", exc_info=True
                )

        eio._receive_packet = track  # noqa: SLF001

    def _deliver(self, sio: Any, data: str, start: int) -> bool:
        """Deliver a plain socket.io event of ours (its JSON at ``start`` in ``data``).

        Return False, having done nothing, to leave the message to socketio.
        """
        if sio._binary_packet is not None:  # noqa: SLF001 - attachments of a binary packet
            return False
        payload = decode_json(data, start)
        if type(payload) is not list or not payload:
            return False
        event = payload[0]
        if type(event) is not str or event not in self._events:
            return False
        args = (payload[1],) if len(payload) == 2 else tuple(payload[1:])
        try:
            self._on_event(event, args)
        except Exception:
            _LOGGER.exception("Handling a %s event failed", event)
        return True

    async def _watch(self, eio: Any) -> None:
        """Report the connection dead once nothing arrived for ping interval + ping timeout.

        engineio notices a missing pong itself, but then closes the WebSocket politely and
        waits for the peer's close frame: up to aiohttp's 10 s on a half-open link, which
        never answers. The bound here is the one the server announces: the client pings every
        interval and a live PBX answers each within the timeout. Past it, the socket is shut
        down (so that engineio's loops end at once) and the drop is reported without waiting.
        """
        loop = asyncio.get_running_loop()
        limit = float(eio.ping_interval) + float(eio.ping_timeout)
        # A deadline pushed back by every packet: one timer, rather than an event per packet.
        while (remaining := self._last_received + limit - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(remaining)
        if self._closing or self._dropped:
            return
        _LOGGER.debug("Nothing received from the PBX for %.1f s: the connection is dead", limit)
        _shut_down(eio)
        await self._handle_disconnect()

    async def _handle_disconnect(self) -> None:
        """Tell the owner the connection dropped, once (not for a disconnect we asked for).

        Messages are delivered as they are read (see :meth:`_track_received`), so those that
        arrived before the drop (the response to logout, say) are delivered before it; the
        yield first lets anything they started run before the drop is reported.
        """
        if self._closing or self._dropped:
            return
        self._dropped = True
        await asyncio.sleep(0)
        if not self._closing:
            self._on_disconnect()
