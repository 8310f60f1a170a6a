"""What one line change tells Home Assistant: its call details and the ``switchvox_event``.

The coordinator builds one :class:`LineUpdate` per change and hands it to the bus event and to
the listeners of that line (its entities among them), so the call details are built once and
everything the change causes shares one context.
"""

from dataclasses import dataclass
from typing import Any

from homeassistant.core import Context

from .const import DIAL_DATA_MARK, DIRECTION_OPTIONS, LINE_STATUS_OPTIONS
from .rtapi import LineChange, LineState


@dataclass(frozen=True, slots=True)
class LineUpdate:
    """One change of a line, with the context its bus event and state writes share."""

    change: LineChange
    context: Context
    details: dict[str, Any]

    @classmethod
    def from_change(cls, change: LineChange) -> LineUpdate:
        """Return the update of ``change`` under a new context."""
        return cls(change, Context(), call_details(change.state))


def caller_details(state: LineState | None) -> dict[str, Any]:
    """Return who is on the other end of a channel (none without one) and which way it goes.

    The line sensor's attributes, the call event entity and the bus event name them alike.
    """
    caller = state.caller if state else None
    return {
        "caller_name": caller.name if caller else None,
        "caller_number": caller.number if caller else None,
        "direction": DIRECTION_OPTIONS[state.direction] if state and state.direction else None,
    }


def call_details(state: LineState) -> dict[str, Any]:
    """Return the channel, who is on the other end of it and how the call started.

    The call event entity and the ``switchvox_event`` bus event carry the same fields.
    """
    return {
        "unique_id": state.unique_id,
        **caller_details(state),
        "dial_data": shown_dial_data(state),
    }


def shown_dial_data(state: LineState | None) -> dict[str, Any] | None:
    """Return a channel's dial data as the user gave it: without the mark of our own calls."""
    if state is None or state.dial_data is None:
        return None
    data = {key: value for key, value in state.dial_data.items() if key != DIAL_DATA_MARK}
    return data or None


def event_data(
    update: LineUpdate, device_id: str | None, entry_id: str, call_id: str
) -> dict[str, Any]:
    """Return the data of the ``switchvox_event`` of one line change.

    ``call_id`` names the call the channel belongs to (the channels of a ring group share it).
    """
    change = update.change
    return {
        "device_id": device_id,
        "config_entry_id": entry_id,
        "extension": change.extension,
        "status": LINE_STATUS_OPTIONS[change.status],
        "previous_status": LINE_STATUS_OPTIONS[change.previous_status],
        "call_event": change.call_event.value if change.call_event else None,
        "call_id": call_id,
        **update.details,
    }
