"""Constants for the Switchvox integration."""

import logging
from typing import Final

from .rtapi import Direction, LineStatus

DOMAIN: Final = "switchvox"
LOGGER = logging.getLogger(__package__)

CONF_EXTENSION: Final = "extension"
CONF_EXTENSIONS: Final = "extensions"
# Off by default: Assist (and the LLM agents it serves) may then dial watched extensions only.
CONF_ASSIST_ANY_NUMBER: Final = "assist_any_number"

DEFAULT_PORT: Final = 443
DEFAULT_SSL: Final = True
DEFAULT_VERIFY_SSL: Final = True

EVENT_SWITCHVOX: Final = "switchvox_event"

SERVICE_DIAL: Final = "dial"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_EXTENSION: Final = "extension"
ATTR_CONVERGED_DEVICE_ID: Final = "converged_device_id"
ATTR_DIAL_DATA: Final = "dial_data"
# The key Home Assistant adds to the dial data of the calls it places, so that their legs are
# known as its own when they ring unanswered (never a missed call). Not shown in attributes.
DIAL_DATA_MARK: Final = "home_assistant"

# Dial targets: digits, '*', '#', and a leading '+' for external numbers.
EXTENSION_PATTERN: Final = r"^\+?[0-9*#]{1,32}$"
WATCHED_EXTENSION_PATTERN: Final = r"^[0-9]{1,16}$"

ISSUE_NOT_AUTHORIZED: Final = "extensions_not_authorized"
ISSUE_USER_ACTION: Final = "user_action_required"
ISSUE_SESSIONS_CLOSED: Final = "sessions_closed"

# Line statuses as Home Assistant shows them (sensor options, event data): snake_case.
LINE_STATUS_OPTIONS: Final[dict[LineStatus, str]] = {
    LineStatus.IDLE: "idle",
    LineStatus.STARTING: "starting",
    LineStatus.CALLING: "calling",
    LineStatus.ON_THE_PHONE: "on_the_phone",
    LineStatus.RINGING: "ringing",
    LineStatus.ON_HOLD: "on_hold",
}
# Which way a call goes, as attributes and event data show it (the PBX says toPbx/fromPbx).
DIRECTION_OPTIONS: Final[dict[Direction, str]] = {
    Direction.TO_PBX: "to_pbx",
    Direction.FROM_PBX: "from_pbx",
    Direction.UNKNOWN: "unknown",
}
