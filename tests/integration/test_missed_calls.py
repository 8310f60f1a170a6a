"""Tests of the "Missed calls" to-do list, over the simulated PBX."""

from datetime import datetime
from typing import Any

from homeassistant.components.todo import DOMAIN as TODO_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.switchvox.const import DOMAIN, EVENT_SWITCHVOX, SERVICE_DIAL
from custom_components.switchvox.missed_calls import (
    MAX_ITEMS,
    STORAGE_VERSION,
    MissedCalls,
    normalize_number,
    storage_key,
)
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

MISSED = "todo.switchvox_127_0_0_1_missed_calls"
LINE_101 = "sensor.extension_101_line"
LINE_102 = "sensor.extension_102_line"
MARIA = {"caller_name": "Maria Gonzalez", "caller_number": "2125550142"}


class Clock:
    """A clock the test moves; the list reads the time from it."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry, now: str) -> None:
        self.now = datetime.fromisoformat(now)
        calls: MissedCalls = entry.runtime_data.missed_calls
        calls.clock = lambda: self.now

    def move_to(self, now: str) -> None:
        """Set the time."""
        self.now = datetime.fromisoformat(now)


@pytest.fixture
async def clock(hass: HomeAssistant, init_integration: MockConfigEntry) -> Clock:
    """Return the list's clock, at 2026-12-02 17:32:05 UTC, in a UTC Home Assistant."""
    await hass.config.async_set_time_zone("UTC")
    return Clock(hass, init_integration, "2026-12-02T17:32:05+00:00")


async def get_items(hass: HomeAssistant, status: str | None = None) -> list[dict[str, Any]]:
    """Return the list's items as the todo.get_items action (and Assist's LLM tool) sees them."""
    data: dict[str, Any] = {"entity_id": MISSED}
    if status:
        data["status"] = status
    result = await hass.services.async_call(
        TODO_DOMAIN, "get_items", data, blocking=True, return_response=True
    )
    response: dict[str, Any] = dict(result or {})
    items: list[dict[str, Any]] = response[MISSED]["items"]
    return items


async def miss(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, extension: str, **caller: str
) -> str:
    """Ring ``extension`` and hang up unanswered; return the channel."""
    line = f"sensor.extension_{extension}_line"
    uid = await simulator.ring(extension, **caller)
    await wait_for(hass, lambda: state_of(hass, line) == "ringing")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, line) == "idle")
    return uid


@pytest.mark.usefixtures("init_integration")
async def test_missed_call_makes_an_item(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, clock: Clock
) -> None:
    """A missed call adds "Call back <name>" with the number, the extension and the time."""
    assert state_of(hass, MISSED) == "0"
    bus = async_capture_events(hass, EVENT_SWITCHVOX)
    uid = await miss(hass, simulator, "102", **MARIA)
    assert state_of(hass, MISSED) == "1"
    # The list's write shares the context of the missed call's bus event: one cause to follow.
    missed_event = next(e for e in bus if e.data["call_event"] == "missed")
    assert missed_event.data["unique_id"] == uid
    listed = hass.states.get(MISSED)
    assert listed is not None
    assert listed.context is missed_event.context
    [item] = await get_items(hass)
    assert item["summary"] == "Call back Maria Gonzalez"
    assert item["status"] == "needs_action"
    assert item["description"] == "2125550142 called 102 at 2026-12-02 17:32"
    state = hass.states.get(MISSED)
    assert state is not None
    # The caller is in the list's items, never in its state.
    assert "2125550142" not in str(state.as_dict())


@pytest.mark.usefixtures("init_integration")
async def test_callers_without_a_name_or_a_number(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """Without a name the number is the summary; without either it says so."""
    await miss(hass, simulator, "101", caller_number="5550111")
    await miss(hass, simulator, "101")
    items = await get_items(hass)
    assert [item["summary"] for item in items] == [
        "Missed call from an unknown caller",
        "Call back 5550111",
    ]
    assert items[0]["description"].startswith("A caller without a number called 101 at ")


@pytest.mark.usefixtures("init_integration")
async def test_repeated_missed_call_counts_on_one_item(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, clock: Clock
) -> None:
    """A second missed call from the same number updates the open item: count, latest time."""
    await miss(hass, simulator, "102", **MARIA)
    [first] = await get_items(hass)
    clock.move_to("2026-12-02T17:45:00+00:00")
    await miss(hass, simulator, "101", **MARIA)
    [item] = await get_items(hass)
    assert item["uid"] == first["uid"]
    assert state_of(hass, MISSED) == "1"
    assert item["description"] == "2125550142 called 102, 101 2 times, the last at 2026-12-02 17:45"


@pytest.mark.usefixtures("init_integration")
async def test_answered_later_completes_the_item(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """The number answered later on another watched line completes its item."""
    await miss(hass, simulator, "102", **MARIA)
    uid = await simulator.ring("101", caller_name="Maria G.", caller_number="212 555 0142")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, MISSED) == "0")
    [item] = await get_items(hass, "completed")
    assert item["summary"] == "Call back Maria Gonzalez"
    assert "completed" in item
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")
    assert len(await get_items(hass, "completed")) == 1  # hung up after the answer: not missed


@pytest.mark.usefixtures("init_integration")
async def test_dialed_back_completes_the_item(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """Calling the number with switchvox.dial completes its item at once."""
    await miss(hass, simulator, "102", **MARIA)
    await miss(hass, simulator, "102", caller_number="5550111")
    await hass.services.async_call(DOMAIN, SERVICE_DIAL, {"extension": "2125550142"}, blocking=True)
    await hass.async_block_till_done()
    assert state_of(hass, MISSED) == "1"
    [open_item] = await get_items(hass, "needs_action")
    assert open_item["summary"] == "Call back 5550111"
    [done] = await get_items(hass, "completed")
    assert done["summary"] == "Call back Maria Gonzalez"


@pytest.mark.usefixtures("init_integration")
async def test_ring_group_makes_one_item(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """One call ringing two phones, missed on both, is one item counted once."""
    first = await simulator.ring("101", **MARIA)
    second = await simulator.ring("102", **MARIA)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    await simulator.hang_up(first)
    await simulator.hang_up(second)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    [item] = await get_items(hass)
    assert item["description"].startswith("2125550142 called 101, 102 at ")
    assert state_of(hass, MISSED) == "1"


async def test_hunt_group_within_the_grace_is_one_call(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, clock: Clock
) -> None:
    """A phone that starts ringing within 3 s of the last one's end is the same call; later not."""
    await miss(hass, simulator, "101", **MARIA)
    clock.move_to("2026-12-02T17:32:08+00:00")  # the hunt group moves on to 102
    await miss(hass, simulator, "102", **MARIA)
    [item] = await get_items(hass)
    assert item["description"] == "2125550142 called 101, 102 at 2026-12-02 17:32"
    clock.move_to("2026-12-02T17:32:12+00:00")  # 4 s later: the caller tried again
    await miss(hass, simulator, "101", **MARIA)
    [item] = await get_items(hass)
    assert item["description"] == "2125550142 called 101, 102 2 times, the last at 2026-12-02 17:32"


@pytest.mark.usefixtures("init_integration")
async def test_ring_group_answered_by_a_colleague(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """A call answered on one watched phone while it rang on another is not a missed call."""
    first = await simulator.ring("101", **MARIA)
    second = await simulator.ring("102", **MARIA)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    await simulator.answer(second)
    await simulator.hang_up(first)  # the PBX stops ringing the other phone: missed there
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")
    await simulator.hang_up(second)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    assert await get_items(hass) == []
    assert state_of(hass, MISSED) == "0"


async def test_items_survive_a_restart(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Items are stored; a reload (as a restart) shows them again, checked off or not."""
    await miss(hass, simulator, "102", **MARIA)
    await miss(hass, simulator, "101", caller_number="5550111")
    before = await get_items(hass)
    await hass.services.async_call(
        TODO_DOMAIN,
        "update_item",
        {"entity_id": MISSED, "item": before[1]["uid"], "status": "completed"},
        blocking=True,
    )
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[storage_key(init_integration.entry_id)]
    assert len(stored["data"]["items"]) == 2
    after = await get_items(hass)
    assert after[0] == before[0]
    assert after[1] == {**before[1], "status": "completed", "completed": after[1]["completed"]}
    assert state_of(hass, MISSED) == "1"


@pytest.fixture
def full_store(
    hass_storage: dict[str, Any], mock_config_entry: MockConfigEntry
) -> list[dict[str, Any]]:
    """Store MAX_ITEMS old missed calls for the entry, before it is set up."""
    items = [
        {
            "uid": f"old{index:03}",
            "number": f"555{index:04}",
            "name": None,
            "extensions": ["101"],
            "first_missed": "2026-01-01T00:00:00+00:00",
            "last_missed": f"2026-01-01T00:{index // 60:02}:{index % 60:02}+00:00",
            "ring_end": "2026-01-01T00:00:00+00:00",
            "count": 1,
            "completed": None,
            "summary": None,
        }
        for index in reversed(range(MAX_ITEMS))
    ]
    hass_storage[storage_key(mock_config_entry.entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": storage_key(mock_config_entry.entry_id),
        "data": {"items": items},
    }
    return items


@pytest.mark.usefixtures("full_store", "init_integration")
async def test_the_newest_items_stay(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """Beyond MAX_ITEMS the oldest item goes."""
    assert state_of(hass, MISSED) == str(MAX_ITEMS)
    await miss(hass, simulator, "101", **MARIA)
    items = await get_items(hass)
    assert len(items) == MAX_ITEMS
    assert items[0]["summary"] == "Call back Maria Gonzalez"
    assert items[1]["uid"] == f"old{MAX_ITEMS - 1:03}"
    assert "old000" not in {item["uid"] for item in items}


@pytest.mark.usefixtures("init_integration")
async def test_check_off_reopen_rename_and_delete(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """Items can be checked off, reopened, renamed and deleted; other changes are refused."""
    await miss(hass, simulator, "102", **MARIA)
    await miss(hass, simulator, "101", caller_number="5550111")
    maria, other = (item["uid"] for item in reversed(await get_items(hass)))

    async def update(**data: Any) -> None:
        await hass.services.async_call(
            TODO_DOMAIN, "update_item", {"entity_id": MISSED, **data}, blocking=True
        )

    await update(item="Call back Maria Gonzalez", status="completed")
    assert state_of(hass, MISSED) == "1"
    await update(item=maria, status="needs_action", rename="Call Maria about the invoice")
    assert state_of(hass, MISSED) == "2"
    await update(item=maria, status="needs_action")  # no change: still open, still renamed
    summaries = {item["uid"]: item["summary"] for item in await get_items(hass)}
    assert summaries[maria] == "Call Maria about the invoice"
    await hass.services.async_call(
        TODO_DOMAIN, "remove_item", {"entity_id": MISSED, "item": [other]}, blocking=True
    )
    assert [item["uid"] for item in await get_items(hass)] == [maria]
    assert state_of(hass, MISSED) == "1"
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            TODO_DOMAIN, "add_item", {"entity_id": MISSED, "item": "Call Bob"}, blocking=True
        )
    with pytest.raises(HomeAssistantError):
        await update(item="gone", status="completed")


@pytest.mark.usefixtures("init_integration")
async def test_assist_list_intents(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """Assist's built-in list intents reach the list: complete and remove; adding is refused."""
    assert await async_setup_component(hass, "intent", {})
    await miss(hass, simulator, "102", **MARIA)
    await miss(hass, simulator, "101", caller_number="5550111")
    name = "Switchvox 127.0.0.1 Missed calls"

    async def handle(intent_type: str, item: str) -> intent.IntentResponse:
        return await intent.async_handle(
            hass,
            "test",
            intent_type,
            {"name": {"value": name}, "item": {"value": item}},
        )

    response = await handle("HassListCompleteItem", "call back maria gonzalez")
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert state_of(hass, MISSED) == "1"
    await handle("HassListRemoveItem", "Call back 5550111")
    assert [item["summary"] for item in await get_items(hass, "completed")] == [
        "Call back Maria Gonzalez"
    ]
    assert await get_items(hass, "needs_action") == []
    with pytest.raises(intent.IntentError):
        await handle("HassListAddItem", "call Bob")


async def test_removing_the_entry_removes_its_store(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The stored missed calls go with the entry (written at unload, deleted at removal)."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await miss(hass, simulator, "102", **MARIA)
    key = storage_key(mock_config_entry.entry_id)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert len(hass_storage[key]["data"]["items"]) == 1
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


def test_normalize_number() -> None:
    """Separators are ignored when numbers are compared; nothing left is no number."""
    assert normalize_number("(212) 555-01.42") == "2125550142"
    assert normalize_number(" - ") is None
    assert normalize_number(None) is None


async def test_diagnostics_show_the_size_only(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    clock: Clock,
) -> None:
    """Diagnostics count the items; who called stays out (masked in the PBX's messages)."""
    await miss(hass, simulator, "102", **MARIA)
    clock.move_to("2026-12-02T17:40:00+00:00")
    await miss(hass, simulator, "101", **MARIA)
    await miss(hass, simulator, "101", caller_number="5550111")
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert result["missed_calls"] == {"items": 2, "open": 2, "counted_calls": 3}
    for secret in ("2125550142", "Maria", "5550111"):
        assert secret not in str(result)
