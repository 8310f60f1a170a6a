"""Call event entity: ringing, dialing, answered, held, hung up and missed, per extension."""

from typing import override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SwitchvoxConfigEntry
from .entity import SwitchvoxLineEntity
from .line_events import LineUpdate
from .rtapi import CallEvent

PARALLEL_UPDATES = 0

CALL_EVENT_DESCRIPTION = EventEntityDescription(
    key="call",
    translation_key="call",
    event_types=[event.value for event in CallEvent],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwitchvoxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a call event entity per watched extension."""
    coordinator = entry.runtime_data
    async_add_entities(
        SwitchvoxCallEvent(coordinator, extension, CALL_EVENT_DESCRIPTION)
        for extension in coordinator.extensions
    )


class SwitchvoxCallEvent(SwitchvoxLineEntity, EventEntity):
    """Fires when a call on this extension rings, connects, is held, ends or is missed."""

    # The recorder keeps what happened (event_type) and when. The call's details are in the
    # line sensor's recorded history at the same instant (caller_name, caller_number,
    # direction) or are not worth a database row per event (the PBX channel id, dial_data):
    # recorded here, they made every event a new state_attributes row.
    _unrecorded_attributes = frozenset(
        {"unique_id", "caller_name", "caller_number", "direction", "dial_data"}
    )

    @property
    def available(self) -> bool:
        """Return whether the PBX lets us watch this extension, whether or not it is connected.

        The state is the time of the last call event, as true while the PBX is away as before.
        Unavailable and back at each reconnect, it wrote a state change the logbook shows as
        that last event again ("Call Missed"), stamped with the reconnect time. The line sensor
        and the connection sensor say that the PBX is away.
        """
        return self.extension not in self.coordinator.session.refused

    @callback
    @override
    def _handle_line_update(self, update: LineUpdate | None) -> None:
        """Trigger the event a channel change means, if any (None: write the availability)."""
        if update is None:
            self.async_write_ha_state()
            return
        if (call_event := update.change.call_event) is None:
            return
        self.async_set_context(update.context)
        self._trigger_event(call_event.value, update.details)
        self.async_write_ha_state()
