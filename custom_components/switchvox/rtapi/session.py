"""The life of one realtime session: connect, log in, subscribe, stay connected, reconnect.

The PBX binds an API session to its socket.io connection, so staying connected means opening a
whole new session after every drop. :class:`SwitchvoxSession` does that for as long as it runs:

* a drop forgets every channel (a call may have ended while we were away) and is reported once;
* reconnect attempts back off exponentially, capped and jittered, so a PBX that stays down is
  not hammered, while a single drop is repaired within a tenth of a second;
* a refused login ends the session for good (a locked account must not be retried), every
  other failure, whatever raised it, is retried;
* a drop while logging in or subscribing counts as a failed attempt, at first start too;
* the loss and the return of the session are logged once each (info), a PBX refusing to restore
  it is warned once per outage, and every other failed attempt is logged at debug level.

What the owner needs to know arrives through a :class:`SessionObserver`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import logging
import random
from typing import Final, Protocol

from .client import SwitchvoxClient
from .exceptions import (
    SwitchvoxAlreadyAuthenticatedError,
    SwitchvoxAuthenticationError,
    SwitchvoxConnectionError,
    SwitchvoxError,
    SwitchvoxNotAuthorizedError,
    SwitchvoxRpcError,
    SwitchvoxTLSError,
)
from .lines import Line, LineChange, LineTracker
from .models import LineState

_LOGGER = logging.getLogger(__name__)

# A dropped session usually reconnects at once and a PBX still down refuses cheaply: the first
# retry comes quickly, then the delays double from the initial delay up to the cap.
FIRST_RECONNECT_DELAY: Final = 0.1
RECONNECT_INITIAL_DELAY: Final = 0.5
RECONNECT_MAX_DELAY: Final = 60.0
RECONNECT_JITTER: Final = 0.25
# Logging out must not hold up a shutdown when the PBX is gone.
LOGOUT_TIMEOUT: Final = 3.0
# Connection events remembered for diagnostics.
HISTORY_LENGTH: Final = 20


def reconnect_delay(attempt: int) -> float:
    """Return the delay before reconnect ``attempt`` (0-based): exponential, capped, jittered."""
    if attempt == 0:
        base = FIRST_RECONNECT_DELAY
    else:
        base = min(RECONNECT_MAX_DELAY, RECONNECT_INITIAL_DELAY * 2.0 ** min(attempt - 1, 16))
    return base * (1 + random.uniform(-RECONNECT_JITTER, RECONNECT_JITTER))  # noqa: S311


def is_refused_login(err: BaseException) -> bool:
    """Return whether ``err`` is the PBX refusing the credentials.

    Only a refused login means a wrong password. "Not authenticated" to a subscribe right after
    a successful login is the session's problem, and a new session may well succeed.
    """
    return isinstance(err, SwitchvoxAuthenticationError) and err.method == "login"


def needs_user_action(err: BaseException) -> bool:
    """Return whether retrying alone cannot fix ``err``: someone has to change something.

    A certificate that fails verification needs a trusted certificate or the verify option
    turned off; a login answered "not authorized" needs the PBX admin to grant the extension
    the Realtime API.
    """
    return isinstance(err, SwitchvoxTLSError) or (
        isinstance(err, SwitchvoxNotAuthorizedError) and err.method == "login"
    )


class SessionObserver(Protocol):
    """What the owner of a session is told, always from the event loop."""

    def session_up(self, refused: frozenset[str]) -> None:
        """Handle the session opening; ``refused`` are watched extensions the PBX did not allow."""

    def session_down(self) -> None:
        """Handle the open session dropping; reconnecting has started."""

    def line_changed(self, change: LineChange) -> None:
        """Handle a change of a watched extension's channel."""

    def reconnect_failed(self, error: SwitchvoxError, attempt: int) -> None:
        """Handle reconnect ``attempt`` (1-based) failing; another follows after a delay."""

    def login_refused(self, error: SwitchvoxError) -> None:
        """Handle the PBX refusing the credentials: the session has stopped for good."""


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One step of the connection's history, for diagnostics."""

    at: datetime
    event: str
    detail: str | None = None


class SwitchvoxSession:
    """One logged-in, subscribed session kept open over drops, PBX restarts and failures."""

    def __init__(
        self,
        client: SwitchvoxClient,
        extension: str,
        password: str,
        watched: Sequence[str],
        observer: SessionObserver,
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
        self._observer = observer
        self._up = False
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
        """Return whether the session is open."""
        return self._up and self.client.connected

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
            await self._dropped.wait()
            if self._closing or not await self._reconnect():
                return

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
        await self.client.connect()
        try:
            try:
                await self.client.login(self.extension, self._password)
            except SwitchvoxAlreadyAuthenticatedError:
                # -32002 on a brand-new connection: whatever the PBX thinks happened before,
                # the session is logged in, which is what login was for.
                _LOGGER.debug("The PBX reports the new session as logged in already")
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
        attempt = 0
        unexpected_logged = refusal_logged = False
        while True:
            await asyncio.sleep(reconnect_delay(attempt))
            attempt += 1
            if self._closing:  # closed while waiting
                return False
            try:
                await self._open()
            except SwitchvoxError as err:
                self._failed(str(err))
                if is_refused_login(err):
                    _LOGGER.error(  # noqa: TRY400 - a traceback would add nothing
                        "The Switchvox PBX at %s refused the login of extension %s; "
                        "not retrying until the credentials are updated",
                        self.client.host,
                        self.extension,
                    )
                    self._record("stopped", "login refused")
                    self._observer.login_refused(err)
                    return False
                if isinstance(err, SwitchvoxRpcError) and not refusal_logged:
                    refusal_logged = True
                    _LOGGER.warning(
                        "The Switchvox PBX at %s refused to restore the session (%s); retrying",
                        self.client.host,
                        err,
                    )
                else:
                    _LOGGER.debug("Reconnect attempt %s failed: %s", attempt, err)
                self._observer.reconnect_failed(err, attempt)
                continue
            except Exception as err:
                # Last resort: an error nobody foresaw must not end reconnecting for good.
                self._failed(f"{type(err).__name__}: {err}")
                if not unexpected_logged:
                    unexpected_logged = True
                    _LOGGER.exception("Unexpected error while reconnecting; retrying with backoff")
                continue
            self.reconnects += 1
            self._mark_up()
            return True

    def _failed(self, detail: str) -> None:
        """Note a failed attempt to open the session."""
        self.last_error = detail
        self._record("failed", detail)

    def _mark_up(self) -> None:
        """Note the session open and tell the observer."""
        self._up = True
        self.connected_since = datetime.now(UTC)
        self.last_error = None
        self._record("connected", self.client.transport_name)
        if self.reconnects:
            _LOGGER.info("Connection to the Switchvox PBX at %s restored", self.client.host)
        self._observer.session_up(self.refused)

    def _handle_connection(self, connected: bool) -> None:
        """Forget every channel on a drop and wake the reconnect loop."""
        if connected or self._closing:
            return
        self.tracker.clear()
        self._dropped.set()
        self.last_error = "connection lost"
        if self._up:
            self._up = False
            self.connected_since = None
            self._record("dropped")
            _LOGGER.info(
                "Lost the connection to the Switchvox PBX at %s; reconnecting", self.client.host
            )
            self._observer.session_down()

    def _handle_line_state(self, state: LineState) -> None:
        """Apply a notification to its line and report the change, if any."""
        self.notifications += 1
        if (change := self.tracker.apply(state)) is not None:
            self._observer.line_changed(change)

    def _record(self, event: str, detail: str | None = None) -> None:
        """Remember one step of the connection's history."""
        self.history.append(SessionEvent(datetime.now(UTC), event, detail))
