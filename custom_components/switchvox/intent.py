"""Assist intent: "call 102", "call Bob" places a call through the Switchvox PBX.

Conversation agents (LLMs included) see this intent as a tool, and a prompt can be injected into
a conversation: by default it dials only what the user watches (extension numbers and the names
of their accounts). Any other number (an external one could cost money) only where the user
turned on "Assist may dial any number" in the entry's options.
"""

from typing import override

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, intent, translation
import voluptuous as vol

from .const import CONF_ASSIST_ANY_NUMBER, DOMAIN
from .coordinator import SwitchvoxConfigEntry, SwitchvoxCoordinator
from .helpers import dialable_number, switchvox_exception_handler

INTENT_DIAL = "SwitchvoxDial"


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the dial intent (Home Assistant calls this for the intent platform)."""
    intent.async_register(hass, DialIntentHandler())


def find_by_name(
    coordinators: list[SwitchvoxCoordinator], target: str
) -> tuple[SwitchvoxCoordinator, str] | None:
    """Return the entry and extension whose account name matches ``target``.

    A whole-name match anywhere wins over a match of one word of a name ("Bob").
    """
    wanted = target.casefold()
    for whole in (True, False):
        for coordinator in coordinators:
            for extension, line in coordinator.data.items():
                name = line.account.name if line.account else None
                if not name:
                    continue
                folded = name.casefold()
                if folded == wanted if whole else wanted in folded.split():
                    return coordinator, extension
    return None


class DialIntentHandler(intent.IntentHandler):
    """Dial a watched extension by number or by its account's name (any number if allowed)."""

    intent_type = INTENT_DIAL
    description = (
        "Places a phone call through the Switchvox PBX to a watched extension, by its number "
        "or by the person's name"
    )
    slot_schema = {vol.Required("target"): cv.string}  # noqa: RUF012
    platforms = None

    @override
    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Resolve the target to an entry and a number, then place the call there.

        A refusal is an error response that says why, not an ``IntentHandleError``: Home
        Assistant's own agent logs that as an error and replaces its text with a generic one.
        """
        hass = intent_obj.hass
        language = intent_obj.language
        slots = self.async_validate_slots(intent_obj.slots)
        target: str = slots["target"]["value"].strip()
        entries: list[SwitchvoxConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
        if not entries:
            return await _refusal(intent_obj, "no_loaded_entry")
        coordinators = [entry.runtime_data for entry in entries]
        number = dialable_number(target)
        if number is not None:
            if len(coordinators) > 1:
                return await _refusal(intent_obj, "assist_number_ambiguous")
            coordinator = coordinators[0]
            if number not in coordinator.extensions and not coordinator.config_entry.options.get(
                CONF_ASSIST_ANY_NUMBER, False
            ):
                return await _refusal(intent_obj, "assist_number_not_allowed", number=number)
        elif (found := find_by_name(coordinators, target)) is not None:
            coordinator, number = found
        else:
            return await _refusal(intent_obj, "assist_unknown_name", name=target)
        try:
            await switchvox_exception_handler(coordinator.async_dial)(number)
        except HomeAssistantError as err:
            if err.translation_key is None:
                raise
            return await _refusal(
                intent_obj, err.translation_key, **(err.translation_placeholders or {})
            )
        response = intent_obj.create_response()
        response.async_set_speech(await _translate(hass, language, "assist_calling", target=target))
        return response


async def _translate(hass: HomeAssistant, language: str, key: str, **placeholders: str) -> str:
    """Return this integration's translated exception message ``key``, filled in."""
    strings = await translation.async_get_translations(hass, language, "exceptions", {DOMAIN})
    message = strings.get(f"component.{DOMAIN}.exceptions.{key}.message", key)
    return message.format(**placeholders)


async def _refusal(
    intent_obj: intent.Intent, key: str, **placeholders: str
) -> intent.IntentResponse:
    """Return an error response that says, in the user's language, why nothing was dialed."""
    response = intent_obj.create_response()
    response.async_set_error(
        intent.IntentResponseErrorCode.FAILED_TO_HANDLE,
        await _translate(intent_obj.hass, intent_obj.language, key, **placeholders),
    )
    return response
