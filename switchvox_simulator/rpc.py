"""JSON-RPC 2.0 of the Realtime API: sessions, request checks, the methods and their faults."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .pbx import TOPIC_LINE, JsonDict, Pbx

INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
NOT_AUTHENTICATED: Final = -32000
NOT_AUTHORIZED: Final = -32001
ALREADY_AUTHENTICATED: Final = -32002

METHODS: Final = frozenset({"login", "logout", "subscribe", "unsubscribe", "dial"})

type AfterAction = Callable[[], Awaitable[None]]
type Emit = Callable[[str, Any, str], Awaitable[None]]
"""Send one socket.io event: (event, payload, sid)."""
type Disconnect = Callable[[str], Awaitable[None]]
"""Close one connection by sid."""
type PlaceCall = Callable[[str, str, JsonDict | None], Awaitable[object]]
"""Place a call: (from extension, to, dialData)."""
type Sleep = Callable[[float], Awaitable[None]]
"""Wait so many seconds (``asyncio.sleep``, or a test's controlled clock)."""
type Spawn = Callable[[Coroutine[Any, Any, Any]], object]
"""Run a coroutine in the background, tracked by the simulator."""

# The points after which a flapping PBX closes a session (see RpcFaults.drop_after).
DROP_POINTS: Final = ("login", "subscribe")


@dataclass
class Session:
    """State of one socket.io connection (one API session)."""

    sid: str
    extension: str | None = None
    watched: set[str] = field(default_factory=set)
    notifications: int = 0
    """Notifications sent to this connection."""


@dataclass
class Outcome:
    """A method's JSON-RPC result or error, and what to do after responding."""

    result: bool = True
    error: JsonDict | None = None
    after: AfterAction | None = None


def error_object(code: int, message: str, data: Any = None) -> JsonDict:
    """Return a JSON-RPC error object (``data`` left out when None)."""
    error: JsonDict = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return error


def failure(code: int, message: str, data: JsonDict | None = None) -> Outcome:
    """Return an error outcome."""
    return Outcome(result=False, error=error_object(code, message, data))


def redact(value: Any) -> Any:
    """Return ``value`` with every "password" entry replaced by "***" (recursively)."""
    if isinstance(value, Mapping):
        return {k: "***" if k == "password" else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def target_extensions(params: JsonDict) -> list[str] | Outcome:
    """Parse subscribe/unsubscribe params into extensions, or an invalid-params outcome."""
    topic = params.get("topic")
    if not isinstance(topic, str):
        return failure(INVALID_PARAMS, "Missing or invalid param: topic")
    if topic != TOPIC_LINE:
        return failure(INVALID_PARAMS, f"Unsupported topic: {topic}")
    targets = params.get("targets")
    if not isinstance(targets, list) or not targets:
        return failure(INVALID_PARAMS, "Missing or invalid param: targets")
    extensions: list[str] = []
    for target in targets:
        account = target.get("account") if isinstance(target, dict) else None
        extension = account.get("extension") if isinstance(account, dict) else None
        if isinstance(extension, int) and not isinstance(extension, bool):
            extension = str(extension)
        if not isinstance(extension, str) or not extension:
            return failure(INVALID_PARAMS, "Each target must be {account: {extension: string}}")
        if extension not in extensions:
            extensions.append(extension)
    return extensions


@dataclass
class RpcFaults:
    """Switches that make methods slow, silent or failing."""

    delays: dict[str, float] = field(default_factory=dict)
    ignored: set[str] = field(default_factory=set)
    errors: dict[str, JsonDict] = field(default_factory=dict)
    login_error: JsonDict | None = None
    """Log sessions in but answer the successful login with this error (None = normal)."""
    drop_after: str | None = None
    """Close the connection right after answering this method ("login" or "subscribe")."""
    drop_after_seconds: float | None = None
    """Close each connection this long after its login was answered."""
    drop_after_notifications: int | None = None
    """Close each connection once it has been sent this many notifications."""
    string_ids: bool = False
    """Echo a request's numeric id as a string ("1" for 1), as some servers do."""

    def set_flapping(
        self,
        *,
        after: str | None = None,
        seconds: float | None = None,
        notifications: int | None = None,
    ) -> None:
        """Close every session at one point of its life, as a PBX at its session limit does.

        ``after`` a method's answer ("login", "subscribe"), ``seconds`` after the login, or
        after so many ``notifications``; no argument stops it.
        """
        if after is not None and after not in DROP_POINTS:
            raise ValueError(f"Unknown drop point {after!r}: one of {DROP_POINTS}")
        if seconds is not None and seconds < 0:
            raise ValueError("seconds must be >= 0")
        if notifications is not None and notifications < 1:
            raise ValueError("notifications must be >= 1")
        self.drop_after = after
        self.drop_after_seconds = seconds
        self.drop_after_notifications = notifications

    def set_delay(self, method: str, seconds: float) -> None:
        """Delay handling of ``method`` by ``seconds`` (0 = none)."""
        if seconds > 0:
            self.delays[method] = seconds
        else:
            self.delays.pop(method, None)

    def set_ignore(self, method: str, value: bool = True) -> None:
        """Swallow (or stop swallowing) requests for ``method``."""
        if value:
            self.ignored.add(method)
        else:
            self.ignored.discard(method)

    def set_error(self, method: str, code: int | None, message: str, data: Any = None) -> None:
        """Answer every ``method`` request with this error, unhandled (code None clears)."""
        if code is None:
            self.errors.pop(method, None)
        else:
            self.errors[method] = error_object(code, message, data)


class SessionTable:
    """The open connections (by socket.io sid) and what each one is logged in as and watches."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def open(self, sid: str) -> Session:
        """Register a new connection."""
        session = self._sessions[sid] = Session(sid)
        return session

    def close(self, sid: str) -> None:
        """Forget a closed connection and its subscriptions."""
        self._sessions.pop(sid, None)

    def clear(self) -> None:
        """Forget every connection."""
        self._sessions.clear()

    def get(self, sid: str) -> Session | None:
        """Return the session of a connection, if it is open."""
        return self._sessions.get(sid)

    def __iter__(self) -> Iterator[Session]:
        """Iterate over a snapshot of the sessions."""
        return iter(list(self._sessions.values()))

    def __len__(self) -> int:
        """Return the number of open connections."""
        return len(self._sessions)

    def subscribers(self, extension: str) -> list[str]:
        """Return the connections subscribed to ``extension``."""
        return [s.sid for s in self._sessions.values() if extension in s.watched]

    @property
    def authenticated(self) -> int:
        """Return the number of logged-in sessions."""
        return sum(1 for s in self._sessions.values() if s.extension is not None)

    @property
    def subscriptions(self) -> dict[str, int]:
        """Return extension -> number of sessions subscribed to it."""
        counts: dict[str, int] = {}
        for session in self._sessions.values():
            for extension in session.watched:
                counts[extension] = counts.get(extension, 0) + 1
        return counts

    def expire(self) -> int:
        """End every logged-in session but keep its connection; return how many there were.

        As a PBX whose API sessions time out: requests but login are answered "not
        authenticated", and no notification is sent any more, while the socket stays open.
        """
        expired = 0
        for session in self._sessions.values():
            if session.extension is not None:
                expired += 1
            session.extension = None
            session.watched.clear()
        return expired

    def unwatch(self, extension: str, target: str) -> None:
        """Drop ``target`` from the subscriptions of every session logged in as ``extension``."""
        for session in self._sessions.values():
            if session.extension == extension:
                session.watched.discard(target)

    def details(self) -> list[JsonDict]:
        """Return each session's extension and watched extensions as JSON data."""
        return [
            {"extension": s.extension, "watched": sorted(s.watched)}
            for s in self._sessions.values()
        ]


class JsonRpc:
    """Answer ``request`` events: validate, apply the faults, run the method, respond."""

    def __init__(
        self,
        pbx: Pbx,
        sessions: SessionTable,
        faults: RpcFaults,
        *,
        emit: Emit,
        disconnect: Disconnect,
        place_call: PlaceCall,
        spawn: Spawn,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.pbx = pbx
        self.sessions = sessions
        self.faults = faults
        self.requests: list[tuple[str, Any]] = []
        self._emit = emit
        self._disconnect = disconnect
        self._place_call = place_call
        self._spawn = spawn
        self._sleep = sleep

    async def handle(self, sid: str, data: Any) -> None:
        """Handle one ``request`` event of connection ``sid``: a JSON-RPC 2.0 request object."""
        session = self.sessions.get(sid)
        if session is None:
            return
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
            self.requests.append(("", redact(data)))
            await self._respond(sid, request_id, failure(INVALID_REQUEST, "Invalid Request"))
            return
        params = data.get("params", {})
        self.requests.append((method, redact(params)))
        if method in self.faults.ignored:
            return
        if delay := self.faults.delays.get(method):
            await asyncio.sleep(delay)
        forced = self.faults.errors.get(method)
        if forced is not None:
            outcome = Outcome(result=False, error=dict(forced))
        else:
            outcome = self.dispatch(session, method, params)
        if "id" in data:
            await self._respond(sid, request_id, outcome)
        if outcome.after is not None:
            await outcome.after()
        await self._flap(session, method)

    async def _flap(self, session: Session, method: str) -> None:
        """Close the connection where the flapping fault says, after answering ``method``."""
        faults = self.faults
        if method == faults.drop_after:
            await self._disconnect(session.sid)
        elif method == "login" and faults.drop_after_seconds is not None:
            self._spawn(self._close_later(session, faults.drop_after_seconds))

    async def _close_later(self, session: Session, seconds: float) -> None:
        """Close ``session``'s connection ``seconds`` from now, if still open and flapping then."""
        await self._sleep(seconds)
        if self.faults.drop_after_seconds is not None and self.sessions.get(session.sid) is session:
            await self._disconnect(session.sid)

    async def notified(self, session: Session) -> None:
        """Count a notification sent to ``session``; close it where the flapping fault says."""
        session.notifications += 1
        limit = self.faults.drop_after_notifications
        if limit is not None and session.notifications >= limit:
            await self._disconnect(session.sid)

    async def _respond(self, sid: str, request_id: Any, outcome: Outcome) -> None:
        """Send a JSON-RPC response."""
        if self.faults.string_ids and type(request_id) is int:
            request_id = str(request_id)
        payload: JsonDict = {"jsonrpc": "2.0", "id": request_id}
        if outcome.error is not None:
            payload["error"] = outcome.error
        else:
            payload["result"] = outcome.result
        await self._emit("response", payload, sid)

    def dispatch(self, session: Session, method: str, params: Any) -> Outcome:
        """Run one method for a session."""
        if method not in METHODS:
            return failure(METHOD_NOT_FOUND, f"Method not found: {method}")
        if method != "login" and session.extension is None:
            return failure(NOT_AUTHENTICATED, "Not authenticated")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return failure(INVALID_PARAMS, "params must be an object")
        handler = {
            "login": self.login,
            "logout": self.logout,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "dial": self.dial,
        }[method]
        return handler(session, params)

    def login(self, session: Session, params: JsonDict) -> Outcome:
        """Authenticate the session."""
        if session.extension is not None:
            return failure(ALREADY_AUTHENTICATED, "Session already authenticated")
        extension, password = params.get("extension"), params.get("password")
        if not isinstance(extension, str) or not isinstance(password, str):
            return failure(INVALID_PARAMS, "Missing or invalid params: extension, password")
        account = self.pbx.authenticate(extension, password)
        if account is None:
            return failure(NOT_AUTHENTICATED, "Invalid credentials")
        session.extension = account.extension
        if self.faults.login_error is not None:
            return Outcome(result=False, error=dict(self.faults.login_error))
        return Outcome()

    def logout(self, session: Session, params: JsonDict) -> Outcome:
        """End the session: respond, then drop the connection."""
        session.extension = None
        session.watched.clear()

        async def disconnect() -> None:
            await self._disconnect(session.sid)

        return Outcome(after=disconnect)

    def _check_watch(self, session: Session, method: str, extensions: list[str]) -> Outcome:
        """Return an error outcome naming the extensions this session may not watch."""
        account = self.pbx.accounts.get(session.extension or "")
        refused = [
            e
            for e in extensions
            if e not in self.pbx.accounts or not account or not account.may_watch(e)
        ]
        if refused:
            return failure(
                NOT_AUTHORIZED,
                f"Not authorized to watch {', '.join(refused)}",
                {"method": method, "extensions": refused},
            )
        return Outcome()

    def subscribe(self, session: Session, params: JsonDict) -> Outcome:
        """Subscribe to line state of the target extensions (all or nothing)."""
        return self._change_watch(session, "subscribe", params, session.watched.update)

    def unsubscribe(self, session: Session, params: JsonDict) -> Outcome:
        """Unsubscribe from the target extensions."""
        return self._change_watch(session, "unsubscribe", params, session.watched.difference_update)

    def _change_watch(
        self,
        session: Session,
        method: str,
        params: JsonDict,
        apply: Callable[[list[str]], None],
    ) -> Outcome:
        """Check a (un)subscribe's targets and permission, then ``apply`` them to the session."""
        extensions = target_extensions(params)
        if isinstance(extensions, Outcome):
            return extensions
        outcome = self._check_watch(session, method, extensions)
        if outcome.error is None:
            apply(extensions)
        return outcome

    def dial(self, session: Session, params: JsonDict) -> Outcome:
        """Place a call from the session's extension."""
        account = self.pbx.account(session.extension or "")
        target = params.get("extension")
        device = params.get("convergedDeviceId")
        dial_data = params.get("dialData")
        if not isinstance(target, str) or not target:
            return failure(INVALID_PARAMS, "Missing or invalid param: extension")
        if device is not None and not isinstance(device, (str, int)):
            return failure(INVALID_PARAMS, "Invalid param: convergedDeviceId")
        if dial_data is not None and not isinstance(dial_data, dict):
            return failure(INVALID_PARAMS, "Invalid param: dialData")
        if not account.can_dial:
            return failure(NOT_AUTHORIZED, "Not authorized to dial", {"method": "dial"})

        async def place_call() -> None:
            await self._place_call(account.extension, target, dial_data)

        return Outcome(after=place_call)
