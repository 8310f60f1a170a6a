"""Tests that the shipped English translations are the strings the code refers to."""

from __future__ import annotations

import json
from pathlib import Path
import re

from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox.const import DIRECTION_OPTIONS, DOMAIN
from custom_components.switchvox.rtapi.lines import CallEvent
from custom_components.switchvox.sensor import LINE_STATUS_DESCRIPTION
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

PACKAGE = Path(__file__).parents[2] / "custom_components" / "switchvox"


def _load(name: str) -> dict[str, object]:
    """Return a JSON file of the integration package."""
    data: dict[str, object] = json.loads((PACKAGE / name).read_text(encoding="utf-8"))
    return data


def test_english_translation_is_strings_json() -> None:
    """translations/en.json (what Home Assistant loads) is a copy of strings.json."""
    assert _load("translations/en.json") == _load("strings.json")


@pytest.mark.parametrize("name", ["strings.json", "icons.json"])
def test_every_state_is_named(name: str) -> None:
    """Each line status and call event type has a translation and an icon."""
    entity = _load(name)["entity"]
    assert isinstance(entity, dict)
    line = entity["sensor"]["line_status"]["state"]
    assert set(line) == set(LINE_STATUS_DESCRIPTION.options or [])
    call = entity["event"]["call"]["state_attributes"]["event_type"]["state"]
    assert set(call) == {event.value for event in CallEvent}


def _keys(node: object, path: str = "") -> list[tuple[str, str]]:
    """Return every (path, key) below ``node`` whose key hassfest requires in snake_case."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((path, key))
            found.extend(_keys(value, f"{path}.{key}"))
    return found


@pytest.mark.parametrize("name", ["strings.json", "icons.json"])
def test_translation_keys_are_snake_case(name: str) -> None:
    """Hassfest's rule: entity, state and attribute value keys match [a-z0-9_-] (so 'to_pbx')."""
    entity = _load(name)["entity"]
    bad = [f"{path}.{key}" for path, key in _keys(entity) if not re.fullmatch(r"[a-z0-9_-]+", key)]
    assert not bad


def test_direction_values_are_translated() -> None:
    """Every direction the attribute can take has a translated state."""
    entity = _load("strings.json")["entity"]
    assert isinstance(entity, dict)
    states = entity["sensor"]["line_status"]["state_attributes"]["direction"]["state"]
    assert set(states) == set(DIRECTION_OPTIONS.values())


def test_assist_and_setup_messages_exist() -> None:
    """The messages Assist speaks and permanent setup errors show are translated."""
    exceptions = _load("strings.json")["exceptions"]
    assert isinstance(exceptions, dict)
    for key in (
        "assist_calling",
        "assist_number_ambiguous",
        "assist_number_not_allowed",
        "assist_unknown_name",
        "certificate_verify_failed",
        "api_not_allowed",
    ):
        assert "message" in exceptions[key]


def test_verify_ssl_says_it_needs_https() -> None:
    """The certificate box stays on the form for http:// too: its description says it is unused."""
    steps = _load("strings.json")["config"]
    assert isinstance(steps, dict)
    for step in ("user", "reconfigure"):
        description = steps["step"][step]["data_description"]["verify_ssl"]
        assert "Without HTTPS" in description
        assert "no effect" in description


async def test_call_event_attributes_are_translated(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Every attribute of the call event is named, and its direction shown as the sensor's is.

    The frontend names attributes and their values from these texts; without them the event's
    details showed "Direction: to_pbx" where the line sensor shows "Incoming".
    """
    uid = await simulator.ring("102", caller_name="Maria Gonzalez", caller_number="2125550142")
    await wait_for(hass, lambda: state_of(hass, "event.extension_102_call") != "unknown")
    await simulator.hang_up(uid)
    state = hass.states.get("event.extension_102_call")
    assert state is not None
    strings = await translation.async_get_translations(hass, "en", "entity", {DOMAIN})
    prefix = f"component.{DOMAIN}.entity.event.call.state_attributes"
    for attribute in set(state.attributes) - {"event_types", "friendly_name", "event_type"}:
        assert f"{prefix}.{attribute}.name" in strings, attribute
    sensor = f"component.{DOMAIN}.entity.sensor.line_status.state_attributes.direction.state"
    for value in DIRECTION_OPTIONS.values():
        assert strings[f"{prefix}.direction.state.{value}"] == strings[f"{sensor}.{value}"]
    assert strings[f"{prefix}.direction.state.{state.attributes['direction']}"] == "Incoming"
