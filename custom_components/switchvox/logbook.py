"""The Logbook's call log: each ``switchvox_event`` in words, on the extension's device.

"Maria Gonzalez (212 555 0142) called 103: missed", "103 called 2125550142: answered". The bus
event speaks because it alone knows the caller, and its row names no entity: the frontend
would put that entity's name ("Line", "Call") in place of the caller's, and a user's logbook
filter of entities would hide the call log too. The event's ``device_id`` puts it on the
extension's device page.
"""

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

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
# The icons of the call event entity's event types and the line sensor's states (icons.json).
ICONS = {
    "ringing": "mdi:phone-ring",
    "dialing": "mdi:phone-dial",
    "answered": "mdi:phone-in-talk",
    "held": "mdi:phone-paused",
    "hung_up": "mdi:phone-hangup",
    "missed": "mdi:phone-missed",
    "idle": "mdi:phone-hangup",
    "starting": "mdi:phone-dial",
    "calling": "mdi:phone-outgoing",
    "on_the_phone": "mdi:phone-in-talk",
    "on_hold": "mdi:phone-paused",
}
OUTGOING = DIRECTION_OPTIONS[Direction.TO_PBX]
UNKNOWN_CALLER = "Unknown caller"


def caller_label(name: str | None, number: str | None) -> str:
    """Return the other party as people write it: name (number), either alone, or unknown."""
    if name and number and name != number:
        return f"{name} ({number})"
    return name or number or UNKNOWN_CALLER


def describe(data: Mapping[str, Any]) -> tuple[str, str]:
    """Return the logbook name and message of one switchvox_event's data."""
    extension: str = data["extension"]
    step = data.get("call_event") or data.get("status") or ""
    what = STEPS.get(step, step.replace("_", " "))
    name, number = data.get("caller_name"), data.get("caller_number")
    if data.get("direction") == OUTGOING:
        if not (name or number):  # the phone went off-hook: nobody dialed yet
            return extension, f"started a call: {what}"
        return extension, f"called {caller_label(name, number)}: {what}"
    return caller_label(name, number), f"called {extension}: {what}"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the switchvox_event."""

    @callback
    def async_describe(event: Event) -> dict[str, Any]:
        """Describe one call step."""
        data = event.data
        name, message = describe(data)
        step = data.get("call_event") or data.get("status")
        return {
            LOGBOOK_ENTRY_NAME: name,
            LOGBOOK_ENTRY_MESSAGE: message,
            LOGBOOK_ENTRY_ICON: ICONS.get(step or "", "mdi:phone"),
        }

    async_describe_event(DOMAIN, EVENT_SWITCHVOX, async_describe)
