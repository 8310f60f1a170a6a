"""Tests that the shipped English translations are the strings the code refers to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.switchvox.rtapi.lines import CallEvent
from custom_components.switchvox.sensor import LINE_STATUS_DESCRIPTION

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
