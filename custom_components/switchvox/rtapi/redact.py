"""What the PBX sent, fit to leave the machine: secrets removed, caller identities masked.

An application's diagnostics and ``aioswitchvox capture`` both record the PBX's messages for a
bug report with this one masking. Caller names and numbers are personal data: they are masked
but for their last characters.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
import re
from typing import Any, Final

from .wire import ReceivedMessage, decode_event

# Keys removed wherever they appear: credentials and anything that could resume a session.
TO_REDACT: Final = frozenset({"password", "sid", "session_id", "sessionId", "token", "secret"})
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


@dataclass(frozen=True, slots=True)
class RecentMessage:
    """A notification or error response the PBX sent, decoded, secrets removed, callers masked.

    A message that could not be decoded (cut short, not JSON) keeps only its first characters,
    digits masked, in ``unparsed``; ``event`` and ``payload`` are then None.
    """

    at: datetime
    length: int
    """Characters received."""
    event: str | None = None
    payload: Any = None
    unparsed: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the message as JSON-ready data: its event and payload, or what is unparsed."""
        at = self.at.isoformat()
        if self.unparsed is not None:
            return {"at": at, "unparsed": self.unparsed, "length": self.length}
        return {"at": at, "event": self.event, "payload": self.payload}


def recorded_message(item: ReceivedMessage, password: str) -> RecentMessage | None:
    """Return a notification or error response as received, secrets removed; else None."""
    at = datetime.fromtimestamp(item.at, UTC)
    text = without(item.text, password) or ""
    try:
        decoded = decode_event(text)
    except ValueError:
        # Cut short (huge) or not JSON: its size and first characters, digits masked.
        return RecentMessage(at, len(item.text), unparsed=_DIGITS.sub("#", text[:64]))
    if decoded is None:  # socket.io EVENT packets only
        return None
    event, payload = decoded
    if event == "response" and not (isinstance(payload, dict) and "error" in payload):
        return None
    return RecentMessage(at, len(item.text), event, scrub(payload))


def scrub(value: Any, key: str | None = None) -> Any:
    """Return ``value`` with secrets redacted and caller identities masked (recursively)."""
    if isinstance(value, dict):
        return {k: REDACTED if k in TO_REDACT else scrub(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, key) for item in value]
    if key in CALLER_KEYS and isinstance(value, str | int) and not isinstance(value, bool):
        return mask_text(str(value))
    return value


def mask_text(text: str) -> str:
    """Mask ``text`` but for its last KEEP_LAST characters (when masking is on)."""
    if not MASK_CALLER_DATA:
        return text
    if len(text) <= KEEP_LAST:
        return "*" * len(text)
    return "*" * (len(text) - KEEP_LAST) + text[-KEEP_LAST:]


def without(text: str | None, password: str) -> str | None:
    """Return ``text`` with the password taken out, should the PBX have echoed it."""
    if text is None or not password:
        return text
    return text.replace(password, REDACTED)
