"""The missed call, announce-the-caller and call-back blueprints, on real simulator calls."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
import importlib
from pathlib import Path
import shutil
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox.helpers import extension_device_key
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINTS = ROOT / "blueprints" / "automation" / "switchvox"
LINE_101 = "sensor.extension_101_line"
LINE_102 = "sensor.extension_102_line"
# Not watched by the test entry: a listed line that does not exist is no match.
LINE_103 = "sensor.extension_103_line"
MARIA = {"caller_name": "Maria Gonzalez", "caller_number": "2125550142"}
SPEAKERS = ["media_player.kitchen", "media_player.office"]


def async_mock_service(hass: HomeAssistant, domain: str, service: str) -> list[ServiceCall]:
    """Record the calls of an action no integration of the test provides (the harness's)."""
    common = importlib.import_module("pytest_homeassistant_custom_component.common")
    calls: list[ServiceCall] = common.async_mock_service(hass, domain, service)
    return calls


async def let_run(hass: HomeAssistant) -> None:
    """Let the automation run up to its delay (async_block_till_done would wait it out)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def wait(hass: HomeAssistant, seconds: float) -> None:
    """Let ``seconds`` pass for Home Assistant's timers."""
    common = importlib.import_module("pytest_homeassistant_custom_component.common")
    common.async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done()


async def use_blueprint(
    hass: HomeAssistant, tmp_path: Path, name: str, inputs: dict[str, Any]
) -> None:
    """Set up one automation from the repository's blueprint ``name``."""
    folder = tmp_path / "blueprints" / "automation" / "switchvox"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BLUEPRINTS / name, folder)
    hass.config.config_dir = str(tmp_path)
    config = {"automation": {"use_blueprint": {"path": f"switchvox/{name}", "input": inputs}}}
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()


async def settle(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``predicate`` holds, without waiting for automations in a delay to finish."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def ring(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, extension: str, **caller: str
) -> str:
    """Ring ``extension`` and wait until its line shows it."""
    uid = await simulator.ring(extension, **caller)
    await settle(lambda: state_of(hass, f"sensor.extension_{extension}_line") == "ringing")
    await let_run(hass)
    return uid


def device_of(hass: HomeAssistant, entry: MockConfigEntry, extension: str) -> str:
    """Return the device id of ``extension`` (what the blueprints' Extensions input takes)."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        ("switchvox", extension_device_key(entry, extension)), entry.entry_id
    )
    assert device is not None
    return device.id


async def idle(hass: HomeAssistant, *lines: str) -> None:
    """Wait until ``lines`` are idle and the automations their changes triggered have run."""
    await settle(lambda: all(state_of(hass, line) == "idle" for line in lines))
    await let_run(hass)


def record(hass: HomeAssistant) -> list[dict[str, str]]:
    """Register test.missed; return what each of its calls received, as text."""
    runs: list[dict[str, str]] = []

    @callback
    def remember(call: ServiceCall) -> None:
        runs.append({key: str(value) for key, value in call.data.items()})

    hass.services.async_register("test", "missed", remember)
    return runs


def missed_call_inputs(**inputs: Any) -> dict[str, Any]:
    """Return the missed call blueprint's inputs: an action recording its variables."""
    action = {
        "action": "test.missed",
        "data": {
            "automation": "{{ this.attributes.friendly_name }}",
            "caller": "{{ caller }}",
            "caller_number": "{{ caller_number }}",
            "extension": "{{ extension }}",
            "direction": "{{ direction }}",
            "call_id": "{{ call_id }}",
        },
    }
    return {"missed_actions": [action], **inputs}


ANSWERED_ELSEWHERE = {
    "answered_elsewhere_lines": [LINE_102, LINE_103],
    "answered_elsewhere_wait": 5,
}


async def test_missed_call_once_per_call(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    tmp_path: Path,
) -> None:
    """A ring group nobody answers runs it once (or on the chosen extension); answered, never."""
    runs = record(hass)
    folder = tmp_path / "blueprints" / "automation" / "switchvox"
    folder.mkdir(parents=True)
    shutil.copy(BLUEPRINTS / "missed_call.yaml", folder)
    hass.config.config_dir = str(tmp_path)
    device_102 = device_of(hass, init_integration, "102")
    automations = [
        {
            "alias": alias,
            "use_blueprint": {"path": "switchvox/missed_call.yaml", "input": inputs},
        }
        for alias, inputs in (
            ("every", missed_call_inputs()),
            ("only_102", missed_call_inputs(extensions=[device_102])),
        )
    ]
    assert await async_setup_component(hass, "automation", {"automation": automations})
    await hass.async_block_till_done()

    first = await ring(hass, simulator, "101", **MARIA)
    second = await ring(hass, simulator, "102", **MARIA)
    await simulator.hang_up(first)
    await simulator.hang_up(second)
    await idle(hass, LINE_101, LINE_102)
    assert runs == [
        {
            "automation": "every",
            "caller": "Maria Gonzalez",
            "caller_number": "2125550142",
            "extension": "101",
            "direction": "from_pbx",
            "call_id": first,
        },
        {
            "automation": "only_102",
            "caller": "Maria Gonzalez",
            "caller_number": "2125550142",
            "extension": "102",
            "direction": "from_pbx",
            "call_id": first,
        },
    ]

    # 102 answers the ring group's call: 101 stopping to ring is no missed call.
    runs.clear()
    first = await ring(hass, simulator, "101", caller_name="Sam Lee", caller_number="3125550199")
    second = await ring(hass, simulator, "102", caller_name="Sam Lee", caller_number="3125550199")
    await simulator.answer(second)
    await simulator.hang_up(first)
    await idle(hass, LINE_101)
    await simulator.hang_up(second)
    await idle(hass, LINE_102)
    assert runs == []


@pytest.mark.usefixtures("init_integration")
async def test_missed_call_skips_a_call_answered_elsewhere(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, tmp_path: Path
) -> None:
    """A listed line on the phone (or holding) with the caller after the wait: skipped."""
    runs = record(hass)
    await use_blueprint(
        hass, tmp_path, "missed_call.yaml", missed_call_inputs(**ANSWERED_ELSEWHERE)
    )
    # A hunt group: 101 rings out, then 102 rings and answers, within the wait.
    uid = await ring(hass, simulator, "101", **MARIA)
    await simulator.hang_up(uid)
    await idle(hass, LINE_101)
    answered = await ring(hass, simulator, "102", **MARIA)
    await simulator.answer(answered)
    await settle(lambda: state_of(hass, LINE_102) == "on_the_phone")
    await wait(hass, 6)
    assert runs == []
    await simulator.hang_up(answered)
    await idle(hass, LINE_102)

    # The same while the colleague holds the call.
    uid = await ring(hass, simulator, "101", caller_name="Sam Lee", caller_number="3125550199")
    await simulator.hang_up(uid)
    await idle(hass, LINE_101)
    held = await ring(hass, simulator, "102", caller_name="Sam Lee", caller_number="3125550199")
    await simulator.answer(held)
    await simulator.hold(held)
    await settle(lambda: state_of(hass, LINE_102) == "on_hold")
    await wait(hass, 6)
    assert runs == []


@pytest.mark.usefixtures("init_integration")
async def test_missed_call_keeps_a_call_nobody_answered(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, tmp_path: Path
) -> None:
    """Another caller on a listed line: the actions run, after the wait."""
    runs = record(hass)
    await use_blueprint(
        hass, tmp_path, "missed_call.yaml", missed_call_inputs(**ANSWERED_ELSEWHERE)
    )
    busy = await ring(hass, simulator, "102", caller_name="Sam Lee", caller_number="3125550199")
    await simulator.answer(busy)
    await settle(lambda: state_of(hass, LINE_102) == "on_the_phone")
    uid = await ring(hass, simulator, "101", **MARIA)
    await simulator.hang_up(uid)
    await idle(hass, LINE_101)
    assert runs == []  # still waiting
    await wait(hass, 6)
    assert [(run["caller"], run["extension"]) for run in runs] == [("Maria Gonzalez", "101")]


@pytest.mark.usefixtures("init_integration")
async def test_missed_call_never_skips_a_call_without_number(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, tmp_path: Path
) -> None:
    """A missed call without a caller number runs the actions at once: nothing to compare."""
    runs = record(hass)
    await use_blueprint(
        hass, tmp_path, "missed_call.yaml", missed_call_inputs(**ANSWERED_ELSEWHERE)
    )
    uid = await ring(hass, simulator, "101")
    await simulator.hang_up(uid)
    await idle(hass, LINE_101)  # no time passes: the run did not wait
    assert [(run["caller"], run["caller_number"]) for run in runs] == [("Unknown caller", "")]


@pytest.mark.usefixtures("init_integration")
async def test_announce_caller(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, tmp_path: Path
) -> None:
    """A ring is spoken on the speakers, by name or digit by digit; a ring group once."""
    speak = async_mock_service(hass, "tts", "speak")
    hass.states.async_set("input_boolean.home", "on")
    await use_blueprint(
        hass,
        tmp_path,
        "announce_caller.yaml",
        {
            "tts_engine": "tts.piper",
            "media_players": SPEAKERS,
            "only_when": [{"condition": "state", "entity_id": "input_boolean.home", "state": "on"}],
        },
    )
    await ring(hass, simulator, "101", caller_name="Maria Gonzalez", caller_number="2125550142")
    await ring(hass, simulator, "102", caller_name="Maria Gonzalez", caller_number="2125550142")
    assert len(speak) == 1  # one call ringing two phones: announced once
    assert speak[0].data == {
        "entity_id": ["tts.piper"],
        "media_player_entity_id": SPEAKERS,
        "message": "Call from Maria Gonzalez",
    }
    await wait(hass, 6)  # the quiet time is over
    await ring(hass, simulator, "102", caller_number="2125550199")
    assert speak[1].data["message"] == "Call from 2 1 2 5 5 5 0 1 9 9"
    await wait(hass, 6)
    hass.states.async_set("input_boolean.home", "off")
    await ring(hass, simulator, "101", caller_name="Bob")
    assert len(speak) == 2  # nobody home: not announced


async def test_announce_caller_once_per_call_without_quiet_time(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    tmp_path: Path,
) -> None:
    """No quiet time: a ring group is still one announcement; other extensions are not spoken."""
    speak = async_mock_service(hass, "tts", "speak")
    await use_blueprint(
        hass,
        tmp_path,
        "announce_caller.yaml",
        {
            "extensions": [device_of(hass, init_integration, "102")],
            "tts_engine": "tts.piper",
            "media_players": SPEAKERS,
            "quiet_time": 0,
        },
    )
    await ring(hass, simulator, "101", caller_name="Bob")
    assert speak == []  # 101 is not chosen
    await ring(hass, simulator, "101", **MARIA)
    await ring(hass, simulator, "102", **MARIA)
    await ring(hass, simulator, "102", **MARIA)
    assert [call.data["message"] for call in speak] == ["Call from Maria Gonzalez"]


@pytest.fixture
def phone(hass: HomeAssistant) -> tuple[str, list[ServiceCall]]:
    """Return a Companion app phone's device and the calls of its notify action.

    The mobile app integration itself needs camera libraries the test harness lacks; its
    device and its notify action (named after the device) are what the blueprint uses.
    """
    entry = MockConfigEntry(domain="mobile_app", title="Maria's phone")
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("mobile_app", "maria-phone")},
        name="Maria's phone",
        manufacturer="Google",
        model="Pixel",
    )
    return device.id, async_mock_service(hass, "notify", "mobile_app_maria_s_phone")


async def test_missed_call_call_back(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    phone: tuple[str, list[ServiceCall]],
    tmp_path: Path,
) -> None:
    """A missed call notifies the phone; its "Call back" button dials the caller on that PBX."""
    device_id, notified = phone
    await use_blueprint(hass, tmp_path, "missed_call_call_back.yaml", {"notify_device": device_id})
    uid = await ring(
        hass, simulator, "102", caller_name="Maria Gonzalez", caller_number="+12125550142"
    )
    await simulator.hang_up(uid)
    await settle(lambda: len(notified) == 1)
    notification = notified[0].data
    assert notification["title"] == "Missed call"
    assert notification["message"] == "Maria Gonzalez called extension 102"
    [button] = notification["data"]["actions"]
    assert button["title"] == "Call back"
    assert notification["data"]["tag"] == "switchvox-missed-+12125550142"

    # A ring group nobody answers: one notification for the call.
    first = await ring(hass, simulator, "101", caller_name="Sam Lee", caller_number="3125550199")
    second = await ring(hass, simulator, "102", caller_name="Sam Lee", caller_number="3125550199")
    await simulator.hang_up(first)
    await simulator.hang_up(second)
    await idle(hass, LINE_101, LINE_102)
    assert [call.data["message"] for call in notified[1:]] == ["Sam Lee called extension 101"]

    assert not [method for method, _ in simulator.requests if method == "dial"]
    hass.bus.async_fire("mobile_app_notification_action", {"action": "another notification's"})
    await let_run(hass)
    assert not [method for method, _ in simulator.requests if method == "dial"]
    hass.bus.async_fire("mobile_app_notification_action", {"action": button["action"]})
    await settle(lambda: any(method == "dial" for method, _ in simulator.requests))
    dial = next(params for method, params in simulator.requests if method == "dial")
    assert dial["extension"] == "+12125550142"  # the "+" kept
    await settle(lambda: state_of(hass, LINE_101) in ("starting", "calling"))

    # Without a number there is nothing to call back: a notification without a button.
    uid = await ring(hass, simulator, "102", caller_name="Front Desk")
    await simulator.hang_up(uid)
    await settle(lambda: len(notified) == 3)
    assert notified[2].data["message"] == "Front Desk called extension 102"
    assert notified[2].data["data"]["actions"] == []
    assert notified[2].data["data"]["tag"] == f"switchvox-missed-{uid}"  # the call's id
    await wait(hass, 3600)  # the first run's button expires: nothing left waiting
