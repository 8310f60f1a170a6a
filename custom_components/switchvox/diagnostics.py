"""Diagnostics: the session, the lines, and what the PBX really sent, with secrets removed.

Every PBX fact this integration relies on comes from the vendor's excerpt; the first PBX that
differs is reported by a user, and this file is how that report carries what the PBX sent. The
masking is the library's (``rtapi.redact``), which ``aioswitchvox capture`` uses too.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant

from .const import LINE_STATUS_OPTIONS
from .coordinator import SwitchvoxConfigEntry
from .rtapi.redact import TO_REDACT, recorded_message, without


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SwitchvoxConfigEntry
) -> dict[str, Any]:
    """Return the session state, the watched lines and the PBX's last messages."""
    coordinator = entry.runtime_data
    session = coordinator.session
    client = coordinator.client
    password: str = entry.data[CONF_PASSWORD]
    return {
        "entry": {
            "data": async_redact_data(entry.data, TO_REDACT),
            "options": dict(entry.options),
        },
        "session": {
            "connected": session.up,
            "connected_since": (
                session.connected_since.isoformat() if session.connected_since else None
            ),
            "transport": client.transport_name,
            "ping_interval": client.ping_interval,
            "ping_timeout": client.ping_timeout,
            "reconnects": session.reconnects,
            "last_error": without(session.last_error, password),
            "notifications": session.notifications,
            "malformed_messages": client.malformed_messages,
            "dropped_packets": asdict(client.dropped_packets),
            "pending_requests": client.pending_requests,
            "history": [
                {
                    "at": item.at.isoformat(),
                    "event": item.event,
                    "detail": without(item.detail, password),
                }
                for item in session.history
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
        "recent_messages": [
            message
            for item in client.received
            if (message := recorded_message(item, password)) is not None
        ],
    }
