"""Tests of the config, reauth, reconfigure and options flows against the simulator."""

from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, issue_registry as ir, translation
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.switchvox.config_flow import _normalize
from custom_components.switchvox.const import (
    CONF_ASSIST_ANY_NUMBER,
    CONF_EXTENSION,
    CONF_EXTENSIONS,
    DOMAIN,
)
from switchvox_simulator import SwitchvoxSimulator
from switchvox_simulator.frontend import FrontEnd
from tests.conftest import ACCOUNTS, PASSWORD, ipv6_loopback, simulator_config

from .helpers import wait_for

_user_input = simulator_config


async def test_full_user_flow(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """The user step logs in and creates the entry; the session is closed afterwards."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    with patch("custom_components.switchvox.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(simulator, **{CONF_HOST: " 127.0.0.1 "})
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "101 @ 127.0.0.1"
    assert result["data"] == _user_input(simulator)
    # A host is no unique id (the PBX has no serial number): entries are matched by data.
    assert result["result"].unique_id is None
    assert ("login", {"extension": "101", "password": "***"}) in simulator.requests


async def test_user_flow_behind_a_front_end_that_swallows_websocket(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """A proxy that never answers the WebSocket upgrade: the entry is made over long-polling."""
    async with FrontEnd(simulator.port, websocket="swallow") as front:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        with patch("custom_components.switchvox.async_setup_entry", return_value=True):
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], _user_input(simulator, **{CONF_PORT: front.port})
            )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_PORT] == front.port
        assert front.swallowed == 1
    assert ("login", {"extension": "101", "password": "***"}) in simulator.requests


async def test_user_flow_with_ids_echoed_as_strings(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """A PBX that echoes the request id 1 as "1" still validates the login at once."""
    simulator.set_string_ids()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch("custom_components.switchvox.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(simulator)
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == _user_input(simulator)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({CONF_PASSWORD: "wrong"}, "invalid_auth"),
        ({CONF_EXTENSION: "999"}, "invalid_auth"),
        ({CONF_PORT: 1}, "cannot_connect"),
    ],
)
async def test_user_flow_errors_then_recover(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, overrides: dict[str, Any], error: str
) -> None:
    """A refused login or an unreachable PBX shows an error; fixing it creates the entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator, **overrides)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    with patch("custom_components.switchvox.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(simulator)
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_unknown_error(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """An unexpected exception shows the unknown error."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch("custom_components.switchvox.config_flow.async_validate", side_effect=RuntimeError):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(simulator)
        )
    assert result["errors"] == {"base": "unknown"}


async def test_user_flow_login_not_authorized(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """A login the PBX answers with -32001 names the missing permission."""
    simulator.set_error("login", -32001, "Realtime API not allowed")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator)
    )
    assert result["errors"] == {"base": "not_authorized"}
    assert result["description_placeholders"] == {"extensions": "101"}


async def test_reauth_and_reconfigure_not_authorized(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Reauth and reconfigure name the extension the PBX does not allow, too."""
    simulator.set_error("login", -32001, "Realtime API not allowed")
    result = await init_integration.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: PASSWORD}
    )
    assert result["errors"] == {"base": "not_authorized"}
    assert (result["description_placeholders"] or {}).get("extensions") == "101"
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, CONF_SSL: False, CONF_VERIFY_SSL: True},
    )
    assert result["errors"] == {"base": "not_authorized"}
    assert result["description_placeholders"] == {"extensions": "101"}
    simulator.set_error("login", None)


async def test_user_flow_already_configured(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, mock_config_entry: MockConfigEntry
) -> None:
    """The same host, port and extension twice aborts."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator, **{CONF_HOST: "127.0.0.1"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth_flow(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Reauth asks for the password, rejects a wrong one, and stores the right one."""
    simulator.set_password("101", "n3w-pa55")
    result = await init_integration.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: PASSWORD}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "n3w-pa55"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_integration.data[CONF_PASSWORD] == "n3w-pa55"
    await hass.async_block_till_done()


async def test_reconfigure_flow(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Reconfigure validates the new address and keeps the credentials."""
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: 1, CONF_SSL: False, CONF_VERIFY_SSL: True},
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            # Names would be resolved by Home Assistant's resolver, which the test harness
            # stubs: an address with stray spaces shows the normalization (lower-casing in
            # test_host_normalized, brackets in the pasted-address tests).
            CONF_HOST: " 127.0.0.1 ",
            CONF_PORT: simulator.port,
            CONF_SSL: False,
            CONF_VERIFY_SSL: False,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data[CONF_HOST] == "127.0.0.1"
    assert init_integration.data[CONF_VERIFY_SSL] is False
    assert init_integration.data[CONF_PASSWORD] == PASSWORD
    assert init_integration.unique_id is None
    await hass.async_block_till_done()


def test_host_normalized() -> None:
    """The host is trimmed, lower-cased and stripped of IPv6 brackets; the extension trimmed."""
    data = _normalize({CONF_HOST: " PBX.Example.LAN ", CONF_EXTENSION: " 101 "})
    assert data == {CONF_HOST: "pbx.example.lan", CONF_EXTENSION: "101"}
    assert _normalize({CONF_HOST: "[FD00::1]"}) == {CONF_HOST: "fd00::1"}


async def test_reconfigure_to_existing_entry_aborts(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Reconfiguring onto another entry's address and extension aborts."""
    other = MockConfigEntry(
        domain=DOMAIN,
        data={**init_integration.data, CONF_HOST: "localhost"},
        minor_version=2,
    )
    other.add_to_hass(hass)
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "localhost", CONF_PORT: simulator.port, CONF_SSL: False, CONF_VERIFY_SSL: True},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_options_flow(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Options validate the extensions by subscribing; removing one removes its device."""
    entry_id = init_integration.entry_id
    assert device_registry.async_get_device_by_identifier((DOMAIN, f"{entry_id}_102"), entry_id)
    result = await hass.config_entries.options.async_init(entry_id)
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: []}
    )
    assert result["errors"] == {CONF_EXTENSIONS: "no_extensions"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101", "abc"]}
    )
    assert result["errors"] == {CONF_EXTENSIONS: "invalid_extension"}
    assert result["description_placeholders"] == {"extensions": "abc"}
    simulator.revoke_watch("101", "104")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101", "104", "103"]}
    )
    assert result["errors"] == {CONF_EXTENSIONS: "not_authorized"}
    assert result["description_placeholders"] == {"extensions": "104"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101", "103", " 103"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {
        CONF_EXTENSIONS: ["101", "103"],
        CONF_ASSIST_ANY_NUMBER: False,
    }
    await hass.async_block_till_done()
    assert (
        device_registry.async_get_device_by_identifier((DOMAIN, f"{entry_id}_102"), entry_id)
        is None
    )
    assert device_registry.async_get_device_by_identifier((DOMAIN, f"{entry_id}_103"), entry_id)
    assert hass.states.get("sensor.extension_103_line") is not None


async def _pbx_down(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, entry: MockConfigEntry
) -> None:
    """Take the PBX off the network (connections refused) and wait for the entry to notice."""
    await simulator.set_listening(False)
    await simulator.drop_connections()
    coordinator = entry.runtime_data
    await wait_for(hass, lambda: not coordinator.session.up)


async def test_options_save_while_the_pbx_is_down(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Removing an extension and the Assist setting need no PBX: they save at once."""
    await _pbx_down(hass, simulator, init_integration)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101"], CONF_ASSIST_ANY_NUMBER: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {CONF_EXTENSIONS: ["101"], CONF_ASSIST_ANY_NUMBER: True}
    assert not [method for method, _ in simulator.requests if method == "subscribe"][1:]
    await hass.async_block_till_done()
    await simulator.set_listening(True)


async def test_options_added_extension_checked_by_the_next_session(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An extension added while the PBX is down is saved; the next session's refusal is an issue."""
    simulator.revoke_watch("101", "104")
    simulator.set_accepting(False)  # every handshake refused (HTTP 503)
    await simulator.drop_connections()
    await wait_for(hass, lambda: not init_integration.runtime_data.session.up)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101", "102", "104"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options[CONF_EXTENSIONS] == ["101", "102", "104"]
    await hass.async_block_till_done()
    simulator.set_accepting(True)
    issue_id = f"extensions_not_authorized_{init_integration.entry_id}"

    # The reload found the PBX down: Home Assistant retries the setup; its time comes now.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
    await wait_for(hass, lambda: issue_registry.async_get_issue(DOMAIN, issue_id) is not None)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["extensions"] == "104"
    assert hass.states.get("sensor.extension_102_line").state == "idle"  # type: ignore[union-attr]


async def test_options_added_extension_checked_when_the_pbx_answers(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """With the session down but the PBX answering, an added extension is checked at once."""
    simulator.revoke_watch("101", "104")
    simulator.set_accepting(False)
    await simulator.drop_connections()
    await wait_for(hass, lambda: not init_integration.runtime_data.session.up)
    simulator.set_accepting(True)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101", "104"]}
    )
    assert result["errors"] == {CONF_EXTENSIONS: "not_authorized"}
    assert result["description_placeholders"] == {"extensions": "104"}


@pytest.mark.parametrize("simulator_options", [{"tls": True}])
async def test_user_flow_self_signed_certificate(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """A self-signed certificate with verification on explains the option; off works."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator, **{CONF_SSL: True})
    )
    assert result["errors"] == {"base": "certificate_verify_failed"}
    with patch("custom_components.switchvox.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(simulator, **{CONF_SSL: True, CONF_VERIFY_SSL: False})
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VERIFY_SSL] is False


async def test_reconfigure_same_address(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Reconfiguring only the TLS options is no conflict with the entry itself."""
    unique_id = init_integration.unique_id
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_HOST: "127.0.0.1",
            CONF_PORT: simulator.port,
            CONF_SSL: False,
            CONF_VERIFY_SSL: False,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.unique_id == unique_id
    assert init_integration.data[CONF_VERIFY_SSL] is False
    await hass.async_block_till_done()


def _suggested(result: Any) -> dict[str, Any]:
    """Return the values a form shows in its fields."""
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


@pytest.mark.parametrize(
    ("host", "port_field", "ssl_field"),
    [
        ("http://127.0.0.1:{port}/", 443, True),
        ("127.0.0.1:{port}", 443, False),
        ("  http://127.0.0.1:{port}/switchvox/  ", 1, True),
        (" 127.0.0.1 ", "{port}", False),
    ],
)
async def test_user_flow_pasted_address(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    host: str,
    port_field: int | str,
    ssl_field: bool,
) -> None:
    """A URL or host:port in the host field sets the host, the port and HTTPS from it."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    port = simulator.port
    user_input = _user_input(
        simulator,
        **{
            CONF_HOST: host.format(port=port),
            CONF_PORT: int(str(port_field).format(port=port)),
            CONF_SSL: ssl_field,
        },
    )
    with patch("custom_components.switchvox.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "101 @ 127.0.0.1"
    assert result["data"] == _user_input(simulator)


async def test_user_flow_pasted_address_shown_as_read(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """When the login fails, the form shows the address as it was read from the URL."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _user_input(simulator, **{CONF_HOST: "HTTP://127.0.0.1:1/", CONF_SSL: True}),
    )
    assert result["errors"] == {"base": "cannot_connect"}
    shown = _suggested(result)
    assert (shown[CONF_HOST], shown[CONF_PORT], shown[CONF_SSL]) == ("127.0.0.1", 1, False)


@pytest.mark.parametrize(
    ("host", "error"),
    [
        ("   ", "invalid_host"),
        ("pbx example lan", "invalid_host"),
        ("[pbx.example.lan]:8443", "invalid_host"),
        ("127.0.0.1:99999", "invalid_host_port"),
        ("127.0.0.1:https", "invalid_host_port"),
        ("ftp://127.0.0.1/", "invalid_host_scheme"),
        ("https://admin:secret@127.0.0.1/", "invalid_host_credentials"),
    ],
)
async def test_user_flow_invalid_address(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, host: str, error: str
) -> None:
    """What is no address gets an error on the host field, before any login; then it works."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator, **{CONF_HOST: host})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: error}
    assert _suggested(result)[CONF_HOST] == host  # left as typed, to be corrected
    assert not [r for r in simulator.requests if r[0] == "login"]
    with patch("custom_components.switchvox.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(simulator)
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.fixture
async def ipv6_simulator(ipv6_allowed: None) -> AsyncGenerator[SwitchvoxSimulator]:
    """Run a simulated PBX on ::1."""
    async with SwitchvoxSimulator("::1", 0) as sim:
        for extension, name, can_watch in ACCOUNTS:
            sim.add_account(extension, PASSWORD, name, can_watch=can_watch)
        yield sim


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
@pytest.mark.parametrize(
    ("host", "port_field"),
    [
        ("::1", "{port}"),
        ("[::1]", "{port}"),
        ("[::1]:{port}", 443),
        (" http://[::1]:{port}/ ", 443),
    ],
)
async def test_user_flow_ipv6_address(
    hass: HomeAssistant, ipv6_simulator: SwitchvoxSimulator, host: str, port_field: int | str
) -> None:
    """An IPv6 literal, with or without brackets and a port, is stored without brackets."""
    port = ipv6_simulator.port
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch("custom_components.switchvox.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            _user_input(
                ipv6_simulator,
                **{
                    CONF_HOST: host.format(port=port),
                    CONF_PORT: int(str(port_field).format(port=port)),
                },
            ),
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "101 @ ::1"
    assert result["data"] == _user_input(ipv6_simulator, **{CONF_HOST: "::1"})


async def test_reconfigure_pasted_address(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Reconfigure reads a pasted URL too, and shows a field error for what is no address."""
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "localhost:https", CONF_PORT: 443, CONF_SSL: True, CONF_VERIFY_SSL: True},
    )
    assert result["errors"] == {CONF_HOST: "invalid_host_port"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "http://LOCALHOST:1/", CONF_PORT: 443, CONF_SSL: True, CONF_VERIFY_SSL: True},
    )
    assert result["errors"] == {"base": "cannot_connect"}
    shown = _suggested(result)
    assert (shown[CONF_HOST], shown[CONF_PORT], shown[CONF_SSL]) == ("localhost", 1, False)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_HOST: f" http://127.0.0.1:{simulator.port}/ ",
            CONF_PORT: 443,
            CONF_SSL: True,
            CONF_VERIFY_SSL: False,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data[CONF_HOST] == "127.0.0.1"
    assert init_integration.data[CONF_PORT] == simulator.port
    assert init_integration.data[CONF_SSL] is False
    assert init_integration.data[CONF_PASSWORD] == PASSWORD
    await hass.async_block_till_done()


async def test_options_mistyped_extension_is_not_called_a_permission_problem(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A PBX refuses an extension that does not exist as it refuses a permission (-32001).

    The message the form shows covers both; so does the repair issue of a running entry.
    """
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101", "107"]}
    )
    assert result["errors"] == {CONF_EXTENSIONS: "not_authorized"}
    placeholders = result["description_placeholders"] or {}
    strings = await translation.async_get_translations(hass, "en", "options", {DOMAIN})
    shown = strings[f"component.{DOMAIN}.options.error.not_authorized"].format(**placeholders)
    assert "107" in shown
    assert "does not exist" in shown
    assert "permission" in shown
    issues = await translation.async_get_translations(hass, "en", "issues", {DOMAIN})
    issue = issues[f"component.{DOMAIN}.issues.extensions_not_authorized.description"]
    assert "does not exist" in issue
    assert "permission" in issue
