"""Assist as people use it: a typed sentence through Home Assistant's conversation agent."""

from pathlib import Path
import shutil

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox.const import CONF_ASSIST_ANY_NUMBER
from switchvox_simulator import SwitchvoxSimulator

SENTENCES = Path(__file__).parents[2] / "docs" / "custom_sentences" / "en" / "switchvox.yaml"


@pytest.fixture(autouse=True)
async def assist(hass: HomeAssistant, tmp_path: Path) -> None:
    """Load the README's custom sentences and Home Assistant's conversation agent."""
    folder = tmp_path / "custom_sentences" / "en"
    folder.mkdir(parents=True)
    shutil.copy(SENTENCES, folder)
    hass.config.config_dir = str(tmp_path)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done()


async def _say(hass: HomeAssistant, text: str) -> intent.IntentResponse:
    """Type ``text`` into Assist (the built-in agent, English) and return its answer."""
    result = await conversation.async_converse(hass, text, None, Context(), language="en")
    return result.response


def _speech(response: intent.IntentResponse) -> str:
    """Return what Assist says."""
    speech: str = response.speech["plain"]["speech"]
    return speech


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the log records at ERROR or above."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelname in ("ERROR", "CRITICAL")
    ]


async def test_assist_calls_a_watched_extension(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """'call 102' dials 102 and says so."""
    response = await _say(hass, "call 102")
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert _speech(response) == "Calling 102"
    assert [p["extension"] for m, p in simulator.requests if m == "dial"] == ["102"]


@pytest.mark.parametrize(
    ("text", "speech"),
    [
        ("call Zed", "I don't know who Zed is."),
        (
            "call +1 555 000 2222",
            "Assist may only call watched extensions, and +15550002222 is not one. "
            "Allow any number in the Switchvox options to call it.",
        ),
    ],
)
async def test_assist_says_why_it_does_not_call(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    text: str,
    speech: str,
) -> None:
    """A refusal is spoken in words, not "An unexpected error occurred", and logs no error."""
    response = await _say(hass, text)
    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert _speech(response) == speech
    assert not _errors(caplog)
    assert not [m for m, _ in simulator.requests if m == "dial"]


async def test_assist_says_the_pbx_refused(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The PBX refusing the dial is said in words, and logs no error."""
    simulator.set_can_dial("101", False)
    response = await _say(hass, "call 102")
    assert _speech(response) == "The Switchvox PBX does not allow this extension to use dial."
    assert not _errors(caplog)


async def test_assist_without_a_loaded_entry(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the entry unloaded, Assist says no PBX is loaded."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    response = await _say(hass, "call 102")
    assert _speech(response) == "No Switchvox PBX is loaded."
    assert not _errors(caplog)


async def test_assist_dials_a_number_as_typed(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """With any number allowed, 'dial +1 (555) 000-2222' dials +15550002222."""
    hass.config_entries.async_update_entry(
        init_integration,
        options={**init_integration.options, CONF_ASSIST_ANY_NUMBER: True},
    )
    response = await _say(hass, "dial +1 (555) 000-2222")
    assert _speech(response) == "Calling +1 (555) 000-2222"
    assert [p["extension"] for m, p in simulator.requests if m == "dial"] == ["+15550002222"]
