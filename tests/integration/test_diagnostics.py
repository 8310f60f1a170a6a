"""Tests of config entry diagnostics."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from switchvox_simulator import SwitchvoxSimulator
from tests.conftest import PASSWORD

from .helpers import state_of, wait_for


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show the session and lines, with the password redacted."""
    await simulator.ring("101", caller_name="Diag", caller_number="5550123")
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_101_line") == "ringing")
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert PASSWORD not in str(result)
    assert result["entry"]["data"]["password"] == "**REDACTED**"
    assert result["entry"]["data"]["port"] == simulator.port
    assert result["session"]["connected"] is True
    assert result == snapshot(exclude=props("port", "connected_since"))
