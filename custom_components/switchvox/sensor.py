"""Line status sensor: what each watched extension's phone is doing."""

from typing import Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import LINE_STATUS_OPTIONS
from .coordinator import SwitchvoxConfigEntry, SwitchvoxCoordinator
from .entity import SwitchvoxLineEntity
from .line_events import caller_details, shown_dial_data

PARALLEL_UPDATES = 0

LINE_STATUS_DESCRIPTION = SensorEntityDescription(
    key="line_status",
    translation_key="line_status",
    device_class=SensorDeviceClass.ENUM,
    options=list(LINE_STATUS_OPTIONS.values()),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwitchvoxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a line status sensor per watched extension."""
    coordinator = entry.runtime_data
    async_add_entities(
        SwitchvoxLineStatusSensor(coordinator, extension, LINE_STATUS_DESCRIPTION)
        for extension in coordinator.extensions
    )


class SwitchvoxLineStatusSensor(SwitchvoxLineEntity, SensorEntity):
    """The status of one extension's line, following the highest-priority channel."""

    # The recorder keeps the status with who is on the line and which way (caller_name,
    # caller_number, direction). Not recorded: the extension (constant: it names the entity),
    # call_start (the time of the call's first state in the history itself), active_channels
    # (derived, 1 in almost every call) and dial_data (up to MAX_DIAL_DATA_BYTES, set by the
    # automation that placed the call; it stays in the state, the call event and switchvox_event).
    _unrecorded_attributes = frozenset({"extension", "call_start", "active_channels", "dial_data"})

    # The attributes last returned and what they were built from: a line changing status
    # within the same call (answered, held, resumed) keeps them, and they are not rebuilt.
    _attributes_source: tuple[Any, ...] | None
    _attributes: dict[str, Any]

    def __init__(
        self,
        coordinator: SwitchvoxCoordinator,
        extension: str,
        description: SensorEntityDescription,
    ) -> None:
        super().__init__(coordinator, extension, description)
        # Set here, with the entity's other attributes, not at its first write: set late, they
        # would make every instance's dictionary a larger one of its own.
        self._attributes_source = None
        self._attributes = {}

    @property
    @override
    def native_value(self) -> str:
        """Return the line status."""
        return LINE_STATUS_OPTIONS[self.coordinator.data[self.extension].status]

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the caller and call details of the channel that decides the status."""
        line = self.coordinator.data[self.extension]
        primary = line.primary
        state = primary.state if primary else None
        call_start = primary.call_start if primary else None
        count = len(line.channels)
        # Equal while the call is the same: the caller, direction, start and dial data.
        source = (
            (state.caller, state.direction, call_start, state.dial_data, count)
            if state
            else (count,)
        )
        if source == self._attributes_source:
            return self._attributes
        self._attributes_source = source
        self._attributes = {
            "extension": self.extension,
            **caller_details(state),
            "call_start": call_start.isoformat() if call_start else None,
            "active_channels": count,
            "dial_data": shown_dial_data(state),
        }
        return self._attributes
