"""The announce-the-caller and call-back blueprints, run over the simulated PBX."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
import importlib
from pathlib import Path
import shutil
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINTS = ROOT / "blueprints" / "automation" / "switchvox"
LINE_101 = "sensor.extension_101_line"
LINE_102 = "sensor.extension_102_line"
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
    await settle(lambda: len(notified) == 2)
    assert notified[1].data["message"] == "Front Desk called extension 102"
    assert notified[1].data["data"]["actions"] == []
    await wait(hass, 3600)  # the first run's button expires: nothing left waiting
