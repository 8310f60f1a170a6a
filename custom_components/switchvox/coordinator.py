"""Glue between one entry's realtime session and Home Assistant.

The session (``rtapi.session``) connects, logs in, subscribes, reconnects and tells the
subscribers of each line; this coordinator turns what it reports into availability, the
``switchvox_event`` bus event, the context each change's entities share, reauth and repair
issues.
"""

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD
from homeassistant.core import HomeAssistant
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


class SwitchvoxCoordinator(DataUpdateCoordinator[dict[str, Line]]):
    """Owns the session of one config entry and the lines of its watched extensions.

    A ``DataUpdateCoordinator`` still earns its place although nothing is polled: the session
    going up or down is what its ``last_update_success`` and listeners express (set from the
    session's reports only: ``session.up`` is the truth), and the entities of the PBX itself
    (``CoordinatorEntity``) follow it with Home Assistant's own mechanism. What it lacks is a
    per-line update: waking 2,000 entities for each change of one line would cost more than the
    change itself. So each line entity subscribes to its own line alone, in the library
    (``session.subscribe(callback, extension)``, as hue's ``controller.subscribe``), and that
    one subscription also hears the session go up or down (``None``): a coordinator listener as
    well would be a second registration per entity (README, "Performance"). The coordinator
    subscribes once, to every line, for the bus event, the call groups and the missed calls,
    and builds the one :class:`LineUpdate` (the context) each change's entities share.
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
        self._devices = dr.async_get(hass)
        # The update of the last change: its entities, told after the coordinator, share it.
        self._update: LineUpdate | None = None
        # The callers to call back (the to-do platform shows them): fed by every line and dial.
        self.missed_calls = MissedCalls(hass, entry.entry_id, entry.data[CONF_EXTENSION])
        # First of the session's subscribers, so that a change's update exists for the others.
        self.session.subscribe(self._handle_line_change)
        # Which channels make one call (a ring group's phones): the call_id of each change.
        self.calls = CallGroups()
        # Entities are available once the first session is open, not before.
        self.last_update_success = False

    @override
    async def _async_update_data(self) -> dict[str, Line]:
        """Return the lines (pushed, never fetched); an update while down must not mark them up."""
        if not self.session.up:
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
        if not self.session.up:
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

    def line_update(self, change: LineChange) -> LineUpdate:
        """Return the update of ``change``: the one its bus event was fired with, if it was."""
        update = self._update
        if update is None or update.change is not change:
            update = self._update = LineUpdate.from_change(change)
        return update

    # What the session reports (SessionObserver).

    def session_up(self, refused: frozenset[str]) -> None:
        """Mark the PBX's entities available again and refresh the repair issues.

        The line entities hear it through their subscription, right after.
        """
        async_update_refused_issue(self.hass, self.config_entry, refused)
        async_update_user_action_issue(self.hass, self.config_entry, None)
        self.async_set_updated_data(self.session.lines)

    def session_down(self) -> None:
        """Mark the PBX's entities unavailable (the line entities hear it right after)."""
        self.last_update_success = False
        self.async_update_listeners()

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

    def _handle_line_change(self, change: LineChange | None) -> None:
        """Fire the bus event of a change and note it (calls, missed calls), under one context."""
        if change is None:  # the session went up or down: no call changed
            self.missed_calls.async_handle_line_update(None)
            return
        update = self.line_update(change)
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
        self.missed_calls.async_handle_line_update(update)
