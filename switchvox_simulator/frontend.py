"""An HTTP front end before any socket.io server, as proxies in front of real PBXs behave.

:class:`FrontEnd` listens on 127.0.0.1 and passes Engine.IO long-polling on to a backend (the
simulator, node's socket.io, any server). WebSocket upgrades are passed on too, swallowed (the
TCP connection is accepted and the upgrade never answered, as a proxy set up for a browser
client that starts with long-polling may do) or refused at once (HTTP 400). It can rewrite the
Engine.IO open packet (ping values a server we did not write might send), serve payloads of its
own to long-polling GETs (framing no server of ours sends), and counts the client's pings.
"""

import asyncio
from collections.abc import Callable
import contextlib
from typing import Final, Literal

import aiohttp
from aiohttp import web

from .wire import SOCKETIO_PATH

type WebSocketMode = Literal["pass", "swallow", "refuse"]

_PATH: Final = f"/{SOCKETIO_PATH}/"


def _packets(body: bytes) -> list[str]:
    """Return the packets of a payload in either framing (a real server's: well formed)."""
    packets: list[str] = []
    i = 0
    if body[:1] in (b"\x00", b"\x01"):
        while i < len(body):
            end = body.index(255, i)
            length = int("".join(map(str, body[i + 1 : end])))
            packets.append(body[end + 1 : end + 1 + length].decode())
            i = end + 1 + length
        return packets
    units = body.decode().encode("utf-16-le", "surrogatepass")
    while i < len(units):
        colon = units.index(b":\x00", i)
        length = int(units[i:colon].decode("utf-16-le"))
        start = colon + 2
        packets.append(units[start : start + 2 * length].decode("utf-16-le", "surrogatepass"))
        i = start + 2 * length
    return packets


def text_payload(packets: list[str]) -> bytes:
    """Return ``packets`` in text framing (lengths in UTF-16 code units)."""
    return b"".join(
        f"{len(packet.encode('utf-16-le', 'surrogatepass')) // 2}:{packet}".encode()
        for packet in packets
    )


def binary_payload(packets: list[bytes]) -> bytes:
    """Return text packets given as bytes (valid UTF-8 or not) in binary framing."""
    return b"".join(
        b"\x00" + bytes(int(digit) for digit in str(len(packet))) + b"\xff" + packet
        for packet in packets
    )


class FrontEnd:
    """A front end on 127.0.0.1 before the socket.io server at ``backend_port``."""

    def __init__(self, backend_port: int, *, websocket: WebSocketMode = "swallow") -> None:
        self.backend = f"http://127.0.0.1:{backend_port}"
        self.websocket: WebSocketMode = websocket
        self.port = 0
        # Rewrites the text of every Engine.IO open packet ("0{...}") the backend sends.
        self.open_packet: Callable[[str], str] | None = None
        # Bodies served, in turn, to the next long-polling GETs of an open session.
        self.payloads: list[bytes] = []
        self.pings = 0
        self.swallowed = 0
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", _PATH, self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Release swallowed upgrades and stop."""
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def __aenter__(self) -> FrontEnd:
        """Start."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop."""
        await self.stop()

    def _rewrite(self, packet: str) -> str:
        """Return ``packet``, its open packet rewritten if so told."""
        if self.open_packet is not None and packet.startswith("0{"):
            return self.open_packet(packet)
        return packet

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Pass a long-polling request on; pass, swallow or refuse a WebSocket upgrade."""
        if request.query.get("transport") == "websocket":
            if self.websocket == "refuse":
                return web.Response(status=400, text="WebSocket not allowed here")
            if self.websocket == "swallow":
                self.swallowed += 1
                await self._release.wait()
                raise web.HTTPServiceUnavailable
            return await self._pass_websocket(request)
        body = await request.read()
        if request.method == "POST":
            self.pings += _packets(body).count("2")
        if request.method == "GET" and "sid" in request.query and self.payloads:
            return web.Response(body=self.payloads.pop(0), content_type="text/plain")
        if self._http is None:
            raise web.HTTPServiceUnavailable
        async with self._http.request(
            request.method,
            f"{self.backend}{request.path_qs}",
            data=body if request.method == "POST" else None,
            headers={"Content-Type": request.headers.get("Content-Type", "text/plain")},
            timeout=aiohttp.ClientTimeout(total=None),
        ) as response:
            answer = await response.read()
            if response.status == 200 and request.method == "GET" and "sid" not in request.query:
                answer = text_payload([self._rewrite(packet) for packet in _packets(answer)])
            return web.Response(
                status=response.status,
                body=answer,
                content_type=response.content_type,
            )

    async def _pass_websocket(self, request: web.Request) -> web.StreamResponse:
        """Pass a WebSocket on, frame by frame both ways."""
        if self._http is None:
            raise web.HTTPServiceUnavailable
        backend = await self._http.ws_connect(f"{self.backend}{request.path_qs}")
        client = web.WebSocketResponse()
        await client.prepare(request)

        async def upstream() -> None:
            async for message in client:
                if message.type is aiohttp.WSMsgType.TEXT:
                    self.pings += message.data == "2"
                    await backend.send_str(message.data)
            await backend.close()

        task = asyncio.get_running_loop().create_task(upstream())
        try:
            async for message in backend:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await client.send_str(self._rewrite(message.data))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await backend.close()
            await client.close()
        return client
