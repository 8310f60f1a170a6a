"""Glue between one entry's realtime session and Home Assistant.

The session (``rtapi.session``) connects, logs in, subscribes and reconnects; this coordinator
turns what it reports into availability, per-extension entity updates, the ``switchvox_event``
bus event, reauth and repair issues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import (
    CONF_EXTENSION,
    DOMAIN,
    EVENT_SWITCHVOX,
    LINE_STATUS_OPTIONS,
    LOGGER,
)
from .helpers import (
    call_details,
    client_from_config,
    extension_device_key,
    watched_extensions,
)
from .issues import async_update_refused_issue, async_update_user_action_issue, user_action_key
from .rtapi import (
    Line,
    LineChange,
    SwitchvoxError,
    SwitchvoxRpcError,
    SwitchvoxSession,
    is_refused_login,
    needs_user_action,
)

type SwitchvoxConfigEntry = ConfigEntry[SwitchvoxCoordinator]
type LineListener = Callable[[LineChange], None]


class SwitchvoxCoordinator(DataUpdateCoordinator[dict[str, Line]]):
    """Owns the session of one config entry and the lines of its watched extensions."""

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
        self.host: str = entry.data[CONF_HOST]
        self.session = SwitchvoxSession(
            client_from_config(entry.data),
            entry.data[CONF_EXTENSION],
            entry.data[CONF_PASSWORD],
            watched_extensions(entry),
            self,
        )
        self.client = self.session.client
        self.extensions = self.session.watched
        self.data = self.session.lines
        # The PBX's device registry id, parent of the extension devices (set at setup).
        self.pbx_device_id: str | None = None
        # The context of the notification being handled: its bus event and states share it.
        self.line_context: Context | None = None
        # The change being handled and its call details (built once for all who need them).
        self._line_details: tuple[LineChange, dict[str, Any]] | None = None
        # One DeviceInfo per extension, shared by its entities (about 1 MB per 1,000 lines).
        self.extension_device_infos: dict[str, dr.DeviceInfo] = {}
        self._line_listeners: dict[str, list[LineListener]] = {}
        self._device_ids: dict[str, str] = {}
        self._outage_reported = False
        # Entities are available once the first session is open, not before.
        self.last_update_success = False

    @property
    def connected(self) -> bool:
        """Return whether the session is up."""
        return self.last_update_success and self.session.up

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
        """Open the first session, then keep it open in the background.

        A refused login asks for the new password; a failure only the user can fix (the
        certificate, the API permission) says what to change; anything else is retried.
        """
        try:
            await self.session.start()
        except SwitchvoxError as err:
            placeholders = {"host": self.host, "extension": self.session.extension}
            if is_refused_login(err):
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="invalid_auth"
                ) from err
            if needs_user_action(err):
                raise ConfigEntryError(
                    translation_domain=DOMAIN,
                    translation_key=user_action_key(err),
                    translation_placeholders=placeholders,
                ) from err
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders=placeholders,
            ) from err
        self.config_entry.async_create_background_task(
            self.hass, self.session.run(), f"{DOMAIN} session {self.config_entry.title}"
        )

    async def async_shutdown(self) -> None:
        """Log out and close the connection; called on unload and on Home Assistant stop."""
        await super().async_shutdown()
        await self.session.close()

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
                translation_placeholders={"host": self.host},
            )
        await self.client.dial(extension, converged_device_id, dial_data)

    @callback
    def async_add_line_listener(self, extension: str, listener: LineListener) -> Callable[[], None]:
        """Call ``listener`` on every change of one extension's line; return a remover."""
        listeners = self._line_listeners.setdefault(extension, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    def extension_available(self, extension: str) -> bool:
        """Return whether the session is up and the PBX lets us watch ``extension``."""
        return self.last_update_success and extension not in self.session.refused

    # What the session reports (SessionObserver).

    def session_up(self, refused: frozenset[str]) -> None:
        """Mark every entity available again and refresh the repair issues."""
        async_update_refused_issue(self.hass, self.config_entry, refused)
        async_update_user_action_issue(self.hass, self.config_entry, None)
        self._outage_reported = False
        if self.session.reconnects:
            LOGGER.info("Connection to the Switchvox PBX at %s restored", self.host)
        self.async_set_updated_data(self.session.lines)

    def session_down(self) -> None:
        """Mark every entity unavailable at once."""
        LOGGER.info("Lost the connection to the Switchvox PBX at %s; reconnecting", self.host)
        self.last_update_success = False
        self.async_update_listeners()

    def reconnect_failed(self, error: SwitchvoxError, attempt: int) -> None:
        """Tell the user once per outage what needs them; keep the rest at debug level."""
        if needs_user_action(error):
            async_update_user_action_issue(self.hass, self.config_entry, error)
        if isinstance(error, SwitchvoxRpcError) and not self._outage_reported:
            self._outage_reported = True
            LOGGER.warning(
                "The Switchvox PBX at %s refused to restore the session (%s); retrying",
                self.host,
                error,
            )
        else:
            LOGGER.debug("Reconnect attempt %s failed: %s", attempt, error)

    def login_refused(self, error: SwitchvoxError) -> None:
        """Stop for good and ask the user for the new password."""
        LOGGER.error(
            "The Switchvox PBX at %s refused the login of extension %s; "
            "not retrying until the credentials are updated",
            self.host,
            self.session.extension,
        )
        self.config_entry.async_start_reauth(self.hass)

    def line_changed(self, change: LineChange) -> None:
        """Fire the bus event and wake the entities of that one line."""
        # One context per notification: its bus event and the states it changes belong together.
        context = self.line_context = Context()
        self.hass.bus.async_fire(
            EVENT_SWITCHVOX, self._event_data(change, self.call_details(change)), context=context
        )
        for listener in tuple(self._line_listeners.get(change.extension, ())):
            listener(change)

    def call_details(self, change: LineChange) -> dict[str, Any]:
        """Return the call details of a change, built once for the bus event and the entity."""
        if self._line_details is None or self._line_details[0] is not change:
            self._line_details = (change, call_details(change.state))
        return self._line_details[1]

    def _event_data(self, change: LineChange, details: dict[str, Any]) -> dict[str, Any]:
        """Return the ``switchvox_event`` data of one change."""
        return {
            "device_id": self.device_id(change.extension),
            "config_entry_id": self.config_entry.entry_id,
            "extension": change.extension,
            "status": LINE_STATUS_OPTIONS[change.status],
            "previous_status": LINE_STATUS_OPTIONS[change.previous_status],
            "call_event": change.call_event.value if change.call_event else None,
            **details,
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
