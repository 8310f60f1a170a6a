"""Tests of setup, unload, reconnect and stale-state handling."""

import asyncio

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox import async_remove_config_entry_device
from custom_components.switchvox.const import DOMAIN
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

LINE_101 = "sensor.extension_101_line"


async def test_setup_and_unload(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """The entry logs in, subscribes, creates entities and logs out on unload."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert state_of(hass, LINE_101) == "idle"
    assert simulator.sessions == 1
    await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: simulator.sessions == 0)
    assert state_of(hass, LINE_101) == STATE_UNAVAILABLE


async def test_ring_answer_hangup(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A call shows as ringing, then on the phone, then idle."""
    uid = await simulator.ring("101", caller_name="Zed", caller_number="5550100")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    state = hass.states.get(LINE_101)
    assert state is not None
    assert state.attributes["caller_name"] == "Zed"
    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")


async def test_setup_not_ready_when_pbx_unreachable(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, mock_config_entry: MockConfigEntry
) -> None:
    """An unreachable PBX makes setup retry later."""
    simulator.set_accepting(False)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_auth_failed_starts_reauth(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, mock_config_entry: MockConfigEntry
) -> None:
    """Refused credentials at setup start the reauth flow."""
    simulator.set_password("101", "changed")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_reconnect_forgets_stale_channels(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """After a drop the lines are unavailable, then idle again: no ringing survives."""
    await simulator.ring("101", caller_name="Gone", caller_number="5550199")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    logins = _count(simulator, "login")
    await simulator.drop_connections()
    await wait_for(hass, lambda: state_of(hass, LINE_101) == STATE_UNAVAILABLE)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle", timeout=10)
    assert _count(simulator, "login") == logins + 1
    assert simulator.subscriptions.get("101") == 1
    assert simulator.subscriptions.get("102") == 1
    assert simulator.sessions == 1
    coordinator = init_integration.runtime_data
    assert coordinator.session.reconnects == 1
    # Pushes after the reconnect arrive as before.
    uid = await simulator.ring("102", caller_name="Back", caller_number="5550200")
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_102_line") == "ringing")
    await simulator.hang_up(uid)


async def test_changed_password_starts_reauth_without_login_storm(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A password changed on the PBX starts reauth and stops retrying the login."""
    simulator.set_password("101", "changed-on-pbx")
    logins = _count(simulator, "login")
    await simulator.drop_connections()
    await wait_for(
        hass, lambda: bool(hass.config_entries.flow.async_progress_by_handler(DOMAIN)), timeout=10
    )
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    await asyncio.sleep(1.5)
    assert _count(simulator, "login") == logins + 1
    assert state_of(hass, LINE_101) == STATE_UNAVAILABLE


async def test_refused_extension_raises_repair_issue(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An extension the PBX will not let us watch gets a repair issue; the others work."""
    simulator.revoke_watch("101", "102")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(
        DOMAIN, f"extensions_not_authorized_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["extensions"] == "102"
    assert state_of(hass, "sensor.extension_102_line") == STATE_UNAVAILABLE
    assert state_of(hass, LINE_101) == "idle"
    # Granted again: the next session clears the issue.
    simulator.grant_watch("101", "102")
    await simulator.drop_connections()
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_102_line") == "idle", timeout=10)
    assert (
        issue_registry.async_get_issue(
            DOMAIN, f"extensions_not_authorized_{mock_config_entry.entry_id}"
        )
        is None
    )
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_stop_logs_out(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Home Assistant stopping logs the session out."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: simulator.sessions == 0)
    assert _count(simulator, "logout") == 1


async def test_remove_device(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Watched extensions and the PBX cannot be removed by hand; stale devices can."""
    assert await async_setup_component(hass, "config", {})
    entry_id = init_integration.entry_id
    watched = device_registry.async_get_device_by_identifier((DOMAIN, f"{entry_id}_101"), entry_id)
    pbx = device_registry.async_get_device_by_identifier((DOMAIN, entry_id), entry_id)
    stale = device_registry.async_get_or_create(
        config_entry_id=entry_id, identifiers={(DOMAIN, f"{entry_id}_999")}
    )
    assert watched is not None
    assert pbx is not None
    assert not await async_remove_config_entry_device(hass, init_integration, watched)
    assert not await async_remove_config_entry_device(hass, init_integration, pbx)
    assert await async_remove_config_entry_device(hass, init_integration, stale)


def _count(simulator: SwitchvoxSimulator, method: str) -> int:
    """Return how many requests of ``method`` the simulator received."""
    return sum(1 for m, _ in simulator.requests if m == method)
