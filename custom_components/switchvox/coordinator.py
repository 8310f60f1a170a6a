"""Glue between one entry's realtime session and Home Assistant.

The session (``rtapi.session``) connects, logs in, subscribes and reconnects; this coordinator
turns what it reports into availability, line updates for whoever listens to a line, the
``switchvox_event`` bus event, reauth and repair issues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .calls import CallGroups
from .const import CONF_EXTENSION, DIAL_DATA_MARK, DOMAIN, EVENT_SWITCHVOX, LOGGER
from .helpers import (
    client_from_config,
    extension_device_key,
    raise_setup_failure,
    watched_extensions,
)
from .issues import (
    USER_ACTION_ERRORS,
    async_update_refused_issue,
    async_update_sessions_closed_issue,
    async_update_user_action_issue,
)
from .line_events import LineUpdate, event_data
from .missed_calls import MissedCalls
from .rtapi import (
    Line,
    LineChange,
    SwitchvoxError,
    SwitchvoxRpcError,
    SwitchvoxSession,
)

type SwitchvoxConfigEntry = ConfigEntry[SwitchvoxCoordinator]
# Called with each change of a line, and with None when the session goes up or down.
type LineListener = Callable[[LineUpdate | None], None]


class SwitchvoxCoordinator(DataUpdateCoordinator[dict[str, Line]]):
    """Owns the session of one config entry and the lines of its watched extensions.

    A ``DataUpdateCoordinator`` still earns its place although nothing is polled: the session
    going up or down is what its ``last_update_success`` and listeners express, and the
    entities of the PBX itself (``CoordinatorEntity``) follow it with Home Assistant's own
    mechanism. What it lacks is a per-line update: waking 2,000 entities for each change of
    one line would cost more than the change itself. So each line entity subscribes to its own
    line alone (``async_add_line_listener``, as hue's ``controller.subscribe(callback, id)``),
    and that one subscription also hears the session go up or down (``None``): a coordinator
    listener as well would be a second registration per entity (README, "Performance").
    """

    config_entry: SwitchvoxConfigEntry
    # The PBX's device registry id, parent of the extension devices: set by async_setup_entry
    # before it sets up the platforms, whose entities read it.
    pbx_device_id: str

    def __init__(self, hass: HomeAssistant, entry: SwitchvoxConfigEntry) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.data[CONF_HOST]}",
            update_interval=None,
            always_update=False,
        )
        self.host: str = entry.data[CONF_HOST]
        self.session = SwitchvoxSession(
            client=client_from_config(hass, entry.data),
            extension=entry.data[CONF_EXTENSION],
            password=entry.data[CONF_PASSWORD],
            watched=watched_extensions(entry),
            observer=self,
        )
        self.client = self.session.client
        self.extensions = self.session.watched
        self.data = self.session.lines
        # Listeners of one extension's line, and (under None) of every watched line.
        self._line_listeners: dict[str | None, list[LineListener]] = {}
        self._devices = dr.async_get(hass)
        # The callers to call back (the to-do platform shows them): fed by every line and dial.
        self.missed_calls = MissedCalls(hass, entry.entry_id, entry.data[CONF_EXTENSION])
        self.async_add_line_listener(self.missed_calls.async_handle_line_update)
        # Which channels make one call (a ring group's phones): the call_id of each change.
        self.calls = CallGroups()
        # Entities are available once the first session is open, not before.
        self.last_update_success = False

    @property
    def connected(self) -> bool:
        """Return whether the session is up."""
        return self.last_update_success and self.session.up

    @override
    async def _async_update_data(self) -> dict[str, Line]:
        """Return the lines (pushed, never fetched); an update while down must not mark them up."""
        if not self.connected:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="not_connected",
                translation_placeholders={"host": self.host},
            )
        return self.session.lines

    async def async_start(self) -> None:
        """Open the first session (or say why not), then keep it open in the background."""
        await self.missed_calls.async_load()  # before the first line change can reach it
        try:
            await self.session.start()
        except SwitchvoxError as err:
            raise_setup_failure(err, self.host, self.session.extension)
        self.config_entry.async_create_background_task(
            self.hass, self.session.run(), f"{DOMAIN} session {self.config_entry.title}"
        )

    @override
    async def async_shutdown(self) -> None:
        """Log out and close the connection; called on unload and on Home Assistant stop."""
        await super().async_shutdown()
        await self.session.close()
        await self.missed_calls.async_flush()  # the delayed write may not outlive the entry

    async def async_dial(
        self,
        extension: str,
        converged_device_id: str | None = None,
        dial_data: Mapping[str, Any] | None = None,
    ) -> None:
        """Place a call from the logged-in extension, marked as ours in its dial data.

        Its legs may ring before the PBX answers the request: the list knows of the call first.
        """
        if not self.connected:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_connected",
                translation_placeholders={"host": self.host},
            )
        self.missed_calls.async_handle_dialing(extension)
        try:
            await self.client.dial(
                extension, converged_device_id, {**(dial_data or {}), DIAL_DATA_MARK: True}
            )
        except SwitchvoxRpcError:  # refused: no call (one timed out may still be placed)
            self.missed_calls.async_handle_dial_failed(extension)
            raise
        self.missed_calls.async_handle_dialed(extension)

    @callback
    def async_add_line_listener(
        self, listener: LineListener, extension: str | None = None
    ) -> CALLBACK_TYPE:
        """Call ``listener`` with every change of ``extension``'s line (None: of every line).

        Return the function that removes it.
        """
        listeners = self._line_listeners.setdefault(extension, [])
        listeners.append(listener)
        # A partial, not a decorated closure: @callback gives each closure a __dict__ of its
        # own, one per line entity.
        return partial(listeners.remove, listener)

    # What the session reports (SessionObserver).

    def session_up(self, refused: frozenset[str]) -> None:
        """Mark every entity available again and refresh the repair issues."""
        async_update_refused_issue(self.hass, self.config_entry, refused)
        async_update_user_action_issue(self.hass, self.config_entry, None)
        self.async_set_updated_data(self.session.lines)
        self._tell_line_listeners(None)

    def session_down(self) -> None:
        """Mark every entity unavailable at once."""
        self.last_update_success = False
        self.async_update_listeners()
        self._tell_line_listeners(None)

    def reconnect_failed(self, error: SwitchvoxError, attempt: int) -> None:
        """Say what needs the user, when retrying alone cannot help (the session logs the rest)."""
        if isinstance(error, USER_ACTION_ERRORS):
            async_update_user_action_issue(self.hass, self.config_entry, error)

    def login_refused(self, error: SwitchvoxError) -> None:
        """Ask the user for the new password (the session has stopped for good)."""
        self.config_entry.async_start_reauth(self.hass)

    def sessions_unstable(self, unstable: bool) -> None:
        """Say that the PBX keeps closing the session (or stop saying it)."""
        async_update_sessions_closed_issue(self.hass, self.config_entry, unstable)

    def line_changed(self, change: LineChange) -> None:
        """Fire the bus event and tell the listeners of that line, all under one context."""
        update = LineUpdate.from_change(change)
        call = self.calls.apply(change)
        device = self._devices.async_get_device_by_identifier(
            (DOMAIN, extension_device_key(self.config_entry, change.extension)),
            self.config_entry.entry_id,
        )
        self.hass.bus.async_fire(
            EVENT_SWITCHVOX,
            event_data(
                update, device.id if device else None, self.config_entry.entry_id, call.call_id
            ),
            context=update.context,
        )
        self._tell_line_listeners(update, change.extension)

    def _tell_line_listeners(self, update: LineUpdate | None, extension: str | None = None) -> None:
        """Call the listeners of ``extension``'s line and of every line (all of them: None)."""
        if extension is None:
            listeners = [item for items in self._line_listeners.values() for item in items]
        else:
            listeners = [
                *self._line_listeners.get(extension, ()),
                *self._line_listeners.get(None, ()),
            ]
        for listener in listeners:
            try:
                listener(update)
            except Exception:  # noqa: BLE001 - any listener bug, logged with its traceback
                # One failing listener (the missed calls list, say) must not keep the change
                # from the others, nor from the lines of the next notifications.
                LOGGER.exception("Error handling a change of extension %s", extension or "(all)")
