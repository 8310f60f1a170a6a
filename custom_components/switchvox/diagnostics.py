"""Diagnostics: the session, the lines, and what the PBX really sent, with secrets removed.

Every PBX fact this integration relies on comes from the vendor's excerpt; the first PBX that
differs is reported by a user, and this file is how that report carries what the PBX sent. The
snapshot, decoded and masked, is the library's (``session.diagnostics()``, masking as
``aioswitchvox capture`` does).
"""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import LINE_STATUS_OPTIONS
from .coordinator import SwitchvoxConfigEntry
from .rtapi.redact import TO_REDACT


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SwitchvoxConfigEntry
) -> dict[str, Any]:
    """Return the session state, the watched lines and the PBX's last messages."""
    coordinator = entry.runtime_data
    session = coordinator.session
    snapshot = session.diagnostics()
    return {
        "entry": {
            "data": async_redact_data(entry.data, TO_REDACT),
            "options": dict(entry.options),
        },
        "session": {
            "connected": snapshot.up,
            "connected_since": (
                snapshot.connected_since.isoformat() if snapshot.connected_since else None
            ),
            "transport": snapshot.transport,
            "ping_interval": snapshot.ping_interval,
            "ping_timeout": snapshot.ping_timeout,
            "reconnects": snapshot.reconnects,
            "last_error": snapshot.last_error,
            "notifications": snapshot.notifications,
            "malformed_messages": snapshot.malformed_messages,
            "dropped_packets": asdict(snapshot.dropped_packets),
            "pending_requests": snapshot.pending_requests,
            "history": [
                {"at": item.at.isoformat(), "event": item.event, "detail": item.detail}
                for item in snapshot.history
            ],
        },
        "extensions": {
            extension: {
                "status": LINE_STATUS_OPTIONS[line.status],
                "channels": len(line.channels),
                "subscribed": extension not in session.refused,
                "unknown_statuses": sorted(line.unknown_statuses),
            }
            for extension, line in coordinator.data.items()
        },
        # Its size only: the callers are in the to-do list, for the people who may see it.
        "missed_calls": coordinator.missed_calls.diagnostics(),
        "recent_messages": [message.as_json() for message in snapshot.recent_messages],
    }
