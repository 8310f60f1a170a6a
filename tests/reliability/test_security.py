"""Credentials never leak (logs, diagnostics, errors shown to users); TLS; service input.

The life-cycle test runs everything the integration does with DEBUG logging on every logger that
could see a packet (root, the simulator's socketio_v4 and engineio_v3, aiohttp, the integration)
and searches every captured record: its message, its arguments and its exception text.
"""

import json
import logging
from pathlib import Path
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import voluptuous as vol

from custom_components.switchvox.const import (
    CONF_EXTENSION,
    CONF_EXTENSIONS,
    DOMAIN,
    SERVICE_DIAL,
)
from custom_components.switchvox.rtapi import MAX_DIAL_DATA_BYTES
from switchvox_simulator import SwitchvoxSimulator
from tests.conftest import PASSWORD

from .conftest import recovered, wait_for

NEW_PASSWORD = "n3w-Pa55-after-change"
SECRETS = (PASSWORD, NEW_PASSWORD)
LOGGERS = (
    "",
    "socketio_v4",
    "engineio_v3",
    "socketio",
    "engineio",
    "aiohttp",
    "custom_components.switchvox",
)
STRINGS = Path(__file__).parents[2] / "custom_components" / "switchvox" / "strings.json"


def _user_input(simulator: SwitchvoxSimulator, **overrides: Any) -> dict[str, Any]:
    """Return user step input for the simulator."""
    return {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: simulator.port,
        CONF_SSL: simulator.tls,
        CONF_VERIFY_SSL: True,
        CONF_EXTENSION: "101",
        CONF_PASSWORD: PASSWORD,
        **overrides,
    }


def _nested(depth: int) -> Any:
    """Return a list nested ``depth`` deep."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _leaks(text: str) -> list[str]:
    """Return the secrets found in ``text``."""
    return [secret for secret in SECRETS if secret in text]


def _record_text(record: logging.LogRecord) -> str:
    """Return everything a handler could print of a record."""
    parts = [record.getMessage(), repr(record.args), record.exc_text or "", record.stack_info or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def _check_error(err: HomeAssistantError) -> None:
    """Assert an error shown to the user carries no secret."""
    shown = f"{err} {err.translation_placeholders} {err!r}"
    cause = err.__cause__
    while cause is not None:
        shown += f" {cause} {cause!r}"
        cause = cause.__cause__
    assert not _leaks(shown), shown


async def test_password_never_leaks_over_the_life_cycle(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: SwitchvoxSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Config flow, setup, pushes, dial, drop, reauth, options, diagnostics and unload, at DEBUG."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    assert await async_setup_component(hass, "diagnostics", {})
    shown: list[Any] = []

    # Config flow: a wrong password first, then the right one (the entry is set up for real).
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator, **{CONF_PASSWORD: NEW_PASSWORD})
    )
    assert result["errors"] == {"base": "invalid_auth"}
    shown.append(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data

    # Pushes and dials, one refused with a message echoing the request.
    uid = await simulator.ring("101", caller_name="Sec", caller_number="5550100")
    await simulator.answer(uid)
    await simulator.hang_up(uid)
    await hass.services.async_call(
        DOMAIN, SERVICE_DIAL, {"extension": "102", "dial_data": {"k": "v"}}, blocking=True
    )
    simulator.set_error("dial", -32603, "Internal error")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, SERVICE_DIAL, {"extension": "102"}, blocking=True)
    _check_error(err.value)
    simulator.set_error("dial", None)

    # A PBX echoing the login params in its error while the session is being restored.
    simulator.set_error("login", -32602, f"Invalid params: {{'password': '{PASSWORD}'}}")
    await simulator.drop_connections()
    await wait_for(hass, lambda: coordinator.session.last_error is not None, timeout=10)
    await wait_for(hass, lambda: sum(1 for m, _ in simulator.requests if m == "login") >= 4)
    simulator.set_error("login", None)
    await wait_for(hass, lambda: recovered(coordinator, simulator, ("101",)), timeout=20)
    assert not _leaks(str(coordinator.session.last_error))

    # Diagnostics.
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert not _leaks(json.dumps(diagnostics))

    # Options flow (logs in with the stored password to check the extensions).
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101", "999"]}
    )
    shown.append(result)
    assert result["errors"] == {CONF_EXTENSIONS: "not_authorized"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_EXTENSIONS: ["101", "102"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    await wait_for(hass, lambda: recovered(coordinator, simulator))

    # Password changed on the PBX: drop, refused login, reauth with a wrong then the new one.
    simulator.set_password("101", NEW_PASSWORD)
    await simulator.drop_connections()
    await wait_for(
        hass,
        lambda: any(
            flow["context"]["source"] == SOURCE_REAUTH
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        ),
    )
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, SERVICE_DIAL, {"extension": "102"}, blocking=True)
    _check_error(err.value)
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_PASSWORD: PASSWORD}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    shown.append(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: NEW_PASSWORD}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await wait_for(hass, lambda: recovered(entry.runtime_data, simulator))

    # Unload (logs out).
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: simulator.sessions == 0)

    # The search.
    assert len(caplog.records) > 50
    for record in caplog.records:
        text = _record_text(record)
        assert not _leaks(text), f"{record.name}: {text[:500]}"
    assert not _leaks(caplog.text)
    for item in shown:
        assert not _leaks(repr(item)), item
    # The secret did go over the wire (the test is not vacuous), redacted only by the simulator.
    assert ("login", {"extension": "101", "password": "***"}) in simulator.requests


# -- TLS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("simulator_options", [{"tls": True}])
async def test_self_signed_certificate(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """Verification is on by default and fails clearly; turned off, the entry works over TLS."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    schema = result["data_schema"]
    assert schema is not None
    defaults = {
        str(key): key.default() for key in schema.schema if callable(getattr(key, "default", None))
    }
    assert defaults[CONF_VERIFY_SSL] is True
    assert defaults[CONF_SSL] is True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator)
    )
    assert result["errors"] == {"base": "certificate_verify_failed"}
    # The message names the option to turn off, by its label in the form.
    strings = json.loads(STRINGS.read_text())
    label = strings["config"]["step"]["user"]["data"][CONF_VERIFY_SSL]
    assert label in strings["config"]["error"]["certificate_verify_failed"]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator, **{CONF_VERIFY_SSL: False})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    await simulator.ring("101", caller_name="Tls", caller_number="5550143")
    await wait_for(
        hass,
        lambda: getattr(hass.states.get("sensor.extension_101_line"), "state", None) == "ringing",
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("simulator_options", [{"tls": True}])
async def test_self_signed_certificate_on_reconfigure(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """Reconfiguring to a self-signed PBX with verification on gives the same clear error."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(simulator, **{CONF_VERIFY_SSL: False})
    )
    entry = result["result"]
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, CONF_SSL: True, CONF_VERIFY_SSL: True},
    )
    assert result["errors"] == {"base": "certificate_verify_failed"}
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


# -- service input ------------------------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    "data",
    [
        {"extension": "102\n103"},
        {"extension": "102;103"},
        {"extension": "\u0661\u0660\u0662"},  # Arabic-Indic digits match \d, not [0-9]
        {"extension": "++102"},
        {"extension": 102.5},
        {"extension": ["102"]},
        {"extension": "102", "dial_data": ["a"]},
        {"extension": "102", "dial_data": 5},
        {"extension": "102", "dial_data": {"blob": "x" * (MAX_DIAL_DATA_BYTES - 10)}},
        {"extension": "102", "dial_data": {"blob": "\u00e9" * (MAX_DIAL_DATA_BYTES // 2)}},
        {"extension": "102", "dial_data": {"deep": _nested(40)}},
        {"extension": "102", "converged_device_id": ""},
        {"extension": "102", "converged_device_id": "d" * 129},
        {"extension": "102", "password": PASSWORD},
    ],
)
async def test_dial_input_refused(hass: HomeAssistant, data: dict[str, Any]) -> None:
    """Numbers that are not dialable and oversized or non-object dial data never reach the PBX."""
    with pytest.raises(vol.Invalid) as err:
        await hass.services.async_call(DOMAIN, SERVICE_DIAL, data, blocking=True)
    assert not _leaks(str(err.value))


async def test_dial_data_at_the_limit_is_accepted(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: Any
) -> None:
    """Dial data of exactly the limit (compact JSON bytes) passes and reaches the PBX intact.

    The limit counts the mark Home Assistant adds to its own calls: it comes back too.
    """
    dial_data = {"blob": "x" * (MAX_DIAL_DATA_BYTES - 11 - len(',"home_assistant":true'))}
    sent = {**dial_data, "home_assistant": True}
    assert len(json.dumps(sent, separators=(",", ":"))) == MAX_DIAL_DATA_BYTES
    await hass.services.async_call(
        DOMAIN, SERVICE_DIAL, {"extension": " 102 ", "dial_data": dial_data}, blocking=True
    )
    dial = next(params for method, params in simulator.requests if method == "dial")
    assert dial == {"extension": "102", "dialData": sent}
