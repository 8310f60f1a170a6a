"""Base entities: one device per watched extension, under a device for the PBX."""

from typing import override

from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SSL
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from yarl import URL

from .const import DOMAIN
from .coordinator import SwitchvoxConfigEntry, SwitchvoxCoordinator
from .helpers import extension_device_key
from .line_events import LineUpdate
from .rtapi import LineChange


def pbx_device_info(entry: SwitchvoxConfigEntry) -> DeviceInfo:
    """Return the device of the PBX itself."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        manufacturer="Sangoma",
        model="Switchvox PBX",
        name=f"Switchvox {entry.data[CONF_HOST]}",
        configuration_url=str(
            URL.build(
                scheme="https" if entry.data[CONF_SSL] else "http",
                host=entry.data[CONF_HOST],
                port=entry.data[CONF_PORT],
                path="/",
            )
        ),
    )


class SwitchvoxEntity(CoordinatorEntity[SwitchvoxCoordinator]):
    """An entity of the PBX device, written when the session goes up or down."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SwitchvoxCoordinator, description: EntityDescription) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = pbx_device_info(entry)


class SwitchvoxLineEntity(Entity):
    """An entity of one watched extension, written when its line changes or the session does.

    Both reach it through the one subscription to its line it holds in the session while it is
    in Home Assistant (the coordinator's docstring says why it is not a ``CoordinatorEntity``).
    """

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, coordinator: SwitchvoxCoordinator, extension: str, description: EntityDescription
    ) -> None:
        self.coordinator = coordinator
        self.entity_description = description
        self.extension = extension
        self._attr_unique_id = f"{coordinator.config_entry.entry_id}_{extension}_{description.key}"

    @property
    @override
    def device_info(self) -> DeviceInfo:
        """Return the extension's device, under the PBX's.

        Built when asked rather than kept: Home Assistant reads it once, when it adds the
        entity, and a copy kept by every entity would be memory held for nothing.
        """
        entry = self.coordinator.config_entry
        return DeviceInfo(
            identifiers={(DOMAIN, extension_device_key(entry, self.extension))},
            manufacturer="Sangoma",
            model="Switchvox extension",
            translation_key="extension",
            translation_placeholders={"extension": self.extension},
            via_device_id=self.coordinator.pbx_device_id,
        )

    @property
    @override
    def available(self) -> bool:
        """Return whether the session is up and the PBX lets us watch this extension."""
        session = self.coordinator.session
        return session.up and self.extension not in session.refused

    @override
    async def async_added_to_hass(self) -> None:
        """Subscribe to this extension's line, until the entity is removed."""
        self.async_on_remove(
            self.coordinator.session.subscribe(self._handle_line_change, self.extension)
        )

    @callback
    def async_entity_id_changed(self, old_entity_id: str) -> None:
        """Keep the entity as it is when the user renames its entity id.

        Home Assistant 2026.11 calls this on a rename, and without it removes and adds the
        entity again; earlier releases always do that. Nothing here is keyed on the entity id
        (the line subscription is keyed on the extension), so there is nothing to move.
        """

    @callback
    def _handle_line_change(self, change: LineChange | None) -> None:
        """Hand a change on with the update the coordinator built for it (None: the session)."""
        self._handle_line_update(None if change is None else self.coordinator.line_update(change))

    @callback
    def _handle_line_update(self, update: LineUpdate | None) -> None:
        """Write the new state of this line (under the change's context), or the availability."""
        if update is not None:
            self.async_set_context(update.context)
        self.async_write_ha_state()
