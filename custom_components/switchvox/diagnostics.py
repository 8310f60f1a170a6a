"""Diagnostics for a Switchvox config entry, with credentials redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant

from .coordinator import LINE_STATUS_OPTIONS, SwitchvoxConfigEntry

TO_REDACT = {CONF_PASSWORD, "sid", "session_id"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SwitchvoxConfigEntry
) -> dict[str, Any]:
    """Return the session state and the watched lines of an entry."""
    coordinator = entry.runtime_data
    client = coordinator.client
    return {
        "entry": {
            "data": async_redact_data(entry.data, TO_REDACT),
            "options": dict(entry.options),
        },
        "session": {
            "connected": coordinator.connected,
            "connected_since": (
                coordinator.connected_since.isoformat() if coordinator.connected_since else None
            ),
            "reconnects": coordinator.reconnects,
            "last_error": coordinator.last_error,
            "notifications": coordinator.notifications,
            "malformed_messages": client.malformed_messages,
            "pending_requests": client.pending_requests,
        },
        "extensions": {
            extension: {
                "status": LINE_STATUS_OPTIONS[line.status],
                "channels": len(line.channels),
                "subscribed": extension not in coordinator.refused,
                "unknown_statuses": sorted(line.unknown_statuses),
            }
            for extension, line in coordinator.data.items()
        },
    }
