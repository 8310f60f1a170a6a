"""The realtime session of one config entry: connect, log in, subscribe, stay connected.

The PBX pushes every change, so nothing polls. A dropped connection makes every entity
unavailable at once and forgets every channel (a call may have ended while we were away);
a supervisor task reconnects forever with capped, jittered exponential backoff. A refused
login starts the reauth flow and stops retrying, so a locked account is not hammered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
import contextlib
from datetime import datetime
import random
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_EXTENSION,
    CONF_EXTENSIONS,
    DOMAIN,
    EVENT_SWITCHVOX,
    FIRST_RECONNECT_DELAY,
    ISSUE_NOT_AUTHORIZED,
    LOGGER,
    LOGOUT_TIMEOUT,
    MAX_DIAL_DATA_DEPTH,
    RECONNECT_INITIAL_DELAY,
    RECONNECT_JITTER,
    RECONNECT_MAX_DELAY,
)
from .rtapi import (
    LineState,
    LineStatus,
    SwitchvoxAlreadyAuthenticatedError,
    SwitchvoxAuthenticationError,
    SwitchvoxClient,
    SwitchvoxError,
    SwitchvoxRpcError,
)
from .rtapi.lines import MAX_UNKNOWN_STATUSES, Line, LineChange, LineTracker

type SwitchvoxConfigEntry = ConfigEntry[SwitchvoxCoordinator]
type LineListener = Callable[[LineChange | None], None]


# Line statuses as Home Assistant shows them (sensor options, event data).
LINE_STATUS_OPTIONS: dict[LineStatus, str] = {
    LineStatus.IDLE: "idle",
    LineStatus.STARTING: "starting",
    LineStatus.CALLING: "calling",
    LineStatus.ON_THE_PHONE: "on_the_phone",
    LineStatus.RINGING: "ringing",
    LineStatus.ON_HOLD: "on_hold",
}


def client_from_config(data: Mapping[str, Any]) -> SwitchvoxClient:
    """Return a client for the PBX described by config entry data."""
    return SwitchvoxClient(
        data[CONF_HOST],
        data[CONF_PORT],
        use_ssl=data[CONF_SSL],
        verify_ssl=data[CONF_VERIFY_SSL],
    )


def watched_extensions(entry: ConfigEntry) -> tuple[str, ...]:
    """Return the extensions an entry watches (the login extension by default)."""
    return tuple(entry.options.get(CONF_EXTENSIONS) or [entry.data[CONF_EXTENSION]])


def reconnect_delay(attempt: int) -> float:
    """Return the delay before reconnect ``attempt`` (0-based): exponential, capped, jittered.

    The first retry comes after FIRST_RECONNECT_DELAY only: a dropped session usually
    reconnects at once, and a PBX still down refuses it cheaply. Then the delays double from
    RECONNECT_INITIAL_DELAY up to RECONNECT_MAX_DELAY, so a PBX that stays down is not hammered.
    """
    if attempt == 0:
        base = FIRST_RECONNECT_DELAY
    else:
        base = min(RECONNECT_MAX_DELAY, RECONNECT_INITIAL_DELAY * 2.0 ** min(attempt - 1, 16))
    return base * (1 + random.uniform(-RECONNECT_JITTER, RECONNECT_JITTER))  # noqa: S311


class SwitchvoxCoordinator(DataUpdateCoordinator[dict[str, Line]]):
    """Owns the client of one config entry and the lines of its watched extensions."""

    config_entry: SwitchvoxConfigEntry

    def __init__(self, hass: HomeAssistant, entry: SwitchvoxConfigEntry) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.data[CONF_HOST]}",
            update_interval=None,
            always_update=False,
        )
        self.client = client_from_config(entry.data)
        self.extensions = watched_extensions(entry)
        self.tracker = LineTracker(self.extensions)
        self.data = self.tracker.lines
        self.refused: frozenset[str] = frozenset()
        self.connected_since: datetime | None = None
        self.last_error: str | None = None
        self.reconnects = 0
        self.notifications = 0
        self._line_listeners: dict[str, list[LineListener]] = {}
        self._device_ids: dict[str, str] = {}
        # The PBX's device registry id, the parent of the extension devices (set at setup).
        self.pbx_device_id: str | None = None
        self.line_context: Context | None = None
        # One DeviceInfo per extension, shared by its entities (about 1 MB per 1,000 lines).
        self.extension_device_infos: dict[str, dr.DeviceInfo] = {}
        self._unknown_statuses: set[str] = set()
        self._dropped = asyncio.Event()
        self._closing = False
        # Entities are available once the first session is open, not before.
        self.last_update_success = False
        self.client.add_line_state_listener(self._handle_line_state)
        self.client.add_connection_listener(self._handle_connection)

    @property
    def connected(self) -> bool:
        """Return whether the session is up."""
        return self.last_update_success and self.client.connected

    async def _async_update_data(self) -> dict[str, Line]:
        """Return the lines; pushed data needs no fetching.

        ``homeassistant.update_entity`` comes here: it must not mark a session that is down as up.
        """
        if not self.connected:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="not_connected",
                translation_placeholders={"host": self.config_entry.data[CONF_HOST]},
            )
        return self.tracker.lines

    async def async_start(self) -> None:
        """Open the first session, then keep it open in the background."""
        try:
            await self._async_open_session()
        except SwitchvoxError as err:
            if _refused_login(err):
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="invalid_auth"
                ) from err
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"host": self.config_entry.data[CONF_HOST]},
            ) from err
        self._set_available(available=True)
        self.config_entry.async_create_background_task(
            self.hass, self._async_supervise(), f"{DOMAIN} session {self.config_entry.title}"
        )

    async def async_shutdown(self) -> None:
        """Log out and close the connection; called on unload and on Home Assistant stop."""
        await super().async_shutdown()
        if self._closing:
            return
        self._closing = True
        self._dropped.set()
        if self.client.connected:
            with contextlib.suppress(SwitchvoxError, TimeoutError):
                async with asyncio.timeout(LOGOUT_TIMEOUT):
                    await self.client.logout()
        await self.client.disconnect()

    async def async_dial(
        self,
        extension: str,
        converged_device_id: str | None = None,
        dial_data: Mapping[str, Any] | None = None,
    ) -> None:
        """Place a call from the logged-in extension."""
        if not self.connected:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_connected",
                translation_placeholders={"host": self.config_entry.data[CONF_HOST]},
            )
        await self.client.dial(extension, converged_device_id, dial_data)

    @callback
    def async_add_line_listener(self, extension: str, listener: LineListener) -> Callable[[], None]:
        """Call ``listener`` on every change of one extension's line; return a remover."""
        listeners = self._line_listeners.setdefault(extension, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    def extension_available(self, extension: str) -> bool:
        """Return whether the session is up and the PBX let us watch ``extension``."""
        return self.last_update_success and extension not in self.refused

    async def _async_open_session(self) -> None:
        """Connect, log in and subscribe; a failure leaves no connection behind."""
        data = self.config_entry.data
        await self.client.connect()
        try:
            try:
                await self.client.login(data[CONF_EXTENSION], data[CONF_PASSWORD])
            except SwitchvoxAlreadyAuthenticatedError:
                # -32002 on a brand-new connection: whatever the PBX thinks happened before,
                # the session is logged in, which is what login was for.
                LOGGER.debug("The PBX reports the new session as logged in already")
            # Nothing from before this session is trusted: calls may have ended meanwhile.
            self.tracker.clear()
            refused = await self.client.subscribe_permitted(self.extensions)
        except BaseException:
            await self.client.disconnect()
            raise
        self._update_refused(frozenset(refused))
        self.connected_since = dt_util.utcnow()
        self.last_error = None

    async def _async_supervise(self) -> None:
        """Wait for drops and reconnect until unload or a refused login."""
        while True:
            await self._dropped.wait()
            if self._closing:
                return
            if not await self._async_reconnect():
                return

    async def _async_reconnect(self) -> bool:
        """Reconnect with backoff; return False when retrying must stop (refused login)."""
        attempt = 0
        reported = False
        while not self._closing:
            await asyncio.sleep(reconnect_delay(attempt))
            attempt += 1
            self._dropped.clear()
            try:
                await self._async_open_session()
            except SwitchvoxError as err:
                self.last_error = str(err)
                if _refused_login(err):
                    LOGGER.error(
                        "The Switchvox PBX at %s refused the login of extension %s; "
                        "not retrying until the credentials are updated",
                        self.config_entry.data[CONF_HOST],
                        self.config_entry.data[CONF_EXTENSION],
                    )
                    self.config_entry.async_start_reauth(self.hass)
                    return False
                if isinstance(err, SwitchvoxRpcError) and not reported:
                    # The PBX answers but refuses: worth a warning, once per outage.
                    reported = True
                    LOGGER.warning(
                        "The Switchvox PBX at %s refused to restore the session (%s); "
                        "retrying with backoff",
                        self.config_entry.data[CONF_HOST],
                        err,
                    )
                else:
                    LOGGER.debug("Reconnect attempt %s failed: %s", attempt, err)
                continue
            if self._dropped.is_set() or not self.client.connected:
                continue  # dropped again while subscribing
            self.reconnects += 1
            self._set_available(available=True)
            return True
        return False

    @callback
    def _handle_connection(self, connected: bool) -> None:
        """React to the client losing its connection."""
        if connected or self._closing:
            return
        self.last_error = "connection lost"
        self.tracker.clear()
        self._set_available(available=False)
        self._dropped.set()

    def _set_available(self, *, available: bool) -> None:
        """Flip every entity's availability at once, logging each transition once."""
        if available == self.last_update_success:
            return
        host = self.config_entry.data[CONF_HOST]
        if available:
            if self.reconnects:
                LOGGER.info("Connection to the Switchvox PBX at %s restored", host)
            self.last_update_success = True
        else:
            LOGGER.warning("Lost the connection to the Switchvox PBX at %s; reconnecting", host)
            self.last_update_success = False
            self.connected_since = None
        self.async_update_listeners()

    def _update_refused(self, refused: frozenset[str]) -> None:
        """Remember refused extensions and raise or clear the repair issue naming them."""
        self.refused = refused
        issue_id = f"{ISSUE_NOT_AUTHORIZED}_{self.config_entry.entry_id}"
        if not refused:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        LOGGER.warning(
            "The Switchvox PBX does not allow extension %s to watch %s",
            self.config_entry.data[CONF_EXTENSION],
            ", ".join(sorted(refused)),
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_NOT_AUTHORIZED,
            translation_placeholders={
                "extension": self.config_entry.data[CONF_EXTENSION],
                "extensions": ", ".join(sorted(refused)),
                "title": self.config_entry.title,
            },
        )

    @callback
    def _handle_line_state(self, state: LineState) -> None:
        """Apply a notification to its line, fire the bus event and wake that line only."""
        self.notifications += 1
        if (
            state.status is LineStatus.UNKNOWN
            and state.raw_status not in self._unknown_statuses
            and len(self._unknown_statuses) < MAX_UNKNOWN_STATUSES
        ):
            # Logged once per value; a PBX inventing values without end is not logged forever.
            self._unknown_statuses.add(state.raw_status)
            LOGGER.warning(
                "Extension %s reported the unknown line status %.64r; keeping its last state",
                state.extension,
                state.raw_status,
            )
        change = self.tracker.apply(state)
        if change is None:
            return
        # One context per notification: its bus event and the states it changes belong together,
        # and its origin is that switchvox_event. A context and the event that first uses it
        # form a reference cycle only a garbage collection frees: the bus event's is small,
        # where a state_changed event's would hold the states (and their contexts) with it.
        context = self.line_context = Context()
        data = self._event_data(change)
        self.hass.bus.async_fire(EVENT_SWITCHVOX, data, context=context)
        if context.origin_event is None:  # nobody listens: the bus made no Event
            Event(EVENT_SWITCHVOX, data, context=context)
        for listener in tuple(self._line_listeners.get(change.extension, ())):
            listener(change)

    def _event_data(self, change: LineChange) -> dict[str, Any]:
        """Return the ``switchvox_event`` data of one change."""
        state = change.state
        caller = state.caller
        return {
            "device_id": self.device_id(change.extension),
            "config_entry_id": self.config_entry.entry_id,
            "extension": change.extension,
            "unique_id": state.unique_id,
            "status": LINE_STATUS_OPTIONS[change.status],
            "previous_status": LINE_STATUS_OPTIONS[change.previous_status],
            "call_event": change.call_event.value if change.call_event else None,
            "caller_name": caller.name if caller else None,
            "caller_number": caller.number if caller else None,
            "direction": state.direction.value if state.direction else None,
            "dial_data": storable_dial_data(state.dial_data),
        }

    def device_id(self, extension: str) -> str | None:
        """Return the device registry id of an extension's device."""
        if (device_id := self._device_ids.get(extension)) is None:
            device = dr.async_get(self.hass).async_get_device_by_identifier(
                (DOMAIN, extension_device_key(self.config_entry, extension)),
                self.config_entry.entry_id,
            )
            if device is None:
                return None
            device_id = self._device_ids[extension] = device.id
        return device_id


def storable_dial_data(dial_data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return dial data as Home Assistant can store it, or None when absent or nested too deep.

    orjson (the recorder, the frontend, restore state) refuses more than 254 levels of nesting,
    which a 4 kB dial data can reach; nobody needs more than MAX_DIAL_DATA_DEPTH.
    """
    if dial_data is None:
        return None
    # Flat dial data (the usual) is one level deep: skip the walk, run for every state written.
    if not all(type(value) in _JSON_SCALARS for value in dial_data.values()) and (
        not _nesting_within(dial_data, MAX_DIAL_DATA_DEPTH)
    ):
        return None
    return dict(dial_data)


_JSON_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _nesting_within(value: object, limit: int) -> bool:
    """Return whether objects and lists nest at most ``limit`` deep (without recursing)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _refused_login(err: SwitchvoxError) -> bool:
    """Return whether ``err`` is the PBX refusing the credentials (not a later request's -32000).

    Only a refused login means a wrong password: reauth then, and stop retrying. "Not
    authenticated" to a subscribe right after a successful login is the session's problem, and
    a new session may well succeed.
    """
    return isinstance(err, SwitchvoxAuthenticationError) and err.method == "login"


def extension_device_key(entry: ConfigEntry, extension: str) -> str:
    """Return the device identifier of a watched extension.

    The PBX exposes no serial number, so the config entry id is the stable identity: the
    host may change (reconfigure), and with it the entry's unique id.
    """
    return f"{entry.entry_id}_{extension}"
