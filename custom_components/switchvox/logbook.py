"""The Logbook's call log: each ``switchvox_event`` in words, on the extension's call entity.

"Call from Maria Gonzalez (212 555 0142) to 103: missed", "Call from 103 to 2125550142:
answered". The bus event speaks because it alone knows the caller. Its row is the call event
entity's (so the extension's device's): the frontend shows that entity's name ("Call") before
the message, and the README shows how to hide the entity's own wordless rows.
"""

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .const import DIRECTION_OPTIONS, DOMAIN, EVENT_SWITCHVOX
from .rtapi import Direction

# What each call event, or (without one) each line status, is called in the log.
STEPS = {
    "ringing": "ringing",
    "dialing": "dialing",
    "answered": "answered",
    "held": "on hold",
    "hung_up": "hung up",
    "missed": "missed",
    "idle": "idle",
    "starting": "dialing",
    "calling": "calling",
    "on_the_phone": "on the phone",
    "on_hold": "on hold",
}
OUTGOING = DIRECTION_OPTIONS[Direction.TO_PBX]
UNKNOWN_CALLER = "an unknown caller"
# The name of the row, as the call event entity is named ("Call"); the frontend shows the
# entity's own (translated) name in its place.
CALL = "Call"


def caller_label(name: str | None, number: str | None) -> str:
    """Return the other party as people write it: name (number), either alone, or unknown."""
    if name and number and name != number:
        return f"{name} ({number})"
    return name or number or UNKNOWN_CALLER


def describe(data: Mapping[str, Any]) -> str:
    """Return the logbook message of one switchvox_event's data (after the name "Call")."""
    extension: str = data["extension"]
    step = data.get("call_event") or data.get("status") or ""
    what = STEPS.get(step, step.replace("_", " "))
    name, number = data.get("caller_name"), data.get("caller_number")
    if data.get("direction") == OUTGOING:
        if not (name or number):  # the phone went off-hook: nobody dialed yet
            return f"from {extension}: {what}"
        return f"from {extension} to {caller_label(name, number)}: {what}"
    return f"from {caller_label(name, number)} to {extension}: {what}"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the switchvox_event."""
    registry = er.async_get(hass)

    @callback
    def async_describe(event: Event) -> dict[str, Any]:
        """Describe one call step, on the call event entity of its extension."""
        data = event.data
        entity_id = registry.async_get_entity_id(
            "event", DOMAIN, f"{data['config_entry_id']}_{data['extension']}_call"
        )
        return {
            LOGBOOK_ENTRY_NAME: CALL,
            LOGBOOK_ENTRY_MESSAGE: describe(data),
            LOGBOOK_ENTRY_ENTITY_ID: entity_id,
        }

    async_describe_event(DOMAIN, EVENT_SWITCHVOX, async_describe)
