"""Shared fixtures: a real simulator on 127.0.0.1 and a config entry pointing at it."""

from collections.abc import AsyncGenerator, Generator
import socket
from typing import Any, Literal
from unittest.mock import patch

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
import pytest_socket
from syrupy.assertion import SnapshotAssertion

from custom_components.switchvox.const import CONF_EXTENSION, CONF_EXTENSIONS, DOMAIN
from library.tests.conftest import (  # the library's accounts, re-exported for these tests
    ACCOUNTS as ACCOUNTS,  # noqa: PLC0414
    PASSWORD as PASSWORD,  # noqa: PLC0414
    tolerate_refused_certificates,
)
from switchvox_simulator import SwitchvoxSimulator

from .translation_check import check_translations  # noqa: F401 - an autouse fixture

# How Home Assistant reports the use of an API it will remove (helpers.frame, deprecation).
DEPRECATION_MARKERS = (
    "will stop working in Home Assistant",
    "will be removed in HA Core",
    "The deprecated ",
    "is deprecated",
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture(autouse=True)
def fail_on_deprecation_reports(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail any test during which Home Assistant reports a deprecated API being used.

    Users run newer releases than the one tested here, where those APIs are gone.
    """
    yield
    phases: tuple[Literal["setup", "call"], ...] = ("setup", "call")
    reports = [
        record.getMessage()
        for when in phases
        for record in caplog.get_records(when)
        if record.name.startswith("homeassistant")
        and any(marker in record.getMessage() for marker in DEPRECATION_MARKERS)
    ]
    assert not reports, f"Home Assistant reported deprecated API use: {reports}"


def ipv6_loopback() -> bool:
    """Return whether this machine can listen on ::1."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def ipv6_allowed(socket_enabled: None) -> Generator[None]:
    """Let the test connect to ::1 too (the harness allows 127.0.0.1 only)."""
    pytest_socket.socket_allow_hosts(["127.0.0.1", "::1"])
    yield
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


@pytest.fixture
def fast_reconnect() -> Generator[None]:
    """Make the session retry almost at once (no backoff), to run many faults quickly."""
    with patch("custom_components.switchvox.rtapi.session.reconnect_delay", return_value=0.01):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Return Home Assistant's snapshot extension, whichever plugin's fixture loaded last.

    Both syrupy and the Home Assistant harness define ``snapshot``; which one a test gets
    otherwise depends on plugin load order, and the two serialise states differently.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def simulator_options() -> dict[str, Any]:
    """Return keyword arguments for the simulator (override per test module)."""
    return {}


@pytest.fixture
async def refused_certificates_expected(hass: HomeAssistant) -> None:
    """Let a test's client refuse a certificate served by the test's own TLS server."""
    tolerate_refused_certificates()


@pytest.fixture
async def simulator(
    hass: HomeAssistant, socket_enabled: None, simulator_options: dict[str, Any]
) -> AsyncGenerator[SwitchvoxSimulator]:
    """Run a simulated PBX on a free port of 127.0.0.1 with a few accounts.

    ``socket_enabled`` lifts the test harness's socket ban; connections stay on 127.0.0.1.
    """
    if simulator_options.get("tls"):
        tolerate_refused_certificates()
    sim = SwitchvoxSimulator("127.0.0.1", 0, **simulator_options)
    for extension, name, can_watch in ACCOUNTS:
        sim.add_account(extension, PASSWORD, name, can_watch=can_watch)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def simulator_config(simulator: SwitchvoxSimulator, **overrides: Any) -> dict[str, Any]:
    """Return config entry data (the user step's input) for the simulator, logged in as 101."""
    return {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: simulator.port,
        CONF_SSL: False,
        CONF_VERIFY_SSL: True,
        CONF_EXTENSION: "101",
        CONF_PASSWORD: PASSWORD,
        **overrides,
    }


@pytest.fixture
def entry_data(simulator: SwitchvoxSimulator) -> dict[str, Any]:
    """Return config entry data for the simulator, logged in as 101."""
    return simulator_config(simulator)


@pytest.fixture
def mock_config_entry(entry_data: dict[str, Any]) -> MockConfigEntry:
    """Return a config entry watching 101 and 102."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"101 @ {entry_data[CONF_HOST]}",
        data=entry_data,
        options={CONF_EXTENSIONS: ["101", "102"]},
        minor_version=2,
        entry_id="01JSWITCHVOXENTRY0000000001",
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """Set up the integration against the simulator; unload it afterwards."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    if mock_config_entry.state.recoverable:
        await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
def caplog_debug(caplog: pytest.LogCaptureFixture) -> Generator[pytest.LogCaptureFixture]:
    """Capture every log record at DEBUG level."""
    with caplog.at_level("DEBUG"):
        yield caplog
