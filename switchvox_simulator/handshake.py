"""Broken handshakes: what a misbehaving PBX or front end answers instead of Engine.IO's open."""

import json
from typing import Final, Literal, get_args

from aiohttp import web
import engineio_v3.packet
import engineio_v3.payload

type HandshakeFault = Literal[
    "none",
    "close_after_upgrade",
    "open_without_sid",
    "html_page",
    "proxy_502",
    "polling_only",
]
"""
* ``none``: a normal handshake.
* ``close_after_upgrade``: a websocket is accepted, then closed before the open packet; a polling
  GET gets ``200`` with an empty body.
* ``open_without_sid``: the open packet's JSON has no ``sid``.
* ``html_page``: ``200 text/html`` page (a captive portal, a misrouted reverse proxy).
* ``proxy_502``: ``502 text/html`` page from a reverse proxy whose upstream is gone.
* ``polling_only``: websocket requests get ``400`` and the open packet offers no upgrade (a
  proxy that cannot pass WebSockets); long-polling works.
"""
HANDSHAKE_FAULTS: Final[tuple[str, ...]] = get_args(HandshakeFault.__value__)

# A websocket closed by the server waits this long for the client's close frame.
_CLOSE_TIMEOUT: Final = 1.0

HTML_PAGE: Final = (
    "<!DOCTYPE html>\n<html><head><title>Network Login</title></head>"
    "<body><h1>Welcome</h1><p>Please accept the terms of use to continue.</p>"
    '<form method="post" action="/login"><button>Accept</button></form></body></html>\n'
)
BAD_GATEWAY_PAGE: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def is_websocket(request: web.Request) -> bool:
    """Return whether the request asks for Engine.IO's websocket transport."""
    return request.query.get("transport") == "websocket"


def open_packet_without_sid(ping_interval: float, ping_timeout: float) -> engineio_v3.packet.Packet:
    """Return an Engine.IO open packet that lacks the ``sid`` every client needs."""
    return engineio_v3.packet.Packet(
        engineio_v3.packet.OPEN,
        {
            "upgrades": [],
            "pingInterval": int(ping_interval * 1000),
            "pingTimeout": int(ping_timeout * 1000),
        },
    )


async def _websocket(request: web.Request, first: str | None) -> web.StreamResponse:
    """Accept a websocket, send ``first`` (if any) and close it."""
    ws = web.WebSocketResponse(timeout=_CLOSE_TIMEOUT)
    if not ws.can_prepare(request).ok:
        return web.Response(status=400, text="Expected a WebSocket upgrade")
    await ws.prepare(request)
    if first is not None:
        await ws.send_str(first)
    await ws.close()
    return ws


def _polling_body(request: web.Request, pkt: engineio_v3.packet.Packet) -> web.Response:
    """Return a long-polling response carrying one packet, encoded as the client asked."""
    b64 = request.query.get("b64", "").lower() in ("1", "true")
    body = engineio_v3.payload.Payload(packets=[pkt]).encode(b64=b64)
    content_type = "text/plain" if b64 else "application/octet-stream"
    return web.Response(body=body, content_type=content_type)


async def faulty_answer(
    fault: HandshakeFault, request: web.Request, *, ping_interval: float, ping_timeout: float
) -> web.StreamResponse | None:
    """Return the broken answer ``fault`` gives to a new connection, or None to serve it."""
    websocket = is_websocket(request)
    match fault:
        case "close_after_upgrade":
            if websocket:
                return await _websocket(request, None)
            return web.Response(body=b"", content_type="text/plain")
        case "open_without_sid":
            pkt = open_packet_without_sid(ping_interval, ping_timeout)
            if websocket:
                return await _websocket(request, pkt.encode(always_bytes=False))
            return _polling_body(request, pkt)
        case "html_page":
            return web.Response(text=HTML_PAGE, content_type="text/html")
        case "proxy_502":
            return web.Response(status=502, text=BAD_GATEWAY_PAGE, content_type="text/html")
        case "polling_only" if websocket:
            return refuse_websocket()
        case _:
            return None


def refuse_websocket() -> web.Response:
    """Answer a websocket request as engine.io does for a transport it does not serve."""
    return web.Response(
        status=400,
        text=json.dumps({"code": 0, "message": "Transport unknown"}),
        content_type="application/json",
    )
