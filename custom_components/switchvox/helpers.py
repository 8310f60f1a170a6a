"""Small shared pieces: an entry's client and extensions, and client errors as Home Assistant's."""

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import wraps
import re
from typing import Any, NoReturn

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import CONF_EXTENSION, CONF_EXTENSIONS, DOMAIN, EXTENSION_PATTERN
from .issues import USER_ACTION_ERRORS, user_action_key
from .rtapi import (
    SwitchvoxClient,
    SwitchvoxError,
    SwitchvoxLoginRefusedError,
    SwitchvoxNotAuthorizedError,
    SwitchvoxRpcError,
)

# What people put between the digits of a number: "+1 (212) 555-0142", "212.555.0142".
_SEPARATORS = re.compile(r"[ \-().]")


def dialable_number(text: str) -> str | None:
    """Return a number as people write it, as the PBX dials it; None when it is no number."""
    number = _SEPARATORS.sub("", text)
    return number if re.fullmatch(EXTENSION_PATTERN, number) else None


def client_from_config(hass: HomeAssistant, data: Mapping[str, Any]) -> SwitchvoxClient:
    """Return a client for the PBX described by config entry data, on Home Assistant's HTTP."""
    return SwitchvoxClient(
        data[CONF_HOST],
        port=data[CONF_PORT],
        session=async_get_clientsession(hass, verify_ssl=data[CONF_VERIFY_SSL]),
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


def raise_setup_failure(err: SwitchvoxError, host: str, extension: str) -> NoReturn:
    """Raise what a failed first session means for the entry.

    A refused login asks for the new password; a failure only the user can fix (the
    certificate, the API permission) says what to change; anything else is retried.
    """
    placeholders = {"host": host, "extension": extension}
    if isinstance(err, SwitchvoxLoginRefusedError):
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    if isinstance(err, USER_ACTION_ERRORS):
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key=user_action_key(err),
            translation_placeholders=placeholders,
        ) from err
    raise ConfigEntryNotReady(
        translation_domain=DOMAIN,
        translation_key="cannot_connect",
        translation_placeholders=placeholders,
    ) from err


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
