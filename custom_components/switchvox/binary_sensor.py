"""Diagnostic connectivity sensor for the realtime session."""

from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SwitchvoxConfigEntry
from .entity import SwitchvoxEntity

PARALLEL_UPDATES = 0

CONNECTION_DESCRIPTION = BinarySensorEntityDescription(
    key="connection",
    translation_key="connection",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwitchvoxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the connectivity sensor of the PBX."""
    async_add_entities([SwitchvoxConnectionSensor(entry.runtime_data, CONNECTION_DESCRIPTION)])


class SwitchvoxConnectionSensor(SwitchvoxEntity, BinarySensorEntity):
    """Whether the realtime session with the PBX is up; available even when it is not."""

    @property
    @override
    def available(self) -> bool:
        """Return True: this entity reports the connection, so it never goes unavailable."""
        return True

    @property
    @override
    def is_on(self) -> bool:
        """Return whether the session is up."""
        return self.coordinator.session.up
