"""Tests of the line sensor, the call event entity, the bus event and the connectivity sensor."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.const import (
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.switchvox.const import DOMAIN, EVENT_SWITCHVOX
from custom_components.switchvox.coordinator import SwitchvoxCoordinator
from custom_components.switchvox.line_events import LineUpdate
from custom_components.switchvox.rtapi import LineChange
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

LINE_101 = "sensor.extension_101_line"
LINE_102 = "sensor.extension_102_line"
CALL_101 = "event.extension_101_call"
CALL_102 = "event.extension_102_call"
CONNECTION = "binary_sensor.switchvox_127_0_0_1_realtime_connection"
# Opened at import: reading the zone file is blocking I/O, not for the event loop.
PACIFIC = ZoneInfo("US/Pacific")


@pytest.mark.usefixtures("init_integration")
async def test_entities_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    mock_config_entry: MockConfigEntry,
    simulator: SwitchvoxSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """Entities, their registry entries and devices match the snapshot."""
    entries = er.async_entries_for_config_entry(entity_registry, mock_config_entry.entry_id)
    assert entries
    for entity_entry in sorted(entries, key=lambda e: e.entity_id):
        assert entity_entry == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = hass.states.get(entity_entry.entity_id)
        assert state == snapshot(name=f"{entity_entry.entity_id}-state")
        assert entity_entry.device_id
        device = device_registry.async_get(entity_entry.device_id)
        # The simulator's port is random: the URL is checked apart from the snapshot.
        assert device == snapshot(
            name=f"{entity_entry.entity_id}-device", exclude=props("configuration_url")
        )
        assert isinstance(device, dr.DeviceEntry)
        assert device.configuration_url in (None, f"http://127.0.0.1:{simulator.port}/")


@pytest.mark.parametrize(
    "simulator_options",
    [
        {"timestamp_format": "local", "timezone": PACIFIC},
        {"timestamp_format": "local", "timezone": PACIFIC, "clock_drift": -5000.0},
        {"timestamp_format": "iso_offset", "timezone": PACIFIC, "clock_drift": 11_820.0},
        {"timestamp_format": "epoch", "clock_drift": 11_820.0},
        {"timestamp_format": "epoch_ms", "clock_drift": -86_400.0},
    ],
    ids=["pacific_local", "pacific_local_slow", "pacific_offset_fast", "epoch_fast", "ms_slow"],
)
@pytest.mark.usefixtures("init_integration")
async def test_call_start_in_the_pbx_clock(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, simulator_options: dict[str, Any]
) -> None:
    """The call start shown is when the call began, whatever the PBX's zone and clock drift.

    A PBX in US/Pacific sending local times without a zone, and PBX clocks hours or a day off:
    the start is the PBX's own elapsed time taken back from the arrival of the notification.
    """
    before = datetime.now(UTC) - timedelta(seconds=1)
    uid = await simulator.ring("101", caller_name="Zed Zhou", caller_number="5550100")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    after = datetime.now(UTC) + timedelta(seconds=1)
    line = hass.states.get(LINE_101)
    assert line is not None
    call_start = datetime.fromisoformat(line.attributes["call_start"])
    assert before <= call_start <= after
    # Answered 2 s into the call (by the PBX's clock): the start stays where it was.
    simulator.pbx.channel(uid).start_time -= 2
    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    line = hass.states.get(LINE_101)
    assert line is not None
    assert datetime.fromisoformat(line.attributes["call_start"]) == call_start


@pytest.mark.usefixtures("init_integration")
async def test_incoming_call_events(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """An answered call fires ringing, answered, held and hung_up with caller data."""
    bus = async_capture_events(hass, EVENT_SWITCHVOX)
    uid = await simulator.ring("101", caller_name="Zed Zhou", caller_number="5550100")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    event_state = hass.states.get(CALL_101)
    assert event_state is not None
    assert event_state.attributes["event_type"] == "ringing"
    assert event_state.attributes["caller_name"] == "Zed Zhou"
    assert event_state.attributes["caller_number"] == "5550100"
    assert event_state.attributes["unique_id"] == uid
    line = hass.states.get(LINE_101)
    assert line is not None
    assert line.attributes["direction"] == "from_pbx"
    assert line.attributes["active_channels"] == 1
    assert line.attributes["call_start"] is not None

    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    await simulator.hold(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_hold")
    await simulator.resume(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")

    calls = [e.data["call_event"] for e in bus]
    assert calls == ["ringing", "answered", "held", None, "hung_up"]
    statuses = [(e.data["previous_status"], e.data["status"]) for e in bus]
    assert statuses == [
        ("idle", "ringing"),
        ("ringing", "on_the_phone"),
        ("on_the_phone", "on_hold"),
        ("on_hold", "on_the_phone"),
        ("on_the_phone", "idle"),
    ]
    first: Event[Any] = bus[0]
    device = dr.async_get(hass).async_get(first.data["device_id"])
    assert device is not None
    assert (DOMAIN, f"{first.data['config_entry_id']}_101") in device.identifiers
    assert first.data["extension"] == "101"
    assert first.data["unique_id"] == uid
    assert first.data["caller_name"] == "Zed Zhou"
    assert first.data["caller_number"] == "5550100"
    assert first.data["direction"] == "from_pbx"
    assert first.data["dial_data"] is None
    event_state = hass.states.get(CALL_101)
    assert event_state is not None
    assert event_state.attributes["event_type"] == "hung_up"


@pytest.mark.usefixtures("init_integration")
async def test_change_shares_one_context(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """A change's bus event and the states it writes share one context (one cause to follow)."""
    bus = async_capture_events(hass, EVENT_SWITCHVOX)
    uid = await simulator.ring("101", caller_name="Zed Zhou", caller_number="5550100")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    line, call = hass.states.get(LINE_101), hass.states.get(CALL_101)
    assert line is not None
    assert call is not None
    assert [event.data["unique_id"] for event in bus] == [uid]
    assert line.context is call.context is bus[0].context


async def test_failing_line_listener_spares_the_others(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A session subscriber that raises is logged; the line's entities still get the change."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data

    def failing(change: LineChange | None) -> None:
        raise RuntimeError("listener bug")

    remove = coordinator.session.subscribe(failing)
    await simulator.ring("101", caller_name="Zed Zhou", caller_number="5550100")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    remove()
    assert "Error handling a change of extension 101" in caplog.text
    assert "listener bug" in caplog.text
    assert coordinator.session.up


async def test_line_subscribers(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A subscriber hears its own line, or every line without one, until it is removed.

    The coordinator keeps no registry of its own: the entities subscribe in the session, and
    the update it built for a change (its context) is the one the change's entities share.
    """
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    everything: list[LineUpdate] = []
    only_102: list[LineUpdate] = []

    def keep(into: list[LineUpdate]) -> Callable[[LineChange | None], None]:
        return (
            lambda change: None if change is None else into.append(coordinator.line_update(change))
        )

    assert not hasattr(coordinator, "_line_listeners")
    remove_all = coordinator.session.subscribe(keep(everything))
    remove_102 = coordinator.session.subscribe(keep(only_102), "102")
    first = await simulator.ring("101", caller_name="Zed Zhou", caller_number="5550100")
    second = await simulator.ring("102", caller_name="Yan Yu", caller_number="5550101")
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    assert [update.change.state.unique_id for update in everything] == [first, second]
    assert [update.change.extension for update in only_102] == ["102"]
    assert only_102[0] is everything[1]
    line = hass.states.get(LINE_102)
    assert line is not None
    assert line.context is only_102[0].context
    assert only_102[0].details["caller_name"] == "Yan Yu"
    remove_all()
    remove_102()
    await simulator.hang_up(second)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    assert len(everything) == 2
    assert len(only_102) == 1


@pytest.mark.usefixtures("init_integration")
async def test_missed_call(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """A call that rang and ended unanswered fires missed."""
    uid = await simulator.ring("102", caller_name="Ann", caller_number="5550111")
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    event_state = hass.states.get(CALL_102)
    assert event_state is not None
    assert event_state.attributes["event_type"] == "missed"
    assert event_state.attributes["caller_name"] == "Ann"


@pytest.mark.usefixtures("init_integration")
async def test_several_channels(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """A call on hold and another ringing show ringing; one ending keeps the other."""
    held = await simulator.ring("101", caller_name="First", caller_number="5550001")
    await simulator.answer(held)
    await simulator.hold(held)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_hold")
    ringing = await simulator.ring("101", caller_name="Second", caller_number="5550002")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    line = hass.states.get(LINE_101)
    assert line is not None
    assert line.attributes["active_channels"] == 2
    assert line.attributes["caller_name"] == "Second"
    await simulator.hang_up(ringing)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_hold")
    line = hass.states.get(LINE_101)
    assert line is not None
    assert line.attributes["caller_name"] == "First"
    await simulator.hang_up(held)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")


@pytest.mark.usefixtures("init_integration")
async def test_internal_call_dialing(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """An internal call shows calling on the caller and ringing on the callee."""
    a_uid, b_uid = await simulator.call("101", "102")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "calling")
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    event_state = hass.states.get(CALL_101)
    assert event_state is not None
    assert event_state.attributes["event_type"] == "dialing"
    assert b_uid is not None
    await simulator.answer(b_uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "on_the_phone")
    await simulator.hang_up(a_uid)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    assert state_of(hass, LINE_101) == "idle"


@pytest.mark.usefixtures("init_integration")
async def test_connectivity_sensor(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """The connectivity sensor stays available and follows the session.

    The call event keeps its last event (tests/integration/test_logbook.py says why).
    """
    assert state_of(hass, CONNECTION) == STATE_ON
    simulator.set_accepting(False)
    await simulator.drop_connections()
    await wait_for(hass, lambda: state_of(hass, CONNECTION) == STATE_OFF)
    assert state_of(hass, LINE_101) == STATE_UNAVAILABLE
    assert state_of(hass, CALL_101) == STATE_UNKNOWN
    simulator.set_accepting(True)
    await wait_for(hass, lambda: state_of(hass, CONNECTION) == STATE_ON, timeout=10)
    assert state_of(hass, LINE_101) == "idle"
    assert state_of(hass, CALL_101) == STATE_UNKNOWN


async def test_line_subscribers_hear_the_session(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """The session going down and up reaches every subscriber once, as None (no change)."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    heard_102: list[LineChange | None] = []
    heard_all: list[LineChange | None] = []
    remove_102 = coordinator.session.subscribe(heard_102.append, "102")
    remove_all = coordinator.session.subscribe(heard_all.append)
    simulator.set_accepting(False)
    await simulator.drop_connections()
    await wait_for(hass, lambda: state_of(hass, LINE_102) == STATE_UNAVAILABLE)
    assert heard_102 == heard_all == [None]
    simulator.set_accepting(True)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle", timeout=10)
    assert heard_102 == heard_all == [None, None]
    assert coordinator.missed_calls.items == []
    remove_102()
    remove_all()


@pytest.mark.usefixtures("init_integration")
async def test_unknown_status_keeps_last_state(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An undocumented status keeps the line's last state and is logged once."""
    await simulator.notify("101", {"uniqueId": "u-1", "status": "ringing"})
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    for _ in range(3):
        await simulator.notify("101", {"uniqueId": "u-1", "status": "parkedOnMars"})
    await simulator.notify("102", {"uniqueId": "u-2", "status": "ringing"})
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    assert state_of(hass, LINE_101) == "ringing"
    assert caplog.text.count("parkedOnMars") == 1
    await simulator.notify("101", {"uniqueId": "u-1", "status": "idle"})
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")


@pytest.mark.usefixtures("init_integration")
async def test_update_entity_keeps_pushed_state(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """Asking for an update does not poll the PBX or lose pushed state."""
    assert await async_setup_component(hass, "homeassistant", {})
    await simulator.ring("101", caller_name="Keep", caller_number="5550003")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    requests = len(simulator.requests)
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": LINE_101}, blocking=True
    )
    assert state_of(hass, LINE_101) == "ringing"
    assert len(simulator.requests) == requests


@pytest.mark.usefixtures("init_integration")
async def test_update_entity_while_down_stays_unavailable(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """Asking for an update during an outage does not make the lines available."""
    assert await async_setup_component(hass, "homeassistant", {})
    simulator.set_accepting(False)
    await simulator.drop_connections()
    await wait_for(hass, lambda: state_of(hass, LINE_101) == STATE_UNAVAILABLE)
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": LINE_101}, blocking=True
    )
    await hass.async_block_till_done()
    assert state_of(hass, LINE_101) == STATE_UNAVAILABLE
    assert state_of(hass, CONNECTION) == STATE_OFF
    simulator.set_accepting(True)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle", timeout=10)
