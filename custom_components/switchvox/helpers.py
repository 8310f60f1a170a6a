"""Small shared pieces: an entry's client and extensions, call details, action errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import wraps
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.exceptions import HomeAssistantError

from .const import CONF_EXTENSION, CONF_EXTENSIONS, DIRECTION_OPTIONS, DOMAIN
from .rtapi import (
    LineState,
    SwitchvoxClient,
    SwitchvoxError,
    SwitchvoxNotAuthorizedError,
    SwitchvoxRpcError,
)


def client_from_config(data: Mapping[str, Any]) -> SwitchvoxClient:
    """Return a client for the PBX described by config entry data."""
    return SwitchvoxClient(
        data[CONF_HOST],
        data[CONF_PORT],
        use_ssl=data[CONF_SSL],
        verify_ssl=data[CONF_VERIFY_SSL],
    )


def watched_extensions(entry: ConfigEntry) -> tuple[str, ...]:
    """Return the extensions an entry watches (the login extension by default)."""
    return tuple(entry.options.get(CONF_EXTENSIONS) or [entry.data[CONF_EXTENSION]])


def extension_device_key(entry: ConfigEntry, extension: str) -> str:
    """Return the device identifier of a watched extension.

    The PBX exposes no serial number, so the config entry id is the stable identity: the
    host may change (reconfigure).
    """
    return f"{entry.entry_id}_{extension}"


def call_details(state: LineState) -> dict[str, Any]:
    """Return who is on the other end of a channel and how the call started.

    The call event entity and the ``switchvox_event`` bus event carry the same fields.
    """
    caller = state.caller
    return {
        "unique_id": state.unique_id,
        "caller_name": caller.name if caller else None,
        "caller_number": caller.number if caller else None,
        "direction": DIRECTION_OPTIONS[state.direction] if state.direction else None,
        "dial_data": dict(state.dial_data) if state.dial_data is not None else None,
    }


def switchvox_exception_handler[**P, R](
    func: Callable[P, Awaitable[R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn client errors of an action into translated ``HomeAssistantError``s."""

    @wraps(func)
    async def handler(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except SwitchvoxNotAuthorizedError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_authorized",
                translation_placeholders={"method": err.method or "?"},
            ) from err
        except SwitchvoxRpcError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="rpc_error",
                translation_placeholders={"code": str(err.code), "message": err.rpc_message},
            ) from err
        except SwitchvoxError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="communication_error"
            ) from err

    return handler
