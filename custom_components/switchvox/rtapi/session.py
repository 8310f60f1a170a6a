"""The life of one realtime session: connect, log in, subscribe, stay connected, reconnect.

The PBX binds an API session to its socket.io connection, so staying connected means opening a
whole new session after every drop. :class:`SwitchvoxSession` does that for as long as it runs:

* a drop forgets every channel (a call may have ended while we were away);
* reconnect attempts back off exponentially, capped and jittered, and the backoff starts over
  only once a session has stayed up for :data:`STABLE_SESSION`: a PBX that accepts the login,
  then closes the session again and again (its session limit reached, another client taking
  the extension's session, a proxy with a broken idle timer) is not hammered, while a single
  drop is still mended within a tenth of a second. A session that stayed up for
  :data:`QUICK_RETRY_AFTER` earns one quick retry after its drop, whatever the backoff level:
  only sessions closed sooner climb the backoff;
* a refused login ends the session for good (a locked account must not be retried), every
  other failure, whatever raised it, is retried;
* a drop while logging in or subscribing counts as a failed attempt, at first start too;
* one outage tells one story in the log: the loss of a session that had settled (info), a PBX
  refusing to restore it (warned once), and the return once a session has settled again, with
  how long it took and how many attempts (info); the cycles in between are logged at debug;
* a PBX that keeps closing sessions for :data:`UNSTABLE_AFTER` is reported to the observer,
  and the report is withdrawn once a session settles;
* a PBX that ends the API session but keeps the socket open (it answers "not authenticated"
  and sends nothing more) is a drop like any other: the client closes such a connection at
  the first request answered so, and an open session asks the PBX every
  :data:`SESSION_CHECK_INTERVAL` whether it still exists, so a silent expiry is not missed.

Whether the session is open is :attr:`SwitchvoxSession.up`, the one answer to that question.
Line changes reach whoever :meth:`SwitchvoxSession.subscribe` d to them, for one extension or
all; how the session fares (up, down, a refused login...) arrives through a
:class:`SessionObserver`. Time comes from a :class:`Clock`, which tests replace to run minutes of
reconnects in an instant.
"""

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
import logging
import random
import time
from typing import Final, Protocol

from .client import SwitchvoxClient
from .exceptions import (
    SwitchvoxAlreadyAuthenticatedError,
    SwitchvoxConnectionError,
    SwitchvoxError,
    SwitchvoxLoginRefusedError,
    SwitchvoxRpcError,
    SwitchvoxSessionExpiredError,
)
from .lines import Line, LineChange, LineTracker
from .models import LineState
from .redact import RecentMessage, recorded_message, without
from .wire import DroppedPackets

_LOGGER = logging.getLogger(__name__)

# A dropped session usually reconnects at once and a PBX still down refuses cheaply: the first
# retry comes quickly, then the delays double from the initial delay up to the cap.
FIRST_RECONNECT_DELAY: Final = 0.1
RECONNECT_INITIAL_DELAY: Final = 0.5
RECONNECT_MAX_DELAY: Final = 60.0
RECONNECT_JITTER: Final = 0.25
# A session that stays up this long has settled: the backoff starts over, the outage is over.
STABLE_SESSION: Final = 30.0
# A session that stayed up this long before it dropped was of use: the next attempt comes
# quickly (FIRST_RECONNECT_DELAY) without climbing the backoff. Sessions closed sooner are what
# a flapping PBX does; they back off. At most 60 / QUICK_RETRY_AFTER quick logins a minute.
QUICK_RETRY_AFTER: Final = 15.0
# A PBX that has kept closing sessions for this long is reported to the observer.
UNSTABLE_AFTER: Final = 300.0
# How often an open session asks the PBX whether it still exists: the longest an expired
# session that the PBX does not close can go unnoticed. One small request each time.
SESSION_CHECK_INTERVAL: Final = 300.0
# Logging out must not hold up a shutdown when the PBX is gone.
LOGOUT_TIMEOUT: Final = 3.0
# Connection events remembered for diagnostics.
HISTORY_LENGTH: Final = 20


# Called with each change of a line, and with None when the session goes up or down.
type LineCallback = Callable[[LineChange | None], object]


def reconnect_delay(attempt: int) -> float:
    """Return the delay before reconnect ``attempt`` (0-based) of an outage.

    Exponential, capped and jittered: 0.1 s, then 0.5, 1, 2, 4 s... up to a minute.
    """
    if attempt == 0:
        base = FIRST_RECONNECT_DELAY
    else:
        base = min(RECONNECT_MAX_DELAY, RECONNECT_INITIAL_DELAY * 2.0 ** min(attempt - 1, 16))
    return base * (1 + random.uniform(-RECONNECT_JITTER, RECONNECT_JITTER))  # noqa: S311


class SessionObserver(Protocol):
    """What the owner of a session is told, always from the event loop."""

    def session_up(self, refused: frozenset[str]) -> None:
        """Handle the session opening; ``refused`` are watched extensions the PBX did not allow."""

    def session_down(self) -> None:
        """Handle the open session dropping; reconnecting has started."""

    def reconnect_failed(self, error: SwitchvoxError, attempt: int) -> None:
        """Handle reconnect ``attempt`` (1-based) failing; another follows after a delay."""

    def login_refused(self, error: SwitchvoxError) -> None:
        """Handle the PBX refusing the credentials: the session has stopped for good."""

    def sessions_unstable(self, unstable: bool) -> None:
        """Handle the PBX closing every session for a while (True), or a session settling."""


class _NoObserver:
    """The observer of a session whose owner only subscribes to lines."""

    def session_up(self, refused: frozenset[str]) -> None:
        """Ignore the session opening."""

    def session_down(self) -> None:
        """Ignore the session dropping."""

    def reconnect_failed(self, error: SwitchvoxError, attempt: int) -> None:
        """Ignore a failed reconnect."""

    def login_refused(self, error: SwitchvoxError) -> None:
        """Ignore a refused login."""

    def sessions_unstable(self, unstable: bool) -> None:
        """Ignore an unstable PBX."""


class Clock(Protocol):
    """Where a session's time comes from: the monotonic clock, or a test's controlled one."""

    def monotonic(self) -> float:
        """Return the current time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class MonotonicClock:
    """Real time: ``time.monotonic`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """Return the current time in seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        await asyncio.sleep(seconds)


@dataclass(slots=True)
class Outage:
    """From the loss of a settled session to the next session that settles."""

    started: float
    attempts: int = 0
    """Attempts to open a session since it began."""
    closed_sessions: int = 0
    """Sessions the PBX accepted the login of, then closed before they settled."""
    refusal_logged: bool = False
    reported_unstable: bool = False


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One step of the connection's history, for diagnostics."""

    at: datetime
    event: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class SessionDiagnostics:
    """What a bug report needs of a session, the password taken out, callers masked."""

    up: bool
    connected_since: datetime | None
    transport: str | None
    """The Engine.IO transport in use: "websocket" or "polling" (None while down)."""
    ping_interval: float | None
    """Seconds, as the PBX announced them for this connection (clamped)."""
    ping_timeout: float | None
    reconnects: int
    last_error: str | None
    notifications: int
    malformed_messages: int
    dropped_packets: DroppedPackets
    pending_requests: int
    history: tuple[SessionEvent, ...]
    recent_messages: tuple[RecentMessage, ...]
    """The notifications and error responses among the last messages received, oldest first."""


class SwitchvoxSession:
    """One logged-in, subscribed session kept open over drops, PBX restarts and failures."""

    def __init__(
        self,
        *,
        client: SwitchvoxClient,
        extension: str,
        password: str,
        watched: Sequence[str],
        observer: SessionObserver | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.extension = extension
        self._password = password
        self.watched = tuple(watched)
        self.tracker = LineTracker(self.watched)
        self.refused: frozenset[str] = frozenset()
        self.connected_since: datetime | None = None
        self.last_error: str | None = None
        self.reconnects = 0
        self.notifications = 0
        self.history: deque[SessionEvent] = deque(maxlen=HISTORY_LENGTH)
        self.outage: Outage | None = None
        self._observer: SessionObserver = observer or _NoObserver()
        # Subscribers to one extension's line, and (under None) to every watched line.
        self._subscribers: dict[str | None, list[LineCallback]] = {}
        self._clock: Clock = clock or MonotonicClock()
        self._attempt = 0
        self._quick_retry = False
        self._up = False
        self._up_at = 0.0
        self._logged_in = False
        self._unexpected_logged = False
        self._closing = False
        self._dropped = asyncio.Event()
        client.add_line_state_listener(self._handle_line_state)
        client.add_connection_listener(self._handle_connection)

    @property
    def lines(self) -> dict[str, Line]:
        """Return the watched lines by extension."""
        return self.tracker.lines

    @property
    def up(self) -> bool:
        """Return whether the session is open: connected, logged in and subscribed.

        The one answer to that question: the client's connection alone may be up before the
        login, or after the PBX ended the session.
        """
        return self._up and self.client.connected

    def subscribe(self, callback: LineCallback, extension: str | None = None) -> Callable[[], None]:
        """Call ``callback`` with each change of ``extension``'s line (None: of every line).

        It is also called with None when the session goes up or down (read :attr:`up`): the
        lines were forgotten, or start over. Subscribers to every line hear a change before
        those of its extension. A callback that raises is logged; the others still hear the
        change. Return the function that removes the subscription.
        """
        callbacks = self._subscribers.setdefault(extension, [])
        callbacks.append(callback)
        # A partial rather than a closure: one small object per subscriber, of which a PBX
        # with thousands of lines has thousands.
        return partial(callbacks.remove, callback)

    def diagnostics(self) -> SessionDiagnostics:
        """Return the session's state and the PBX's last messages, fit for a bug report."""
        client, password = self.client, self._password
        return SessionDiagnostics(
            up=self.up,
            connected_since=self.connected_since,
            transport=client.transport_name,
            ping_interval=client.ping_interval,
            ping_timeout=client.ping_timeout,
            reconnects=self.reconnects,
            last_error=without(self.last_error, password),
            notifications=self.notifications,
            malformed_messages=client.malformed_messages,
            dropped_packets=replace(client.dropped_packets),
            pending_requests=client.pending_requests,
            history=tuple(
                replace(item, detail=without(item.detail, password)) for item in self.history
            ),
            recent_messages=tuple(
                message
                for item in client.received
                if (message := recorded_message(item, password)) is not None
            ),
        )

    async def start(self) -> None:
        """Open the first session, raising what went wrong as a :class:`SwitchvoxError`."""
        try:
            await self._open()
        except SwitchvoxError as err:
            self._failed(str(err))
            raise
        except Exception as err:
            # Whatever the socket.io layer raised, the PBX could not be reached: retry later.
            self._failed(f"{type(err).__name__}: {err}")
            raise SwitchvoxConnectionError(f"Unexpected error: {self.last_error}") from err
        self._mark_up()

    async def run(self) -> None:
        """Reconnect after every drop until :meth:`close` or a refused login."""
        while not self._closing:
            if await self._stays_up(STABLE_SESSION):
                self._settled()
                await self._check_until_dropped()
            if self._closing or not await self._reconnect():
                return

    async def _stays_up(self, seconds: float) -> bool:
        """Wait until the open session drops or has stayed up ``seconds`` more."""
        dropped = asyncio.ensure_future(self._dropped.wait())
        waited = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait((dropped, waited), return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            waited.cancel()
        return not self._dropped.is_set()

    async def _check_until_dropped(self) -> None:
        """Check the open session :data:`SESSION_CHECK_INTERVAL` after it opened and each check."""
        due = self._up_at + SESSION_CHECK_INTERVAL
        while await self._stays_up(due - self._clock.monotonic()):
            await self._check()
            due = self._clock.monotonic() + SESSION_CHECK_INTERVAL

    async def _check(self) -> None:
        """Ask the PBX whether this session still exists, changing nothing.

        The API has no ping, and every method but login needs a session: subscribing again to
        one extension already subscribed to is such a question. "Not authenticated" makes the
        client close the connection, which reopens the session; any other answer, an error
        included ("not authorized" for a refused extension), shows the session alive.
        """
        permitted = [extension for extension in self.watched if extension not in self.refused]
        target = (permitted or [*self.watched, self.extension])[0]
        try:
            await self.client.subscribe([target])
        except SwitchvoxSessionExpiredError:
            pass  # logged as the session ends
        except SwitchvoxError as err:
            _LOGGER.debug("Session check answered: %s", err)

    def _settled(self) -> None:
        """Start the backoff over and end the outage: the session stayed up."""
        self._attempt = 0
        self._unexpected_logged = False
        outage, self.outage = self.outage, None
        if outage is None:
            return
        _LOGGER.info(
            "Connection to the Switchvox PBX at %s restored after %s down and %d %s",
            self.client.host,
            _duration(self._up_at - outage.started),
            outage.attempts,
            "attempt" if outage.attempts == 1 else "attempts",
        )
        if outage.reported_unstable:
            self._observer.sessions_unstable(False)

    async def close(self) -> None:
        """Log out and close the connection (idempotent)."""
        if self._closing:
            return
        self._closing = True
        self._up = False
        self._dropped.set()
        if self.client.connected:
            with contextlib.suppress(SwitchvoxError, TimeoutError):
                async with asyncio.timeout(LOGOUT_TIMEOUT):
                    await self.client.logout()
        await self.client.disconnect()
        self._record("closed")

    async def _open(self) -> None:
        """Connect, log in and subscribe; a failure or a drop meanwhile leaves no connection."""
        self._dropped.clear()
        self._logged_in = False
        await self.client.connect()
        try:
            try:
                await self.client.login(self.extension, self._password)
            except SwitchvoxAlreadyAuthenticatedError:
                # -32002 on a brand-new connection: whatever the PBX thinks happened before,
                # the session is logged in, which is what login was for.
                _LOGGER.debug("The PBX reports the new session as logged in already")
            self._logged_in = True
            # Nothing from before this session is trusted: calls may have ended meanwhile.
            self.tracker.clear()
            refused = await self.client.subscribe_permitted(self.watched)
        except BaseException:
            await self.client.disconnect()
            raise
        if self._dropped.is_set() or not self.client.connected:
            await self.client.disconnect()
            raise SwitchvoxConnectionError("The connection dropped while subscribing")
        self.refused = frozenset(refused)

    async def _reconnect(self) -> bool:
        """Reconnect with backoff; return False when retrying must stop."""
        while True:
            quick, self._quick_retry = self._quick_retry, False
            if quick and self._attempt > 0:
                # The session that dropped was of use: retry at once, keep the backoff level.
                await self._clock.sleep(reconnect_delay(0))
            else:
                await self._clock.sleep(reconnect_delay(self._attempt))
                self._attempt += 1
            outage = self._outage_now()
            outage.attempts += 1
            if self._closing:  # closed while waiting
                return False
            try:
                await self._open()
            except SwitchvoxError as err:
                self._failed(str(err))
                if isinstance(err, SwitchvoxLoginRefusedError):
                    _LOGGER.error(  # noqa: TRY400 - a traceback would add nothing
                        "The Switchvox PBX at %s refused the login of extension %s; "
                        "not retrying until the credentials are updated",
                        self.client.host,
                        self.extension,
                    )
                    self._record("stopped", "login refused")
                    self._observer.login_refused(err)
                    return False
                if isinstance(err, SwitchvoxRpcError) and not outage.refusal_logged:
                    outage.refusal_logged = True
                    _LOGGER.warning(
                        "The Switchvox PBX at %s refused to restore the session (%s); retrying",
                        self.client.host,
                        err,
                    )
                else:
                    _LOGGER.debug("Reconnect attempt %s failed: %s", outage.attempts, err)
                if self._logged_in:
                    self._session_closed(outage)
                self._observer.reconnect_failed(err, outage.attempts)
                continue
            except Exception as err:
                # Last resort: an error nobody foresaw must not end reconnecting for good.
                self._failed(f"{type(err).__name__}: {err}")
                if not self._unexpected_logged:
                    self._unexpected_logged = True
                    _LOGGER.exception("Unexpected error while reconnecting; retrying with backoff")
                continue
            self.reconnects += 1
            self._mark_up()
            return True

    def _outage_now(self) -> Outage:
        """Return the outage under way, starting one if a session had settled."""
        if self.outage is None:
            self.outage = Outage(started=self._clock.monotonic())
        return self.outage

    def _session_closed(self, outage: Outage) -> None:
        """Count a session the PBX closed before it settled; report a PBX that keeps doing it."""
        outage.closed_sessions += 1
        if (
            not outage.reported_unstable
            and outage.closed_sessions > 1
            and self._clock.monotonic() - outage.started >= UNSTABLE_AFTER
        ):
            outage.reported_unstable = True
            self._observer.sessions_unstable(True)

    def _failed(self, detail: str) -> None:
        """Note a failed attempt to open the session."""
        self.last_error = detail
        self._record("failed", detail)

    def _mark_up(self) -> None:
        """Note the session open and tell the observer."""
        self._up = True
        self._up_at = self._clock.monotonic()
        self.connected_since = datetime.now(UTC)
        self.last_error = None
        self._record("connected", self.client.transport_name)
        if self.outage is not None:
            _LOGGER.debug("Session reopened after %d attempts", self.outage.attempts)
        self._observer.session_up(self.refused)
        self._tell(None)

    def _handle_connection(self, connected: bool) -> None:
        """Forget every channel on a drop and wake the reconnect loop."""
        if connected or self._closing:
            return
        self.tracker.clear()
        self._dropped.set()
        expired = self.client.session_expired
        self.last_error = "session expired" if expired else "connection lost"
        if self._up:
            self._up = False
            self.connected_since = None
            self._quick_retry = self._clock.monotonic() - self._up_at >= QUICK_RETRY_AFTER
            self._record("expired" if expired else "dropped")
            if self.outage is None:
                self._outage_now()
                if expired:
                    _LOGGER.info(
                        "The Switchvox PBX at %s ended the API session; starting a new one",
                        self.client.host,
                    )
                else:
                    _LOGGER.info(
                        "Lost the connection to the Switchvox PBX at %s; reconnecting",
                        self.client.host,
                    )
            else:
                _LOGGER.debug(
                    "The PBX closed the session again after %.1f s",
                    self._clock.monotonic() - self._up_at,
                )
                self._session_closed(self.outage)
            self._observer.session_down()
            self._tell(None)

    def _handle_line_state(self, state: LineState) -> None:
        """Apply a notification to its line and report the change, if any."""
        self.notifications += 1
        if self._dropped.is_set():
            return  # late news of a connection already given up: its lines were forgotten
        if (change := self.tracker.apply(state)) is not None:
            self._tell(change, change.extension)

    def _tell(self, change: LineChange | None, extension: str | None = None) -> None:
        """Call the subscribers of every line, then of ``extension``'s (None: all of them)."""
        subscribers = self._subscribers
        if extension is None:
            callbacks = [item for items in subscribers.values() for item in items]
        else:
            callbacks = [*subscribers.get(None, ()), *subscribers.get(extension, ())]
        for callback in callbacks:
            try:
                callback(change)
            except Exception:
                # One failing subscriber must not keep the change from the others, nor from
                # the lines of the next notifications.
                _LOGGER.exception("Error handling a change of extension %s", extension or "(all)")

    def _record(self, event: str, detail: str | None = None) -> None:
        """Remember one step of the connection's history."""
        self.history.append(SessionEvent(datetime.now(UTC), event, detail))


def _duration(seconds: float) -> str:
    """Return a duration as people read it: "0.4 s", "42 s", "3 min 20 s", "2 h 5 min"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
