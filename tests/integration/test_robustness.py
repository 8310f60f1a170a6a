"""What a server we did not write can do: broken handshakes, no WebSocket, IPv6, two PBXs."""

import asyncio
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, intent, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox import async_remove_config_entry_device
from custom_components.switchvox.const import CONF_ASSIST_ANY_NUMBER, CONF_EXTENSIONS, DOMAIN
from custom_components.switchvox.intent import INTENT_DIAL
from switchvox_simulator import SwitchvoxSimulator
from tests.conftest import ACCOUNTS, PASSWORD, ipv6_loopback, simulator_config

from .helpers import state_of, wait_for

HANDSHAKE_FAULTS = ("close_after_upgrade", "open_without_sid", "html_page", "proxy_502")


def _entry(data: dict[str, Any], **options: Any) -> MockConfigEntry:
    """Return a config entry for ``data`` watching 101 and 102."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"101 @ {data[CONF_HOST]}",
        data=data,
        options={CONF_EXTENSIONS: ["101", "102"], **options},
        minor_version=2,
    )


@pytest.mark.parametrize("fault", HANDSHAKE_FAULTS)
async def test_broken_handshake_at_setup_is_retried(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, entry_data: dict[str, Any], fault: str
) -> None:
    """A front end that breaks the handshake makes setup retry, not fail for good."""
    simulator.set_handshake_fault(fault)  # type: ignore[arg-type]
    entry = _entry(entry_data)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    simulator.set_handshake_fault("none")


@pytest.mark.usefixtures("fast_reconnect")
@pytest.mark.parametrize("fault", HANDSHAKE_FAULTS)
async def test_broken_handshake_while_reconnecting_is_survived(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    fault: str,
) -> None:
    """Broken handshakes during reconnects are retried until the PBX answers properly."""
    coordinator = init_integration.runtime_data
    attempts = simulator.handshake_attempts
    simulator.set_handshake_fault(fault, times=6)  # type: ignore[arg-type]
    await simulator.drop_connections()
    await wait_for(hass, lambda: simulator.handshake_attempts >= attempts + 7, timeout=10)
    await wait_for(hass, lambda: coordinator.session.up, timeout=10)
    assert state_of(hass, "sensor.extension_101_line") == "idle"
    assert simulator.sessions == 1


@pytest.mark.usefixtures("fast_reconnect")
async def test_polling_only_pbx(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, entry_data: dict[str, Any]
) -> None:
    """A PBX (or proxy) without WebSocket is reached over long-polling: pushes, drops, unload."""
    simulator.set_handshake_fault("polling_only")
    entry = _entry(entry_data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data
    assert coordinator.client.transport_name == "polling"
    uid = await simulator.ring("101", caller_name="Poll", caller_number="5550101")
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_101_line") == "ringing")
    await simulator.drop_connections()
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_101_line") == "unavailable")
    await wait_for(hass, lambda: coordinator.session.up, timeout=10)
    assert state_of(hass, "sensor.extension_101_line") == "idle"  # the old channel is forgotten
    await simulator.hang_up(uid)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await wait_for(hass, lambda: simulator.connections == 0)
    simulator.set_handshake_fault("none")


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_ipv6_pbx(
    hass: HomeAssistant, ipv6_allowed: None, device_registry: dr.DeviceRegistry
) -> None:
    """A PBX at an IPv6 literal sets up, with a valid configuration URL on its device."""
    async with SwitchvoxSimulator("::1", 0) as sim:
        for extension, name, can_watch in ACCOUNTS:
            sim.add_account(extension, PASSWORD, name, can_watch=can_watch)
        entry = _entry(simulator_config(sim, **{CONF_HOST: "::1"}))
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.LOADED
        device = device_registry.async_get_device_by_identifier(
            (DOMAIN, entry.entry_id), entry.entry_id
        )
        assert device is not None
        assert device.configuration_url == f"http://[::1]:{sim.port}/"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_remove_device_while_not_loaded(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry_data: dict[str, Any],
    device_registry: dr.DeviceRegistry,
) -> None:
    """Removing a device works while the entry retries setup (no runtime data then)."""
    simulator.set_accepting(False)
    entry = _entry(entry_data)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    stale = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{entry.entry_id}_999")}
    )
    watched = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{entry.entry_id}_101")}
    )
    assert await async_remove_config_entry_device(hass, entry, stale)
    assert not await async_remove_config_entry_device(hass, entry, watched)
    simulator.set_accepting(True)


async def test_drop_while_subscribing_at_setup(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, entry_data: dict[str, Any]
) -> None:
    """A drop during the first subscribe fails setup (retried): no entity reads available."""
    simulator.set_delay("subscribe", 0.3)
    entry = _entry(entry_data)
    entry.add_to_hass(hass)
    setup = hass.async_create_task(hass.config_entries.async_setup(entry.entry_id))
    async with asyncio.timeout(5):  # not wait_for: blocking till done would finish the setup
        while not any(method == "subscribe" for method, _ in simulator.requests):
            await asyncio.sleep(0.01)
    await simulator.drop_connections()
    await setup
    assert entry.state is ConfigEntryState.SETUP_RETRY
    simulator.set_delay("subscribe", 0)


@pytest.mark.parametrize("simulator_options", [{"tls": True}])
async def test_untrusted_certificate_at_setup_names_the_fix(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    refused_certificates_expected: None,
) -> None:
    """A certificate that fails verification is a permanent error pointing at Reconfigure."""
    entry = _entry(simulator_config(simulator, ssl=True, verify_ssl=True))
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "Verify the TLS certificate" in entry.reason


async def test_login_not_authorized_at_setup_names_the_permission(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, entry_data: dict[str, Any]
) -> None:
    """A login answered -32001 is a permanent error naming the PBX permission."""
    simulator.set_error("login", -32001, "Not authorized")
    entry = _entry(entry_data)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "Realtime API permission" in entry.reason
    simulator.set_error("login", None)


@pytest.mark.usefixtures("fast_reconnect")
async def test_permission_lost_while_reconnecting_raises_repair(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Retrying goes on, and a repair issue says what the PBX admin must grant, until fixed."""
    coordinator = init_integration.runtime_data
    simulator.set_error("login", -32001, "Not authorized")
    await simulator.drop_connections()
    issue_id = f"user_action_required_{init_integration.entry_id}"
    registry = ir.async_get(hass)
    await wait_for(hass, lambda: registry.async_get_issue(DOMAIN, issue_id) is not None)
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "api_not_allowed"
    simulator.set_error("login", None)
    await wait_for(hass, lambda: coordinator.session.up, timeout=10)
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def _dial(hass: HomeAssistant, target: str) -> intent.IntentResponse:
    """Handle the dial intent for ``target``."""
    return await intent.async_handle(hass, "test", INTENT_DIAL, {"target": {"value": target}})


def _dials(simulator: SwitchvoxSimulator) -> list[Any]:
    """Return the numbers a simulator was asked to dial."""
    return [params["extension"] for method, params in simulator.requests if method == "dial"]


def _refusal(response: intent.IntentResponse) -> str:
    """Return what Assist says of a refused call (an error response)."""
    assert response.response_type is intent.IntentResponseType.ERROR
    speech: str = response.speech["plain"]["speech"]
    return speech


async def test_assist_dials_through_the_pbx_that_knows_the_name(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """With two PBXs, "call Carol" dials on the PBX watching Carol; a bare number is refused."""
    assert await async_setup_component(hass, "intent", {})
    async with SwitchvoxSimulator("127.0.0.1", 0) as other:
        for extension, name, can_watch in ACCOUNTS:
            other.add_account(extension, PASSWORD, name, can_watch=can_watch)
        second = MockConfigEntry(
            domain=DOMAIN,
            title="101 @ second",
            data=simulator_config(other),
            options={CONF_EXTENSIONS: ["101", "103"]},
            minor_version=2,
        )
        second.add_to_hass(hass)
        assert await hass.config_entries.async_setup(second.entry_id)
        uid = await other.ring("103", caller_name="X", caller_number="5550000")
        await other.hang_up(uid)
        await wait_for(hass, lambda: second.runtime_data.data["103"].account is not None)
        response = await _dial(hass, "Carol Chen")
        assert response.speech["plain"]["speech"] == "Calling Carol Chen"
        assert _dials(other) == ["103"]
        assert _dials(simulator) == []
        assert "Several Switchvox PBXs" in _refusal(await _dial(hass, "102"))
        assert await hass.config_entries.async_unload(second.entry_id)


async def test_assist_external_numbers_only_when_allowed(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, entry_data: dict[str, Any]
) -> None:
    """Assist (and LLM agents) may not dial unwatched numbers unless the user allows it."""
    assert await async_setup_component(hass, "intent", {})
    entry = _entry(entry_data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert "only call watched extensions" in _refusal(await _dial(hass, "+1 900 555 0199"))
    assert "don't know who Mallory" in _refusal(await _dial(hass, "Mallory"))
    assert _dials(simulator) == []
    await _dial(hass, "102")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_ASSIST_ANY_NUMBER: True}
    )
    await hass.async_block_till_done()
    await wait_for(hass, lambda: entry.state is ConfigEntryState.LOADED)
    await _dial(hass, "+1 900 555 0199")
    assert _dials(simulator) == ["102", "+19005550199"]
