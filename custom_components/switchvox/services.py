"""The ``switchvox.dial`` action: place a call from a config entry's extension."""

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_CONVERGED_DEVICE_ID,
    ATTR_DIAL_DATA,
    ATTR_EXTENSION,
    DIAL_DATA_MARK,
    DOMAIN,
    SERVICE_DIAL,
)
from .coordinator import SwitchvoxConfigEntry, SwitchvoxCoordinator
from .helpers import dialable_number, switchvox_exception_handler
from .rtapi import MAX_DIAL_DATA_BYTES, MAX_DIAL_DATA_DEPTH, bounded_json_object


def _bounded_dial_data(value: dict[str, Any]) -> dict[str, Any]:
    """Accept dial data the PBX can store and the integration can show when it comes back.

    The same bound applies to dial data the PBX echoes (``bounded_json_object``): data the
    action accepted, with the mark of our own calls, is never dropped on its way back.
    """
    if bounded_json_object({**value, DIAL_DATA_MARK: True}) is None:
        raise vol.Invalid(
            f"dial_data must be a JSON object of at most {MAX_DIAL_DATA_BYTES} bytes "
            f"(as JSON) nesting at most {MAX_DIAL_DATA_DEPTH} levels"
        )
    return value


def _dialable_number(value: Any) -> str:
    """Accept a number as people type it ("+1 555 000-2222"); name the field as the UI does.

    YAML reads ``extension: 102`` as an integer; a float ("102.5") is no number to dial.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise vol.Invalid('Number must be text, such as "102" or "+1 212 555 0142"')
    text = str(value).strip()
    if (number := dialable_number(text)) is None:
        raise vol.Invalid(
            f"Number {text[:40]!r} cannot be dialed: use digits, *, # and a leading + "
            "(spaces, dashes, dots and parentheses are ignored)"
        )
    return number


DIAL_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_EXTENSION): _dialable_number,
        vol.Optional(ATTR_CONVERGED_DEVICE_ID): vol.All(cv.string, vol.Length(min=1, max=128)),
        vol.Optional(ATTR_DIAL_DATA): vol.All(dict, _bounded_dial_data),
    }
)


@callback
def async_get_coordinator(hass: HomeAssistant, entry_id: str | None) -> SwitchvoxCoordinator:
    """Return the coordinator of a loaded entry, or of the only loaded entry."""
    if entry_id is None:
        loaded: list[SwitchvoxConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
        if len(loaded) != 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="config_entry_required" if loaded else "no_loaded_entry",
            )
        return loaded[0].runtime_data
    entry: SwitchvoxConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_config_entry",
            translation_placeholders={"config_entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="config_entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry.runtime_data


@switchvox_exception_handler
async def _async_dial(call: ServiceCall) -> None:
    """Place the call an action asks for."""
    coordinator = async_get_coordinator(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    await coordinator.async_dial(
        call.data[ATTR_EXTENSION],
        call.data.get(ATTR_CONVERGED_DEVICE_ID),
        call.data.get(ATTR_DIAL_DATA),
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(DOMAIN, SERVICE_DIAL, _async_dial, schema=DIAL_SCHEMA)
