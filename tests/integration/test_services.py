"""Tests of the switchvox.dial action."""

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.switchvox.const import DOMAIN, SERVICE_DIAL
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

LINE_101 = "sensor.extension_101_line"


async def _dial(hass: HomeAssistant, **data: Any) -> None:
    """Call the dial action and wait for it."""
    await hass.services.async_call(DOMAIN, SERVICE_DIAL, data, blocking=True)


async def test_dial(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Dialing rings the caller's phone and echoes the dial data in its channel."""
    await _dial(
        hass,
        config_entry_id=init_integration.entry_id,
        extension="102",
        dial_data={"source": "doorbell"},
    )
    await wait_for(hass, lambda: state_of(hass, LINE_101) in ("starting", "calling"))
    line = hass.states.get(LINE_101)
    assert line is not None
    assert line.attributes["dial_data"] == {"source": "doorbell"}
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_102_line") == "ringing")
    dial = next(params for method, params in simulator.requests if method == "dial")
    # The mark of Home Assistant's own calls (no missed call) rides along, and is not shown.
    assert dial == {"extension": "102", "dialData": {"source": "doorbell", "home_assistant": True}}


async def test_dial_without_entry_id_and_converged_device(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """With one loaded entry the entry id is optional; convergedDeviceId is passed on."""
    await _dial(hass, extension="+15551234", converged_device_id="cd-7")
    dial = next(params for method, params in simulator.requests if method == "dial")
    assert dial == {
        "extension": "+15551234",
        "convergedDeviceId": "cd-7",
        "dialData": {"home_assistant": True},
    }


@pytest.mark.parametrize(
    ("typed", "dialed"),
    [
        ("+1 555 000 2222", "+15550002222"),
        ("(212) 555-0142", "2125550142"),
        ("212.555.0142", "2125550142"),
        (" 1-0-2 ", "102"),
        ("*97", "*97"),
    ],
)
async def test_dial_number_as_typed(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    typed: str,
    dialed: str,
) -> None:
    """Spaces, dashes, dots and parentheses are dropped, as Assist does."""
    await _dial(hass, extension=typed)
    dial = next(params for method, params in simulator.requests if method == "dial")
    assert dial["extension"] == dialed


@pytest.mark.usefixtures("init_integration")
async def test_dial_refusal_names_the_field_and_value(hass: HomeAssistant) -> None:
    """A number that cannot be dialed is refused naming the field as shown ("Number") and it."""
    with pytest.raises(vol.Invalid) as err:
        await _dial(hass, extension="+1 555 CALL-NOW")
    assert "Number '+1 555 CALL-NOW' cannot be dialed" in str(err.value)


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    "data",
    [
        {"extension": "10a"},
        {"extension": ""},
        {"extension": "1+2"},
        {"extension": "1" * 33},
        {"extension": "102", "dial_data": "text"},
        {"extension": "102", "dial_data": {"blob": "x" * 5000}},
        {},
    ],
)
async def test_dial_invalid_input(hass: HomeAssistant, data: dict[str, Any]) -> None:
    """Bad numbers and oversized or non-object dial data are refused by the schema."""
    with pytest.raises(vol.Invalid):
        await _dial(hass, **data)


async def test_dial_unknown_entry(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """An unknown config entry id is a validation error."""
    with pytest.raises(ServiceValidationError) as err:
        await _dial(hass, config_entry_id="nope", extension="102")
    assert err.value.translation_key == "unknown_config_entry"


async def test_dial_entry_not_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An entry that is not loaded is a validation error."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _dial(hass, config_entry_id=init_integration.entry_id, extension="102")
    assert err.value.translation_key == "config_entry_not_loaded"
    with pytest.raises(ServiceValidationError) as err:
        await _dial(hass, extension="102")
    assert err.value.translation_key == "no_loaded_entry"


async def test_dial_needs_entry_id_with_two_entries(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    entry_data: dict[str, Any],
) -> None:
    """With two loaded entries the entry id is required."""
    second = MockConfigEntry(
        domain=DOMAIN,
        data={**entry_data, "extension": "102"},
        unique_id=f"127.0.0.1:{simulator.port}:102",
    )
    second.add_to_hass(hass)
    assert await hass.config_entries.async_setup(second.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _dial(hass, extension="103")
    assert err.value.translation_key == "config_entry_required"
    await _dial(hass, config_entry_id=second.entry_id, extension="103")
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_102_line") == "calling")
    await hass.config_entries.async_unload(second.entry_id)


async def test_dial_refused_by_pbx(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A PBX refusal (-32001) becomes a translated error naming the method."""
    simulator.set_can_dial("101", False)
    with pytest.raises(HomeAssistantError) as err:
        await _dial(hass, extension="102")
    assert err.value.translation_key == "not_authorized"
    assert err.value.translation_placeholders == {"method": "dial"}


async def test_dial_rpc_error(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Any other JSON-RPC error becomes a translated error with code and message."""
    simulator.set_error("dial", -32603, "Internal error")
    with pytest.raises(HomeAssistantError) as err:
        await _dial(hass, extension="102")
    assert err.value.translation_key == "rpc_error"
    assert err.value.translation_placeholders == {"code": "-32603", "message": "Internal error"}


async def test_dial_while_disconnected(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Dialing while the session is down fails at once with a translated error."""
    simulator.set_accepting(False)
    await simulator.drop_connections()
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "unavailable")
    with pytest.raises(HomeAssistantError) as err:
        await _dial(hass, extension="102")
    assert err.value.translation_key == "not_connected"
    simulator.set_accepting(True)


async def test_dial_connection_lost_during_request(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A drop while the PBX has not answered fails the call with a translated error."""
    simulator.set_ignore("dial", True)
    task = hass.async_create_task(_dial(hass, extension="102"))
    await wait_for(hass, lambda: init_integration.runtime_data.client.pending_requests == 1)
    simulator.set_accepting(False)
    await simulator.drop_connections()
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "communication_error"
    simulator.set_accepting(True)
