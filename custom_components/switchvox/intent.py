"""Assist intent: "call 102", "call Bob" places a call through the Switchvox PBX."""

from __future__ import annotations

import re

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, intent
import voluptuous as vol

from .const import DOMAIN, EXTENSION_PATTERN
from .coordinator import SwitchvoxConfigEntry, SwitchvoxCoordinator
from .helpers import switchvox_exception_handler

INTENT_DIAL = "SwitchvoxDial"
_SEPARATORS = re.compile(r"[\s\-().]")


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the dial intent (Home Assistant calls this for the intent platform)."""
    intent.async_register(hass, DialIntentHandler())


def _find_extension(coordinators: list[SwitchvoxCoordinator], target: str) -> str | None:
    """Return the extension whose account name matches ``target`` (case-insensitive)."""
    wanted = target.casefold()
    for coordinator in coordinators:
        for extension, line in coordinator.data.items():
            if line.account and line.account.name and line.account.name.casefold() == wanted:
                return extension
    for coordinator in coordinators:
        for extension, line in coordinator.data.items():
            name = line.account.name if line.account else None
            if name and wanted in name.casefold().split():
                return extension
    return None


class DialIntentHandler(intent.IntentHandler):
    """Dial a number, an extension, or a watched extension's account by name."""

    intent_type = INTENT_DIAL
    description = (
        "Places a phone call through the Switchvox PBX to an extension number, an external "
        "phone number, or a person by name"
    )
    slot_schema = {vol.Required("target"): cv.string}  # noqa: RUF012
    platforms = None

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Resolve the target and place the call from the first loaded entry."""
        slots = self.async_validate_slots(intent_obj.slots)
        target: str = slots["target"]["value"].strip()
        entries: list[SwitchvoxConfigEntry] = intent_obj.hass.config_entries.async_loaded_entries(
            DOMAIN
        )
        if not entries:
            raise intent.IntentHandleError("No Switchvox PBX is set up")
        coordinators = [entry.runtime_data for entry in entries]
        number = _SEPARATORS.sub("", target)
        if not re.fullmatch(EXTENSION_PATTERN, number):
            found = _find_extension(coordinators, target)
            if found is None:
                raise intent.IntentHandleError(f"I don't know who {target} is")
            number = found
        try:
            await switchvox_exception_handler(coordinators[0].async_dial)(number)
        except HomeAssistantError as err:
            raise intent.IntentHandleError(str(err)) from err
        response = intent_obj.create_response()
        response.async_set_speech(f"Calling {target}")
        return response
