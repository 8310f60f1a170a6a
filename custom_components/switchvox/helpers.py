"""Small shared pieces: the client an entry describes, its watched extensions, action errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import wraps
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.exceptions import HomeAssistantError

from .const import CONF_EXTENSION, CONF_EXTENSIONS, DOMAIN
from .rtapi import (
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
