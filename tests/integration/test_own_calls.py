"""Calls Home Assistant places (switchvox.dial, Assist) never become missed calls."""

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox.const import DOMAIN, SERVICE_DIAL
from custom_components.switchvox.intent import INTENT_DIAL
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for
from .test_missed_calls import MISSED, get_items

LINE_101 = "sensor.extension_101_line"
LINE_102 = "sensor.extension_102_line"
EVENT_102 = "event.extension_102_call"


async def _ring_out_on_102(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """Let the dialed 102 ring, then hang up unanswered (the channel reports missed)."""
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    [uid] = simulator.channels("102")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    event = hass.states.get(EVENT_102)
    assert event is not None
    assert event.attributes["event_type"] == "missed"


@pytest.mark.parametrize("dial_data", [None, {"source": "doorbell"}])
async def test_dial_action_makes_no_missed_call(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    dial_data: dict[str, Any] | None,
) -> None:
    """The README's doorbell automation: 102 rings unanswered, and nobody is to call back."""
    data: dict[str, Any] = {"extension": "102"}
    if dial_data is not None:
        data["dial_data"] = dial_data
    await hass.services.async_call(DOMAIN, SERVICE_DIAL, data, blocking=True)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "calling")
    line = hass.states.get(LINE_101)
    assert line is not None
    assert line.attributes["dial_data"] == dial_data  # the mark is not shown
    await _ring_out_on_102(hass, simulator)
    assert state_of(hass, MISSED) == "0"
    assert await get_items(hass) == []


async def test_assist_call_makes_no_missed_call(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Assist's "call 102", unanswered, adds no "Call back Alice Archer"."""
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done()
    await intent.async_handle(hass, "test", INTENT_DIAL, {"target": {"value": "102"}})
    await _ring_out_on_102(hass, simulator)
    assert await get_items(hass) == []


async def test_a_call_from_the_desk_phone_is_still_missed(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """101 calling 102 from its own phone, unanswered, is a missed call for 102."""
    await simulator.call("101", "102")
    await _ring_out_on_102(hass, simulator)
    [item] = await get_items(hass)
    assert item["summary"] == "Call back Alice Archer"


async def _ring_101_unanswered(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, **params: Any
) -> None:
    """Ring the login extension's phone as a PBX does before calling the number; no answer."""
    channel = {"uniqueId": "1700000000.900", "direction": "fromPbx", **params}
    await simulator.notify("101", {**channel, "status": "ringing"})
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    await simulator.notify("101", {**channel, "status": "idle"})
    await wait_for(hass, lambda: state_of(hass, LINE_101) != "ringing")


async def test_login_phone_ringing_first_is_no_missed_call(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A PBX that rings the login phone first, echoing the dial data: nobody picks it up."""
    simulator.outside_answer_delay = 3600
    await hass.services.async_call(DOMAIN, SERVICE_DIAL, {"extension": "5550100"}, blocking=True)
    [sent] = [p for m, p in simulator.requests if m == "dial"]
    await _ring_101_unanswered(
        hass,
        simulator,
        dialData=sent["dialData"],
        remotes=[{"callerIdName": "", "callerIdNumber": "5550199"}],
    )
    assert await get_items(hass) == []


async def test_login_phone_without_dial_data_is_known_by_the_number(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A PBX that drops the dial data: the login phone rung with the dialed number is ours.

    The same ring without a dial before it is a missed call.
    """
    remotes = [{"callerIdName": "Bob Baker", "callerIdNumber": "102"}]
    await hass.services.async_call(DOMAIN, SERVICE_DIAL, {"extension": "103"}, blocking=True)
    await _ring_101_unanswered(hass, simulator, remotes=remotes)
    [item] = await get_items(hass)
    assert item["summary"] == "Call back Bob Baker"
    await hass.services.async_call(DOMAIN, SERVICE_DIAL, {"extension": "102"}, blocking=True)
    await _ring_101_unanswered(hass, simulator, uniqueId="1700000000.901", remotes=remotes)
    # Calling 102 back completed its item; the ring is not counted on it as a second call.
    [after] = await get_items(hass)
    assert after["description"] == item["description"]
    assert after["status"] == "completed"
