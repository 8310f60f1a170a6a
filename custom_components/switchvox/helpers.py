"""Map client errors raised by actions to translated Home Assistant errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any

from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN
from .rtapi import (
    SwitchvoxConnectionError,
    SwitchvoxError,
    SwitchvoxNotAuthorizedError,
    SwitchvoxRpcError,
)


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
        except SwitchvoxConnectionError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="communication_error"
            ) from err
        except SwitchvoxError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="communication_error"
            ) from err

    return handler
