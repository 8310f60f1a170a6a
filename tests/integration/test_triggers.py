"""The call triggers and line conditions, in automations saved through the editor's config API."""

from collections.abc import Awaitable, Callable
import importlib
from pathlib import Path
import shutil
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import (
    area_registry as ar,
    condition as condition_helper,
    device_registry as dr,
    trigger as trigger_helper,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.switchvox.helpers import extension_device_key
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "switchvox"
LINE_101 = "sensor.extension_101_line"
LINE_102 = "sensor.extension_102_line"
MARIA = {"caller_name": "Maria Gonzalez", "caller_number": "212 555 0142"}
# What each automation hands the recording action: every trigger variable it should carry.
RECORD = {
    "action": "test.record",
    "data": {
        "automation": "{{ this.attributes.id }}",
        "caller_name": "{{ trigger.caller_name }}",
        "caller_number": "{{ trigger.caller_number }}",
        "extension": "{{ trigger.extension }}",
        "direction": "{{ trigger.direction }}",
        "call_id": "{{ trigger.call_id }}",
        "config_entry_id": "{{ trigger.config_entry_id }}",
        "entity_id": "{{ trigger.entity_id }}",
    },
}

type Save = Callable[[str, dict[str, Any]], Awaitable[None]]


def mock_service(hass: HomeAssistant, domain: str, service: str) -> list[ServiceCall]:
    """Record the calls of an action no integration of the test provides (the harness's)."""
    common = importlib.import_module("pytest_homeassistant_custom_component.common")
    calls: list[ServiceCall] = common.async_mock_service(hass, domain, service)
    return calls


@pytest.fixture
def recorded(hass: HomeAssistant) -> list[ServiceCall]:
    """Return the calls of test.record, the action of every automation here."""
    return mock_service(hass, "test", "record")


@pytest.fixture
async def office(hass: HomeAssistant, init_integration: MockConfigEntry) -> str:
    """Put extension 101 in the office and 102 in the lobby; return the office's area id."""
    areas = ar.async_get(hass)
    devices = dr.async_get(hass)
    office = areas.async_create("Office")
    lobby = areas.async_create("Lobby")
    for extension, area in (("101", office), ("102", lobby)):
        device = devices.async_get_device_by_identifier(
            ("switchvox", extension_device_key(init_integration, extension)),
            init_integration.entry_id,
        )
        assert device is not None
        devices.async_update_device(device.id, area_id=area.id)
    return office.id


@pytest.fixture
async def save(hass: HomeAssistant, tmp_path: Path, hass_client: ClientSessionGenerator) -> Save:
    """Return what the automation editor does on Save: POST the automation to the config API."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "configuration.yaml").write_text("automation: !include automations.yaml\n")
    (tmp_path / "automations.yaml").write_text("[]\n")
    assert await async_setup_component(hass, "automation", {"automation": []})
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()

    async def post(automation_id: str, config: dict[str, Any]) -> None:
        response = await client.post(
            f"/api/config/automation/config/{automation_id}",
            json={"alias": automation_id, "actions": [RECORD], **config},
        )
        assert response.status == 200, await response.text()
        await hass.async_block_till_done()
        assert state_of(hass, f"automation.{automation_id}") == "on"

    return post


def fired(calls: list[ServiceCall], automation: str) -> list[dict[str, Any]]:
    """Return the variables each run of ``automation`` recorded."""
    return [
        {key: str(value) for key, value in call.data.items()}
        for call in calls
        if call.data["automation"] == automation
    ]


async def settle(hass: HomeAssistant) -> None:
    """Let the automations that a change triggered run."""
    await hass.async_block_till_done()


@pytest.mark.usefixtures("office")
async def test_ringing_in_an_area_fires_once_per_ring_group_call(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    save: Save,
    recorded: list[ServiceCall],
    office: str,
    init_integration: MockConfigEntry,
) -> None:
    """A ring group ringing both phones of the target fires once; a phone outside never does."""
    await save(
        "office_rings",
        {"triggers": [{"trigger": "switchvox.ringing", "target": {"area_id": office}}]},
    )
    await save(
        "any_rings",
        {
            "triggers": [
                {"trigger": "switchvox.ringing", "target": {"entity_id": [LINE_101, LINE_102]}}
            ]
        },
    )
    first = await simulator.ring("101", **MARIA)
    await simulator.ring("102", **MARIA)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    await settle(hass)
    assert fired(recorded, "office_rings") == [
        {
            "automation": "office_rings",
            "caller_name": "Maria Gonzalez",
            "caller_number": "212 555 0142",
            "extension": "101",
            "direction": "incoming",
            "call_id": first,
            "config_entry_id": init_integration.entry_id,
            "entity_id": LINE_101,
        }
    ]
    # Both lines targeted, two phones of one call: once.
    assert [run["extension"] for run in fired(recorded, "any_rings")] == ["101"]

    # Only the lobby rings: the office's trigger stays quiet.
    await simulator.ring("102", caller_name="Sam Lee", caller_number="3125550199")
    await wait_for(hass, lambda: len(fired(recorded, "any_rings")) == 2)
    assert len(fired(recorded, "office_rings")) == 1
    assert [run["caller_name"] for run in fired(recorded, "any_rings")] == [
        "Maria Gonzalez",
        "Sam Lee",
    ]


@pytest.mark.usefixtures("init_integration")
async def test_ringing_filtered_by_caller_and_external(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, save: Save, recorded: list[ServiceCall]
) -> None:
    """Caller contains matches the name or the number; external skips internal callers."""
    target = {"entity_id": LINE_101}
    await save(
        "maria_by_number",
        {
            "triggers": [
                {
                    "trigger": "switchvox.ringing",
                    "target": target,
                    "options": {"caller": "555-0142"},
                }
            ]
        },
    )
    await save(
        "maria_by_name",
        {
            "triggers": [
                {"trigger": "switchvox.ringing", "target": target, "options": {"caller": "gonz"}}
            ]
        },
    )
    await save(
        "external",
        {
            "triggers": [
                {
                    "trigger": "switchvox.ringing",
                    "target": target,
                    "options": {"external_only": True},
                }
            ]
        },
    )
    uid = await simulator.ring("101", caller_name="Carol Chen", caller_number="103")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")
    assert recorded == []

    await simulator.ring("101", **MARIA)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    await settle(hass)
    assert len(fired(recorded, "maria_by_number")) == 1
    assert len(fired(recorded, "maria_by_name")) == 1
    assert len(fired(recorded, "external")) == 1


@pytest.mark.usefixtures("init_integration")
async def test_answered_ended_and_missed(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, save: Save, recorded: list[ServiceCall]
) -> None:
    """A ring group answered on one phone is answered and ends once, and is not missed."""
    target = {"entity_id": [LINE_101, LINE_102]}
    for step in ("answered", "ended", "missed"):
        await save(step, {"triggers": [{"trigger": f"switchvox.{step}", "target": target}]})
    await save(
        "missed_101",
        {"triggers": [{"trigger": "switchvox.missed", "target": {"entity_id": LINE_101}}]},
    )
    first = await simulator.ring("101", **MARIA)
    second = await simulator.ring("102", **MARIA)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    await simulator.answer(second)
    await simulator.hang_up(first)  # 101 stops ringing: 102 answered the call
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")
    await settle(hass)
    assert [run["extension"] for run in fired(recorded, "answered")] == ["102"]
    assert fired(recorded, "answered")[0]["call_id"] == first  # one call, the first channel's id
    assert fired(recorded, "ended") == []  # 102 is still on the phone
    assert fired(recorded, "missed") == fired(recorded, "missed_101") == []

    await simulator.hang_up(second)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    await settle(hass)
    assert [run["call_id"] for run in fired(recorded, "ended")] == [first]

    # Nobody answers: missed once for the group, and on 101's own trigger.
    uid = await simulator.ring("101", caller_name="Sam Lee", caller_number="3125550199")
    other = await simulator.ring("102", caller_name="Sam Lee", caller_number="3125550199")
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    await simulator.hang_up(uid)
    await simulator.hang_up(other)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    await settle(hass)
    assert [run["call_id"] for run in fired(recorded, "missed")] == [uid]
    assert [run["call_id"] for run in fired(recorded, "missed_101")] == [uid]
    assert [run["call_id"] for run in fired(recorded, "ended")] == [first, uid]
    assert len(fired(recorded, "answered")) == 1


@pytest.mark.usefixtures("init_integration")
async def test_placed_and_direction(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, save: Save, recorded: list[ServiceCall]
) -> None:
    """A call placed from a targeted phone fires placed; answered filters by direction."""
    simulator.outside_answer_delay = 60  # answered by the test, not by the simulator's timer
    target = {"entity_id": LINE_101}
    await save("placed", {"triggers": [{"trigger": "switchvox.placed", "target": target}]})
    await save(
        "placed_to_maria",
        {
            "triggers": [
                {
                    "trigger": "switchvox.placed",
                    "target": target,
                    "options": {"caller": "212 555 0142", "external_only": True},
                }
            ]
        },
    )
    await save(
        "answered_outgoing",
        {
            "triggers": [
                {
                    "trigger": "switchvox.answered",
                    "target": target,
                    "options": {"direction": "outgoing"},
                }
            ]
        },
    )
    await save(
        "answered_incoming",
        {
            "triggers": [
                {
                    "trigger": "switchvox.answered",
                    "target": target,
                    "options": {"direction": "incoming"},
                }
            ]
        },
    )
    uid, _ = await simulator.call("101", "2125550142", auto_answer=False)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "calling")
    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    await settle(hass)
    placed = fired(recorded, "placed")
    assert [(run["extension"], run["direction"], run["call_id"]) for run in placed] == [
        ("101", "outgoing", uid)
    ]
    # Filtered by number: once the PBX shows the number dialed (the calling status).
    assert [run["caller_number"] for run in fired(recorded, "placed_to_maria")] == ["2125550142"]
    assert [run["caller_number"] for run in fired(recorded, "answered_outgoing")] == ["2125550142"]
    assert fired(recorded, "answered_incoming") == []


@pytest.mark.usefixtures("office")
async def test_conditions_any_and_all(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, save: Save, recorded: list[ServiceCall]
) -> None:
    """Each line condition passes or not for any / all lines of a target, and by area."""
    both = {"entity_id": [LINE_101, LINE_102]}
    checks = {
        "any_idle": ("is_idle", both, "any"),
        "all_idle": ("is_idle", both, "all"),
        "any_ringing": ("is_ringing", both, "any"),
        "all_busy": ("is_busy", both, "all"),
        "any_on_the_phone": ("is_on_the_phone", both, "any"),
        "any_on_hold": ("is_on_hold", both, "any"),
        "office_busy": ("is_busy", {"area_id": "office"}, "any"),
    }
    for name, (condition, target, behavior) in checks.items():
        await save(
            name,
            {
                "triggers": [{"trigger": "event", "event_type": "check_lines"}],
                "conditions": [
                    {
                        "condition": f"switchvox.{condition}",
                        "target": target,
                        "options": {"behavior": behavior},
                    }
                ],
            },
        )

    async def passing() -> set[str]:
        recorded.clear()
        hass.bus.async_fire("check_lines")
        await settle(hass)
        return {call.data["automation"] for call in recorded}

    assert await passing() == {"any_idle", "all_idle"}

    uid = await simulator.ring("102", **MARIA)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    assert await passing() == {"any_idle", "any_ringing"}  # the lobby rings, not the office

    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "on_the_phone")
    other = await simulator.ring("101", caller_name="Sam Lee", caller_number="3125550199")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    assert await passing() == {"any_ringing", "all_busy", "any_on_the_phone", "office_busy"}

    await simulator.hold(uid)
    await simulator.hang_up(other)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "on_hold")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")
    assert await passing() == {"any_idle", "any_on_hold"}


@pytest.mark.usefixtures("init_integration")
async def test_the_editor_lists_them(hass: HomeAssistant) -> None:
    """Home Assistant's own description loader (what the editor asks) serves every one."""
    assert await async_setup_component(hass, "automation", {})
    triggers = await trigger_helper.async_get_all_descriptions(hass)
    conditions = await condition_helper.async_get_all_descriptions(hass)
    assert {key for key in triggers if key.startswith("switchvox.")} == {
        f"switchvox.{key}" for key in ("ringing", "answered", "ended", "missed", "placed")
    }
    assert {key for key in conditions if key.startswith("switchvox.")} == {
        f"switchvox.{key}"
        for key in ("is_idle", "is_ringing", "is_on_the_phone", "is_on_hold", "is_busy")
    }
    ringing = triggers["switchvox.ringing"]
    assert ringing is not None
    assert set(ringing["fields"]) == {"caller", "external_only"}


async def test_ringing_blueprint_runs_once_per_call(
    hass: HomeAssistant,
    tmp_path: Path,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    recorded: list[ServiceCall],
) -> None:
    """The ringing blueprint, on the new trigger: no extensions is every one, once per call."""
    folder = tmp_path / "blueprints" / "automation" / "switchvox"
    folder.mkdir(parents=True)
    shutil.copy(BLUEPRINTS / "ringing.yaml", folder)
    hass.config.config_dir = str(tmp_path)
    device_102 = dr.async_get(hass).async_get_device_by_identifier(
        ("switchvox", extension_device_key(init_integration, "102")), init_integration.entry_id
    )
    assert device_102 is not None
    action = {
        "action": "test.record",
        "data": {
            "automation": "{{ this.attributes.friendly_name }}",
            "extension": "{{ extension }}",
            "caller": "{{ caller }}",
            "direction": "{{ direction }}",
            "call_id": "{{ call_id }}",
        },
    }
    automations = [
        {
            "alias": alias,
            "use_blueprint": {
                "path": "switchvox/ringing.yaml",
                "input": {"extensions": extensions, "ringing_actions": [action]},
            },
        }
        for alias, extensions in (("every", []), ("only_102", [device_102.id]))
    ]
    assert await async_setup_component(hass, "automation", {"automation": automations})
    await hass.async_block_till_done()

    first = await simulator.ring("101", **MARIA)
    await simulator.ring("102", **MARIA)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    await settle(hass)
    assert fired(recorded, "every") == [
        {
            "automation": "every",
            "extension": "101",
            "caller": "Maria Gonzalez",
            "direction": "from_pbx",
            "call_id": first,
        }
    ]
    assert [run["extension"] for run in fired(recorded, "only_102")] == ["102"]
