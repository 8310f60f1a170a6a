"""Constants for the Switchvox integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "switchvox"
LOGGER = logging.getLogger(__package__)

CONF_EXTENSION: Final = "extension"
CONF_EXTENSIONS: Final = "extensions"

DEFAULT_PORT: Final = 443
DEFAULT_SSL: Final = True
DEFAULT_VERIFY_SSL: Final = True

# Reconnect backoff: a quick first retry, then doubling from the initial delay, capped at a
# minute, with jitter.
FIRST_RECONNECT_DELAY: Final = 0.1
RECONNECT_INITIAL_DELAY: Final = 0.5
RECONNECT_MAX_DELAY: Final = 60.0
RECONNECT_JITTER: Final = 0.25

# Logging out on unload must not hold up Home Assistant when the PBX is gone.
LOGOUT_TIMEOUT: Final = 3.0

# Dial data nested deeper cannot be stored by Home Assistant (orjson stops at 254 levels).
MAX_DIAL_DATA_DEPTH: Final = 32

EVENT_SWITCHVOX: Final = "switchvox_event"

SERVICE_DIAL: Final = "dial"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_EXTENSION: Final = "extension"
ATTR_CONVERGED_DEVICE_ID: Final = "converged_device_id"
ATTR_DIAL_DATA: Final = "dial_data"

# Dial targets: digits, '*', '#', and a leading '+' for external numbers.
EXTENSION_PATTERN: Final = r"^\+?[0-9*#]{1,32}$"
WATCHED_EXTENSION_PATTERN: Final = r"^[0-9]{1,16}$"

ISSUE_NOT_AUTHORIZED: Final = "extensions_not_authorized"
