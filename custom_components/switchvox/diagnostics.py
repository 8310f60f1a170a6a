"""Diagnostics: the session, the lines, and what the PBX really sent, with secrets removed.

Every PBX fact this integration relies on comes from the vendor's excerpt; the first PBX that
differs is reported by a user, and this file is how that report carries what the PBX sent.
Caller names and numbers are personal data: they are masked but for their last characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
import json
import re
from typing import Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant

from .const import LINE_STATUS_OPTIONS
from .coordinator import SwitchvoxConfigEntry
from .rtapi import ReceivedMessage

# Keys removed wherever they appear: credentials and anything that could resume a session.
TO_REDACT: Final = {CONF_PASSWORD, "sid", "session_id", "sessionId", "token", "secret"}
# Keys whose text identifies a person: masked but for their last characters.
CALLER_KEYS: Final = frozenset(
    {
        "callerIdName",
        "callerIdNumber",
        "caller_id_name",
        "caller_id_number",
        "callerName",
        "callerNumber",
        "name",
        "number",
        "displayName",
        "phoneNumber",
    }
)
# Set to False to see caller names and numbers whole while debugging on your own machine.
MASK_CALLER_DATA: Final = True
KEEP_LAST: Final = 2
REDACTED: Final = "**REDACTED**"
_DIGITS: Final = re.compile(r"[0-9]")


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
            "connected": coordinator.connected,
            "connected_since": (
                session.connected_since.isoformat() if session.connected_since else None
            ),
            "transport": client.transport_name,
            "ping_interval": client.ping_interval,
            "ping_timeout": client.ping_timeout,
            "reconnects": session.reconnects,
            "last_error": _without(session.last_error, password),
            "notifications": session.notifications,
            "malformed_messages": client.malformed_messages,
            "dropped_packets": asdict(client.dropped_packets),
            "pending_requests": client.pending_requests,
            "history": [
                {
                    "at": item.at.isoformat(),
                    "event": item.event,
                    "detail": _without(item.detail, password),
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


def recorded_message(item: ReceivedMessage, password: str) -> dict[str, Any] | None:
    """Return a notification or error response as received, secrets removed; else None."""
    at = datetime.fromtimestamp(item.at, UTC).isoformat()
    text = _without(item.text, password) or ""
    if not text.startswith("2"):  # socket.io EVENT packets only
        return None
    try:
        event, payload = json.loads(text[1:])
    except (ValueError, TypeError):
        # Cut short (huge) or not JSON: its size and first characters, digits masked.
        return {"at": at, "unparsed": _DIGITS.sub("#", text[:64]), "length": len(item.text)}
    if event == "response" and not (isinstance(payload, Mapping) and "error" in payload):
        return None
    return {"at": at, "event": event, "payload": _scrub(payload)}


def _scrub(value: Any, key: str | None = None) -> Any:
    """Return ``value`` with secrets redacted and caller identities masked (recursively)."""
    if isinstance(value, Mapping):
        return {k: REDACTED if k in TO_REDACT else _scrub(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(item, key) for item in value]
    if key in CALLER_KEYS and isinstance(value, str | int) and not isinstance(value, bool):
        return _mask_text(str(value))
    return value


def _mask_text(text: str) -> str:
    """Mask ``text`` but for its last KEEP_LAST characters (when masking is on)."""
    if not MASK_CALLER_DATA:
        return text
    if len(text) <= KEEP_LAST:
        return "*" * len(text)
    return "*" * (len(text) - KEEP_LAST) + text[-KEEP_LAST:]


def _without(text: str | None, password: str) -> str | None:
    """Return ``text`` with the password taken out, should the PBX have echoed it."""
    if text is None or not password:
        return text
    return text.replace(password, REDACTED)
