"""Tests of config entry diagnostics."""

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.switchvox.helpers import switchvox_exception_handler
from switchvox_simulator import SwitchvoxSimulator
from tests.conftest import PASSWORD

from .helpers import state_of, wait_for

VOLATILE = props(
    "port", "connected_since", "at", "startTime", "serverTime", "uniqueId", "id", "ping_interval"
)


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show the session, the lines and what the PBX sent, secrets removed."""
    await simulator.ring("101", caller_name="Diag Nostic", caller_number="5550123")
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_101_line") == "ringing")
    # The PBX echoes the password in an error: diagnostics must not carry it.
    simulator.set_error("dial", -32603, f"cannot dial with {PASSWORD}")
    with pytest.raises(Exception):  # noqa: B017, PT011
        await switchvox_exception_handler(init_integration.runtime_data.async_dial)("102")
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = str(result)
    assert PASSWORD not in text
    assert "5550123" not in text
    assert "Diag Nostic" not in text
    assert result["entry"]["data"]["password"] == "**REDACTED**"
    assert result["session"]["connected"] is True
    assert result["session"]["transport"] == "websocket"
    notification = next(m for m in result["recent_messages"] if m["event"] == "notification")
    remote = notification["payload"]["params"]["remotes"][0]
    assert remote["callerIdNumber"] == "*****23"
    assert remote["callerIdName"] == "*********ic"
    error = next(m for m in result["recent_messages"] if m["event"] == "response")
    assert error["payload"]["error"]["message"] == "cannot dial with **REDACTED**"
    assert [item["event"] for item in result["session"]["history"]] == ["connected"]
    assert result == snapshot(exclude=VOLATILE)
