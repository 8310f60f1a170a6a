"""Base entities: one device per watched extension, under a device for the PBX."""

from __future__ import annotations

from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SSL
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from yarl import URL

from .const import DOMAIN
from .coordinator import SwitchvoxConfigEntry, SwitchvoxCoordinator
from .helpers import extension_device_key
from .line_events import LineUpdate


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
    """An entity of the PBX device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SwitchvoxCoordinator, description: EntityDescription) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = pbx_device_info(entry)


class SwitchvoxLineEntity(Entity):
    """An entity of one watched extension, written only when that line or the session changes.

    The coordinator tells it both (``async_add_line_entity``): a coordinator listener of its own
    would cost each of 2,000 entities a second registration for the session's up and down.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, coordinator: SwitchvoxCoordinator, extension: str, description: EntityDescription
    ) -> None:
        self.coordinator = coordinator
        self.entity_description = description
        self.extension = extension
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.entry_id}_{extension}_{description.key}"
        device_infos = coordinator.extension_device_infos
        if (device_info := device_infos.get(extension)) is None:
            device_info = device_infos[extension] = DeviceInfo(
                identifiers={(DOMAIN, extension_device_key(entry, extension))},
                manufacturer="Sangoma",
                model="Switchvox extension",
                translation_key="extension",
                translation_placeholders={"extension": extension},
            )
            if coordinator.pbx_device_id is not None:
                device_info["via_device_id"] = coordinator.pbx_device_id
        self._attr_device_info = device_info

    @property
    def available(self) -> bool:
        """Return whether the session is up and the PBX lets us watch this extension."""
        return self.coordinator.extension_available(self.extension)

    async def async_added_to_hass(self) -> None:
        """Listen to this extension's line only; tell the bus event which device it is."""
        await super().async_added_to_hass()
        if self.registry_entry is not None and self.registry_entry.device_id is not None:
            self.coordinator.device_ids[self.extension] = self.registry_entry.device_id
        self.coordinator.async_add_line_entity(self)

    async def async_will_remove_from_hass(self) -> None:
        """Stop listening to the line."""
        self.coordinator.async_remove_line_entity(self)
        await super().async_will_remove_from_hass()

    def handle_line_update(self, update: LineUpdate) -> None:
        """Write the new state of this line, under the context of the change."""
        self.async_set_context(update.context)
        self.async_write_ha_state()
