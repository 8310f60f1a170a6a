"""HTTP control surface (``/control/...``, JSON in and out) for driving the simulator remotely."""

from collections.abc import Awaitable, Callable
import json
from typing import Any

from aiohttp import web

from .faults import HANDSHAKE_FAULTS, HandshakeFault
from .pbx import PbxError, UnknownAccountError, UnknownChannelError
from .rpc import DROP_POINTS
from .server import SwitchvoxSimulator

type Body = dict[str, Any]
type Action = Callable[[SwitchvoxSimulator, Body], Awaitable[Any]]


class BadRequestError(Exception):
    """The control request's body is missing a field or has a wrong type."""


def _str(body: Body, key: str) -> str:
    """Return a required string field (numbers are accepted and converted)."""
    value = body.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"'{key}' must be a non-empty string")
    return value


def _bool(body: Body, key: str) -> bool:
    """Return a required boolean field."""
    value = body.get(key)
    if not isinstance(value, bool):
        raise BadRequestError(f"'{key}' must be true or false")
    return value


def _int(body: Body, key: str) -> int:
    """Return a required non-negative integer field."""
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequestError(f"'{key}' must be a non-negative integer")
    return value


async def _ring(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Ring an extension with an outside call."""
    queue = body.get("queue")
    unique_id = await sim.ring(
        _str(body, "extension"),
        caller_name=str(body.get("caller_name", "")),
        caller_number=str(body.get("caller_number", "")),
        queue=None if queue is None else str(queue),
    )
    return {"unique_id": unique_id}


def _channel_action(name: str) -> Action:
    """Return a handler calling sim.<name>(unique_id)."""

    async def action(sim: SwitchvoxSimulator, body: Body) -> Any:
        """Apply a call-control action to one channel."""
        await getattr(sim, name)(_str(body, "unique_id"))
        return {"ok": True}

    return action


async def _call(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Place an internal or outside call."""
    dial_data = body.get("dial_data")
    if dial_data is not None and not isinstance(dial_data, dict):
        raise BadRequestError("'dial_data' must be an object")
    a_uid, b_uid = await sim.call(_str(body, "from"), _str(body, "to"), dial_data=dial_data)
    return {"unique_id": a_uid, "from_unique_id": a_uid, "to_unique_id": b_uid}


async def _drop(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Drop every client connection."""
    await sim.drop_connections()
    return {"ok": True}


async def _expire(sim: SwitchvoxSimulator, body: Body) -> Any:
    """End every API session, keeping the connections open."""
    return {"expired": sim.expire_sessions()}


async def _password(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Change a password."""
    sim.set_password(_str(body, "extension"), _str(body, "password"))
    return {"ok": True}


async def _account(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Create or replace an account."""
    can_watch = body.get("can_watch")
    if can_watch is not None and not (
        isinstance(can_watch, list) and all(isinstance(x, str) for x in can_watch)
    ):
        raise BadRequestError("'can_watch' must be null or a list of strings")
    extension = _str(body, "extension")
    sim.add_account(
        extension,
        _str(body, "password"),
        str(body.get("display_name") or f"User {extension}"),
        can_watch=can_watch,
        can_dial=bool(body.get("can_dial", True)),
    )
    return {"ok": True}


async def _revoke(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Revoke a watch permission."""
    sim.revoke_watch(_str(body, "extension"), _str(body, "target"))
    return {"ok": True}


async def _grant(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Grant a watch permission."""
    sim.grant_watch(_str(body, "extension"), _str(body, "target"))
    return {"ok": True}


async def _can_dial(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Grant or revoke the dial permission."""
    sim.set_can_dial(_str(body, "extension"), _bool(body, "value"))
    return {"ok": True}


async def _responding(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Freeze or thaw every connection (half-open)."""
    sim.set_responding(_bool(body, "value"))
    return {"ok": True}


async def _accepting(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Refuse or accept new connections (HTTP 503 on the handshake)."""
    sim.set_accepting(_bool(body, "value"))
    return {"ok": True}


async def _handshake(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Break new connections' handshakes (fault "none" restores them)."""
    fault = body.get("fault")
    if fault not in HANDSHAKE_FAULTS:
        raise BadRequestError(f"'fault' must be one of {', '.join(HANDSHAKE_FAULTS)}")
    times = body.get("times")
    if times is not None:
        times = _int(body, "times")
    handshake_fault: HandshakeFault = fault
    sim.set_handshake_fault(handshake_fault, times)
    return {"ok": True}


async def _flapping(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Close every session after its login or subscribe answer, N seconds or N notifications."""
    after = body.get("after")
    if after is not None and after not in DROP_POINTS:
        raise BadRequestError(f"'after' must be one of {', '.join(DROP_POINTS)} or null")
    seconds = body.get("seconds")
    if seconds is not None and (
        not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0
    ):
        raise BadRequestError("'seconds' must be a non-negative number or null")
    notifications = body.get("notifications")
    if notifications is not None:
        notifications = _int(body, "notifications")
        if notifications < 1:
            raise BadRequestError("'notifications' must be at least 1")
    sim.set_flapping(
        after=after,
        seconds=None if seconds is None else float(seconds),
        notifications=notifications,
    )
    return {"ok": True}


async def _string_ids(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Echo numeric JSON-RPC ids as strings (or stop)."""
    sim.set_string_ids(_bool(body, "value"))
    return {"ok": True}


async def _delay(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Delay responses to a method."""
    seconds = body.get("seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise BadRequestError("'seconds' must be a non-negative number")
    sim.set_delay(_str(body, "method"), float(seconds))
    return {"ok": True}


async def _ignore(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Never answer a method (or answer it again)."""
    sim.set_ignore(_str(body, "method"), _bool(body, "value"))
    return {"ok": True}


async def _error(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Force (or clear, with code null) an error answer for a method."""
    code = body.get("code")
    if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
        raise BadRequestError("'code' must be an integer or null")
    sim.set_error(_str(body, "method"), code, str(body.get("message", "Error")), body.get("data"))
    return {"ok": True}


async def _flood(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Send many notifications quickly."""
    count = _int(body, "count")
    await sim.flood(_str(body, "extension"), count)
    return {"sent": count}


async def _notify(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Send an arbitrary notification to the subscribers of an extension."""
    params = body.get("params", {})
    raw = bool(body.get("raw", False))
    if not raw and not isinstance(params, dict):
        raise BadRequestError("'params' must be an object unless raw is true")
    await sim.notify(_str(body, "extension"), params, raw=raw)
    return {"ok": True}


async def _send_raw(sim: SwitchvoxSimulator, body: Body) -> Any:
    """Emit any event/payload to every connection."""
    await sim.send_raw(_str(body, "event"), body.get("payload"))
    return {"ok": True}


ACTIONS: dict[str, Action] = {
    "ring": _ring,
    "answer": _channel_action("answer"),
    "hold": _channel_action("hold"),
    "resume": _channel_action("resume"),
    "hang_up": _channel_action("hang_up"),
    "call": _call,
    "drop": _drop,
    "expire": _expire,
    "password": _password,
    "account": _account,
    "revoke": _revoke,
    "grant": _grant,
    "can_dial": _can_dial,
    "responding": _responding,
    "accepting": _accepting,
    "handshake": _handshake,
    "flapping": _flapping,
    "string_ids": _string_ids,
    "delay": _delay,
    "ignore": _ignore,
    "error": _error,
    "flood": _flood,
    "notify": _notify,
    "send_raw": _send_raw,
}


def control_routes(sim: SwitchvoxSimulator) -> list[web.RouteDef]:
    """Return the routes GET /control/state and POST /control/<action> driving ``sim``."""

    async def state(request: web.Request) -> web.Response:
        """Return the simulator's state."""
        return web.json_response(sim.state())

    async def post(request: web.Request) -> web.Response:
        """Run one control action from a JSON body."""
        action = ACTIONS.get(request.match_info["action"])
        if action is None:
            return web.json_response({"error": "unknown action"}, status=404)
        # Requiring a JSON content type keeps browsers' "simple" cross-site POSTs out.
        if request.content_type != "application/json":
            return web.json_response({"error": "Content-Type must be application/json"}, status=415)
        raw = await request.text()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        try:
            result = await action(sim, body)
        except BadRequestError as err:
            return web.json_response({"error": str(err)}, status=400)
        except (UnknownChannelError, UnknownAccountError) as err:
            return web.json_response({"error": str(err)}, status=404)
        except PbxError as err:
            return web.json_response({"error": str(err)}, status=409)
        return web.json_response(result)

    return [web.get("/control/state", state), web.post("/control/{action}", post)]
