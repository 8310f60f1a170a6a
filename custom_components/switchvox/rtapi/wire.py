"""socket.io 1.x over Engine.IO v3, on aiohttp: as much of it as the Switchvox Realtime API uses.

* **Engine.IO v3** packets are a type digit then data: ``0`` open (JSON: ``sid``,
  ``pingInterval``, ``pingTimeout`` in ms), ``1`` close, ``2`` ping, ``3`` pong, ``4`` message,
  ``6`` noop. The *client* pings every ``pingInterval``; a link silent for ``pingInterval +
  pingTimeout`` is dead.
* **socket.io** packets ride in messages: ``0`` connect, ``1`` disconnect, ``2`` event
  (``2["name",arg,...]``, perhaps after ``/namespace,`` and an ack id), ``4`` error. Acks and
  binary packets are not part of this API: they are dropped.
* **WebSocket**: one packet a frame. **HTTP long-polling** (the fallback): a GET returns a payload
  of packets, a POST sends one. Without ``b64`` node's 1.x and python-engineio frame payloads in
  binary, ``<0|1><length digits as bytes><255><packet>`` (UTF-8 bytes), node's 2.x in text,
  ``<length>:<packet>`` (UTF-16 code units). ``b64=1`` is not asked for: node's 1.x would encode
  the text twice. What we send is ASCII, which every server reads alike.
* **Bounds**: the server's ping interval and timeout are clamped (a heartbeat must neither stop
  nor flood); a packet that is not UTF-8, or the part of a payload whose framing breaks, is
  dropped alone and counted; after handling PACKETS_PER_STEP packets in a row the connection
  lets the event loop run, so that a burst does not hold it.

The aiohttp session is the caller's; nothing here outlives :meth:`SocketIOConnection.disconnect`.

The protocols (:class:`EngineIOPacket`, :class:`SocketIOPacket` name their packet types):

* Engine.IO v3: https://github.com/socketio/engine.io-protocol/tree/v3
* socket.io protocol v4 (socket.io 1.x and 2.x): https://github.com/socketio/socket.io-protocol/tree/v4
"""

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass
from enum import StrEnum
import json
import logging
import math
import ssl
import time
from typing import Any, Final, Literal, NamedTuple

import aiohttp
from yarl import URL

from .exceptions import SwitchvoxConnectionError, SwitchvoxTLSError

_LOGGER = logging.getLogger(__name__)

SOCKETIO_PATH: Final = "/rtapi/socket.io/"
# The largest Engine.IO packet accepted on either transport (aiohttp's WebSocket default); a
# larger one ends the connection, and the session reconnects.
MAX_MESSAGE_SIZE: Final = 4 * 2**20
_MAX_PAYLOAD: Final = 4 * MAX_MESSAGE_SIZE  # a long-polling response, packets and framing
# Characters of one received message kept for diagnostics.
MAX_RECORDED_MESSAGE: Final = 8192
# The longest a goodbye waits for a peer that may be gone (a WebSocket close, a final POST).
CLOSE_GRACE: Final = 1.0
# socket.io 1.x's own defaults, for an open packet whose values are no usable number.
DEFAULT_PING_INTERVAL: Final = 25.0
DEFAULT_PING_TIMEOUT: Final = 60.0
# What the server may set (seconds). Above: a dead link must be noticed within two minutes, and
# pinging more often than asked is harmless. Below: a few pings a second at most, and a pong
# given a moment to come back.
PING_INTERVAL_RANGE: Final = (0.25, 60.0)
PING_TIMEOUT_RANGE: Final = (0.25, 60.0)
# Packets handled before the connection lets the event loop run other work: a burst buffered
# at once (a page to every phone, a PBX catching up) must not hold the application's loop.
PACKETS_PER_STEP: Final = 50
_NO_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, sock_connect=None)
_CERTIFICATE_ERRORS: Final = (aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError)


class EngineIOPacket(StrEnum):
    """Engine.IO v3 packet types: the first character of every packet."""

    OPEN = "0"
    CLOSE = "1"
    PING = "2"
    PONG = "3"
    MESSAGE = "4"
    UPGRADE = "5"
    NOOP = "6"


class SocketIOPacket(StrEnum):
    """socket.io packet types (protocol v4: socket.io 1.x, 2.x): a message's first character."""

    CONNECT = "0"
    DISCONNECT = "1"
    EVENT = "2"
    ACK = "3"
    ERROR = "4"
    BINARY_EVENT = "5"
    BINARY_ACK = "6"


# What we emit: an Engine.IO message carrying a socket.io event.
_EVENT_PREFIX: Final = EngineIOPacket.MESSAGE + SocketIOPacket.EVENT
_ALIVE: Final = frozenset({EngineIOPacket.PONG, EngineIOPacket.NOOP})

type TransportName = Literal["websocket", "polling"]
type EventHandler = Callable[[str, tuple[Any, ...]], None]


@dataclass
class DroppedPackets:
    """Packets the wire could not use and dropped, counted across connections (diagnostics)."""

    malformed: int = 0
    """Long-polling framing broken at a packet: it and the rest of its payload."""
    not_utf8: int = 0
    """Text packets that are not UTF-8."""


class ReceivedMessage(NamedTuple):
    """A socket.io packet as the PBX sent it (its text, cut at MAX_RECORDED_MESSAGE)."""

    at: float
    text: str


def decode_event(packet: str) -> tuple[str, Any] | None:
    """Return the name and argument of a socket.io EVENT packet as received (``2["name",arg]``).

    None for a packet of another type. Raise ValueError when its JSON is cut short (a message
    recorded in part) or is no ``[name, argument]`` pair.
    """
    if not packet.startswith(SocketIOPacket.EVENT):
        return None
    try:
        name, argument = json.loads(packet[1:])
    except (TypeError, RecursionError) as err:
        raise ValueError(str(err)) from err
    if type(name) is not str:
        raise ValueError(f"an event named {type(name).__name__}")
    return name, argument


def decode_payload(body: bytes, dropped: DroppedPackets | None = None) -> list[str]:
    """Return the text packets of a long-polling payload (binary ones are not used: left out).

    A packet that is not UTF-8 is dropped alone; where the framing breaks, the packets before
    are kept and the rest, which cannot be delimited, is dropped. Both are counted in ``dropped``.
    """
    counts = dropped if dropped is not None else DroppedPackets()
    if body[:1] in (b"\x00", b"\x01"):
        return _decode_binary(body, counts)
    return _decode_text(body, counts)


def _decode_binary(body: bytes, dropped: DroppedPackets) -> list[str]:
    """Decode binary framing: ``<0|1><length digits as bytes><255><packet>``, repeated."""
    packets: list[str] = []
    i = 0
    while i < len(body):
        end = body.find(255, i)
        digits = body[i + 1 : end] if end > i else b""
        # Eleven digits or more: beyond any bound of ours (and int() refuses thousands).
        if body[i] > 1 or not 0 < len(digits) <= 10 or max(digits) > 9:
            return _broken(packets, dropped, "bad framing")
        length = int("".join(map(str, digits)))
        packet = body[end + 1 : end + 1 + length]
        if len(packet) != length:
            return _broken(packets, dropped, "truncated")
        if body[i] == 0:
            try:
                packets.append(packet.decode())
            except UnicodeDecodeError:
                dropped.not_utf8 += 1
                _LOGGER.debug("Dropped a long-polling packet that is not UTF-8: %.64r", packet)
        i = end + 1 + length
    return packets


def _decode_text(body: bytes, dropped: DroppedPackets) -> list[str]:
    """Decode text framing: ``<length>:<packet>``, the length in UTF-16 code units."""
    try:
        text, checked = body.decode(), True
    except UnicodeDecodeError:  # each bad byte becomes one lone surrogate: one code unit
        text, checked = body.decode(errors="surrogateescape"), False
    # In UTF-16-LE every unit is two bytes, and a digit or the colon is its ASCII byte then a zero.
    units = text.encode("utf-16-le", "surrogatepass")
    packets: list[str] = []
    i = 0
    while i < len(units):
        colon = units.find(b":\x00", i)
        while colon != -1 and (colon - i) % 2:  # a colon starts a unit
            colon = units.find(b":\x00", colon + 1)
        digits = units[i:colon].decode("utf-16-le", "surrogatepass") if colon != -1 else ""
        if not (0 < len(digits) <= 10 and digits.isascii() and digits.isdigit()):
            return _broken(packets, dropped, "bad framing")
        length = int(digits)
        start = colon + 2
        raw = units[start : start + 2 * length]
        if len(raw) != 2 * length:
            return _broken(packets, dropped, "truncated")
        i = start + 2 * length
        packet = raw.decode("utf-16-le", "surrogatepass")
        if not checked:
            try:
                packet.encode()
            except UnicodeEncodeError:
                dropped.not_utf8 += 1
                _LOGGER.debug("Dropped a long-polling packet that is not UTF-8: %.64r", packet)
                continue
        if length:  # node answers "0:" for no packet
            packets.append(packet)
    return packets


def _broken(packets: list[str], dropped: DroppedPackets, reason: str) -> list[str]:
    """Count the rest of a payload whose framing broke; return the packets before it."""
    dropped.malformed += 1
    _LOGGER.debug("Dropped the rest of a long-polling payload (%s)", reason)
    return packets


def encode_payload(packet: str) -> bytes:
    """Return ``packet`` framed for a long-polling POST (text framing)."""
    units = len(packet.encode("utf-16-le", "surrogatepass")) // 2
    return f"{units}:{packet}".encode()


def _connection_error(err: BaseException, url: str) -> SwitchvoxConnectionError:
    """Translate a failure to connect, recognising a certificate problem in its cause chain."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, _CERTIFICATE_ERRORS):
            return SwitchvoxTLSError(f"TLS certificate of {url} failed verification: {seen}")
        seen = seen.__cause__ or seen.__context__
    if isinstance(err, SwitchvoxConnectionError):
        return err
    return SwitchvoxConnectionError(f"Cannot connect to {url}: {type(err).__name__}: {err}")


class SocketIOConnection:
    """One socket.io connection over one Engine.IO transport: connect, emit, events, drop."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        on_event: EventHandler,
        on_disconnect: Callable[[], None],
        *,
        transport: TransportName = "websocket",
        verify_ssl: bool = True,
        received: deque[ReceivedMessage] | None = None,
        dropped: DroppedPackets | None = None,
    ) -> None:
        self._session = session
        self._on_event = on_event
        self._on_disconnect = on_disconnect
        self.transport_name: TransportName = transport
        # True defers to the HTTP session's connector (which verifies); False never checks.
        self._ssl = verify_ssl
        self._received = received
        self.dropped = dropped if dropped is not None else DroppedPackets()
        self._events: frozenset[str] = frozenset()
        self._url = URL()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._sid: str | None = None
        self.ping_interval: float | None = None
        self.ping_timeout: float | None = None
        self._ready: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._post_lock = asyncio.Lock()  # engine.io refuses overlapping POSTs
        self._last_received = 0.0
        self._unpaced = 0  # packets handled since the loop last ran other work
        self._ended = False
        self._close_owed = False  # the server ended socket.io but not Engine.IO: we close it
        self.connected = False

    async def connect(self, url: str, *, events: Sequence[str]) -> None:
        """Open the connection to the server at ``url``, delivering ``events`` to the handler."""
        loop = asyncio.get_running_loop()
        self._events = frozenset(events)
        self._url = URL(url).with_path(SOCKETIO_PATH)
        self._ready = loop.create_future()
        self._last_received = loop.time()
        try:
            if self.transport_name == "websocket":
                self._ws = await self._session.ws_connect(
                    self._query(),
                    ssl=self._ssl,
                    max_msg_size=MAX_MESSAGE_SIZE,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_GRACE),
                )
                self._start(self._read_websocket(self._ws))
            else:
                self._receive(await self._get())
                if self._sid is None:
                    self._lost("no Engine.IO open packet")
                else:
                    self._start(self._poll())
            await self._ready  # the server's connect ("40"), after the open packet
        except BaseException as err:
            await self.disconnect()
            if isinstance(err, Exception):
                raise _connection_error(err, url) from err
            raise
        self.connected = True
        self._start(self._heartbeat())

    async def emit(self, event: str, data: object) -> None:
        """Send one event; raise SwitchvoxConnectionError when the connection is down."""
        if not self.connected:
            raise SwitchvoxConnectionError("Not connected")
        # ensure_ascii (json's default) keeps every packet we send ASCII.
        await self._send(_EVENT_PREFIX + json.dumps([event, data], separators=(",", ":")))

    async def disconnect(self) -> None:
        """Close the connection (idempotent, never reported as a drop, bounded on a dead link)."""
        goodbye = (not self._ended or self._close_owed) and self._sid is not None
        self._close_owed = False
        self._ended = True
        self.connected = False
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if (ready := self._ready) is not None:
            if not ready.done():
                ready.cancel()
            elif not ready.cancelled():
                ready.exception()  # retrieved: connect raised its own error
        ws, self._ws = self._ws, None
        if ws is not None:  # the close handshake waits CLOSE_GRACE at most
            with contextlib.suppress(Exception):
                await ws.close()
        elif goodbye:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_GRACE):
                    await self._send(EngineIOPacket.CLOSE)

    def _query(self, sid: str | None = None) -> URL:
        """Return the Engine.IO URL of this transport (of the session ``sid``, if given)."""
        sid_query = {"sid": sid} if sid is not None else {}
        return self._url.with_query(EIO="3", transport=self.transport_name, **sid_query)

    def _start(self, coro: Any) -> None:
        """Run one of the connection's loops in a task, ended by :meth:`disconnect`."""
        task = asyncio.get_running_loop().create_task(coro, name="switchvox wire")
        task.add_done_callback(self._loop_ended)
        self._tasks.append(task)

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        """End the connection when one of its loops failed: a dead loop must not look alive."""
        if task.cancelled() or (err := task.exception()) is None:
            return
        _LOGGER.warning("The socket.io connection failed", exc_info=err)
        self._lost(f"{type(err).__name__}: {err}")

    async def _read_websocket(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Handle every frame until the WebSocket ends."""
        while not self._ended:
            message = await ws.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                await self._deliver((message.data,))
            elif message.type is aiohttp.WSMsgType.BINARY:
                self._last_received = asyncio.get_running_loop().time()
                _LOGGER.debug("Dropped a binary WebSocket frame (%d bytes)", len(message.data))
            else:  # CLOSE, CLOSING, CLOSED, ERROR (a message beyond MAX_MESSAGE_SIZE, say)
                self._lost(f"the WebSocket ended ({message.type.name}: {ws.exception()})")

    async def _poll(self) -> None:
        """Handle every long-polling payload until the connection ends."""
        while not self._ended:
            try:
                packets = await self._get(self._sid)
            except (aiohttp.ClientError, OSError, SwitchvoxConnectionError) as err:
                self._lost(f"polling failed: {type(err).__name__}: {err}")
                return
            await self._deliver(packets)

    async def _deliver(self, packets: Sequence[str]) -> None:
        """Handle packets, letting the event loop run other work after every PACKETS_PER_STEP."""
        for packet in packets:
            if self._ended:
                return
            self._receive((packet,))
            self._unpaced += 1
            if self._unpaced >= PACKETS_PER_STEP:
                self._unpaced = 0
                await asyncio.sleep(0)

    async def _get(self, sid: str | None = None) -> list[str]:
        """Return the packets of one long-polling GET (what its payload held that is usable)."""
        async with self._session.get(
            self._query(sid), ssl=self._ssl, timeout=_NO_TIMEOUT
        ) as response:
            if response.status != 200:
                raise SwitchvoxConnectionError(f"HTTP {response.status} to a long-polling GET")
            body = bytearray()
            async for chunk in response.content.iter_any():
                self._last_received = asyncio.get_running_loop().time()
                body += chunk
                if len(body) > _MAX_PAYLOAD:
                    raise SwitchvoxConnectionError("a long-polling payload beyond the bound")
        self._last_received = asyncio.get_running_loop().time()
        return decode_payload(bytes(body), self.dropped)

    async def _send(self, packet: str) -> None:
        """Send one Engine.IO packet: a WebSocket frame, or a long-polling POST."""
        try:
            if self._ws is not None:
                await self._ws.send_str(packet)
                return
            async with (
                self._post_lock,
                self._session.post(
                    self._query(self._sid),
                    data=encode_payload(packet),
                    headers={"Content-Type": "text/plain;charset=UTF-8"},
                    ssl=self._ssl,
                    timeout=_NO_TIMEOUT,
                ) as response,
            ):
                await response.read()
        except (aiohttp.ClientError, OSError) as err:
            raise SwitchvoxConnectionError(f"Cannot send: {type(err).__name__}: {err}") from err
        if response.status != 200:
            raise SwitchvoxConnectionError(f"HTTP {response.status} to a long-polling POST")

    async def _heartbeat(self) -> None:
        """Ping every interval; the link is dead once nothing arrived for interval + timeout.

        One timer, pushed back by what arrives. A ping a dead link never takes ends at the deadline.
        """
        loop = asyncio.get_running_loop()
        interval = self.ping_interval or DEFAULT_PING_INTERVAL
        limit = interval + (self.ping_timeout or DEFAULT_PING_TIMEOUT)
        next_ping = loop.time() + interval
        while (deadline := self._last_received + limit) > (now := loop.time()):
            if now >= next_ping:
                next_ping = now + interval
                try:
                    async with asyncio.timeout_at(deadline):
                        await self._send(EngineIOPacket.PING)
                except TimeoutError:
                    continue
                except SwitchvoxConnectionError as err:
                    self._lost(str(err))
                    return
            await asyncio.sleep(min(next_ping, deadline) - loop.time())
        self._lost(f"nothing received for {limit:.1f} s")

    def _receive(self, packets: Sequence[str]) -> None:
        """Handle Engine.IO packets in order (a frame, a payload) until one ends the connection."""
        for packet in packets:
            if self._ended:
                return
            if len(packet) > MAX_MESSAGE_SIZE:  # as the WebSocket refuses it: in characters here
                self._lost(f"a packet of {len(packet)} characters, beyond the bound")
                return
            self._last_received = asyncio.get_running_loop().time()
            kind, data = packet[:1], packet[1:]
            if kind == EngineIOPacket.MESSAGE:
                self._message(data)
            elif kind == EngineIOPacket.OPEN:
                self._open(data)
            elif kind == EngineIOPacket.CLOSE:
                self._lost("the server closed the Engine.IO session")
            elif kind not in _ALIVE:  # pongs and noops only say the link is alive
                _LOGGER.debug("Dropped an Engine.IO packet of unknown type %.64r", packet)

    def _open(self, data: str) -> None:
        """Take the session's parameters from the open packet; one without a sid ends the link.

        The ping values are clamped to their ranges; one that is no positive number (NaN, a
        text, missing) gives way to socket.io's default.
        """
        with contextlib.suppress(ValueError, TypeError, KeyError, RecursionError):
            fields = json.loads(data)
            if type(fields) is dict and type(fields["sid"]) is str:
                self._sid = fields["sid"]
                self.ping_interval = _ping_seconds(
                    fields.get("pingInterval"), DEFAULT_PING_INTERVAL, PING_INTERVAL_RANGE
                )
                self.ping_timeout = _ping_seconds(
                    fields.get("pingTimeout"), DEFAULT_PING_TIMEOUT, PING_TIMEOUT_RANGE
                )
                return
        self._lost(f"a malformed Engine.IO open packet: {data[:200]!r}")

    def _message(self, data: str) -> None:
        """Handle one socket.io packet: events of the default namespace, its connect and end."""
        if (received := self._received) is not None:
            received.append(ReceivedMessage(time.time(), data[:MAX_RECORDED_MESSAGE]))
        kind, rest = data[:1], data[1:]
        namespace = "/"
        if rest.startswith("/"):
            namespace, _, rest = rest.partition(",")
        if namespace != "/":
            _LOGGER.debug("Dropped a socket.io packet of namespace %.64r", namespace)
        elif kind == SocketIOPacket.EVENT:
            self._event(rest)
        elif (
            kind == SocketIOPacket.CONNECT
            and self._sid is not None
            and self._ready
            and not self._ready.done()
        ):
            self._ready.set_result(None)
        elif kind == SocketIOPacket.DISCONNECT:
            # The Engine.IO session outlives it on the server until we close it (or its ping
            # timeout): over long-polling the close is a POST of its own, sent by disconnect().
            self._close_owed = True
            self._lost("the server disconnected the socket.io namespace")
        elif kind == SocketIOPacket.ERROR and self._ready and not self._ready.done():
            self._ready.set_exception(SwitchvoxConnectionError(f"refused: {rest[:200]}"))
        else:
            _LOGGER.debug("Dropped a socket.io packet: %.64r", data)

    def _event(self, text: str) -> None:
        """Deliver one event of ours (its JSON after an optional acknowledgement id)."""
        text = text.lstrip("0123456789")
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested past the decoder's stack
            _LOGGER.debug("Dropped a socket.io event that is not JSON: %.64r", text)
            return
        name = payload[0] if type(payload) is list and payload else None
        if type(name) is not str or name not in self._events:
            _LOGGER.debug("Dropped a socket.io event not asked for: %.64r", text)
            return
        try:
            self._on_event(name, tuple(payload[1:]))
        except Exception:
            _LOGGER.exception("Handling a %s event failed", name)

    def _lost(self, reason: str) -> None:
        """End the connection as the server or the link did: report it once, or fail connect."""
        if self._ended:
            return
        self._ended = True
        self.connected = False
        _LOGGER.debug("socket.io connection ended: %s", reason)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(SwitchvoxConnectionError(reason))
        else:
            self._on_disconnect()


def _ping_seconds(value: object, default: float, bounds: tuple[float, float]) -> float:
    """Return an open packet's ping value (ms) in seconds, clamped to ``bounds``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        _LOGGER.debug("Ping value %.32r of the open packet is no positive number", value)
        return default
    try:
        seconds = value / 1000
    except OverflowError:  # an integer beyond any float
        seconds = math.inf
    low, high = bounds
    if not low <= seconds <= high:
        _LOGGER.debug("Ping value of %s s clamped to %s-%s s", seconds, low, high)
    return float(min(max(seconds, low), high))
