"""Hostile input through the real socket: the simulated PBX sends generated garbage to a live entry.

Every example goes over socket.io to the integration set up in Home Assistant; after it, a valid
notification for another extension must still reach its sensor, the session must not have
dropped, and what the integration keeps (channels, dial data, unknown statuses) stays bounded.
The number of examples run is printed (``pytest -s``) for the README.
"""

from functools import partial
import json
import time
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_bytes
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.switchvox.coordinator import SwitchvoxCoordinator
from custom_components.switchvox.rtapi import MAX_DIAL_DATA_BYTES, TOPIC_LINE_STATE
from custom_components.switchvox.rtapi.lines import (
    MAX_CHANNELS_PER_EXTENSION,
    MAX_UNKNOWN_STATUSES,
)
from custom_components.switchvox.rtapi.models import bounded_json_object, valid_text
from switchvox_simulator import SwitchvoxSimulator

from .conftest import wait_for

EXAMPLES = 500  # through the socket: about 20 s
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
MEGABYTE = 1 << 20
# aiohttp's default WebSocket max_msg_size is 4 MiB; allow for socket.io framing around it.
NEAR_MAX_MESSAGE = 4 * MEGABYTE - 64 * 1024
SENTINEL = "102"  # the extension whose sensor must keep working
LINE_SENTINEL = f"sensor.extension_{SENTINEL}_line"


def _nested(depth: int, leaf: Any) -> Any:
    """Return ``leaf`` wrapped in ``depth`` alternating lists and objects."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


unicode_text = st.text(
    st.characters(codec=None, exclude_categories=()), max_size=30
)  # surrogates, controls, RTL marks, NUL...
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | unicode_text
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(unicode_text, children, max_size=4)
    ),
    max_leaves=16,
)
hostile = (
    json_values
    | st.builds(lambda n: "x" * n, st.sampled_from([MEGABYTE, MAX_DIAL_DATA_BYTES + 1]))
    | st.builds(_nested, st.integers(min_value=50, max_value=400), scalars)
    | st.lists(st.just({"uniqueId": "u"}), min_size=1000, max_size=1000)
)
statuses = st.sampled_from(
    ["idle", "starting", "calling", "onThePhone", "ringing", "onHold", "parked", "", "RINGING"]
)
accounts = hostile | st.fixed_dictionaries(
    {},
    optional={
        "extension": st.sampled_from(["101", "103", "999"]) | hostile,
        "displayName": hostile,
        "accountId": hostile,
    },
)
line_params = st.fixed_dictionaries(
    {},
    optional={
        "uniqueId": st.sampled_from(["f.1", "f.2"]) | st.uuids().map(str) | hostile,
        "account": accounts,
        "status": statuses | unicode_text | hostile,
        "endpoint": hostile,
        "startTime": hostile | st.sampled_from(["2024-05-17T09:30:15Z", 1715938215, 1e400]),
        "serverTime": hostile,
        "remotes": st.lists(hostile | accounts, max_size=20) | hostile,
        "direction": st.sampled_from(["toPbx", "fromPbx", "sideways"]) | hostile,
        "dialData": hostile
        | st.dictionaries(unicode_text, hostile, max_size=3)
        | st.just({"blob": "y" * (MAX_DIAL_DATA_BYTES * 4)}),
        "conference": hostile,
        "intercom": hostile,
        "displayUrl": hostile,
        "queueId": accounts,
    },
)
# Valid enough to reach a line (and so the entities): only the other fields are hostile.
plausible_params: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "uniqueId": st.sampled_from(["p.1", "p.2", "p.3"]) | st.uuids().map(str),
        "account": st.fixed_dictionaries(
            {"extension": st.just("101")}, optional={"displayName": unicode_text | hostile}
        ),
        "status": statuses | unicode_text,
    },
    optional={
        "remotes": st.lists(
            st.dictionaries(
                st.sampled_from(["callerIdName", "callerIdNumber", "name", "account"]),
                unicode_text | hostile,
                max_size=3,
            ),
            max_size=3,
        ),
        "direction": st.sampled_from(["toPbx", "fromPbx"]) | unicode_text,
        "startTime": st.sampled_from(["2024-05-17T09:30:15Z", 1715938215]) | hostile,
        "dialData": st.dictionaries(unicode_text, unicode_text | hostile, max_size=3) | hostile,
    },
)
notifications = st.fixed_dictionaries(
    {"params": line_params | hostile},
    optional={
        "jsonrpc": st.just("2.0") | hostile,
        "method": st.just(TOPIC_LINE_STATE) | hostile,
        "id": hostile,
    },
)
responses = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.just("2.0") | hostile,
        "id": st.integers(min_value=0, max_value=10_000) | hostile,
        "result": hostile,
        "error": hostile
        | st.fixed_dictionaries({}, optional={"code": hostile, "message": hostile}),
    },
)
# (how to send, what): through a subscription (as the PBX's notification for 101), or as any
# socket.io event with any payload.
messages = st.one_of(
    st.tuples(st.just("notify"), plausible_params),
    st.tuples(st.just("notify"), line_params | hostile),
    st.tuples(st.just("notification"), notifications | hostile),
    st.tuples(st.just("response"), responses | hostile),
    st.tuples(st.sampled_from(["notification", "response", "request", "message"]), hostile),
)


class _Sentinel:
    """Valid notifications for the sentinel extension, alternating ringing and idle."""

    def __init__(self, simulator: SwitchvoxSimulator) -> None:
        self.simulator = simulator
        self.ringing = False
        self.serial = 0

    async def send(self) -> str:
        """Flip the sentinel line; return the sensor state this must produce."""
        self.ringing = not self.ringing
        if self.ringing:
            self.serial += 1
        params = self.simulator.pbx.default_params(SENTINEL, {})
        params["uniqueId"] = f"sentinel.{self.serial}"
        params["status"] = "ringing" if self.ringing else "idle"
        await self.simulator.notify(SENTINEL, params, raw=True)
        return "ringing" if self.ringing else "idle"


async def _deliver(simulator: SwitchvoxSimulator, how: str, payload: Any) -> None:
    """Send one generated message from the simulated PBX."""
    if how == "notify":
        await simulator.notify("101", payload, raw=True)
    else:
        await simulator.send_raw(how, payload)


def _check_bounded(hass: HomeAssistant, coordinator: SwitchvoxCoordinator) -> None:
    """Assert what the integration keeps is bounded and Home Assistant can serialise it."""
    for line in coordinator.data.values():
        assert len(line.channels) <= MAX_CHANNELS_PER_EXTENSION
        assert len(line.unknown_statuses) <= MAX_UNKNOWN_STATUSES
        for channel in line.channels.values():
            dial_data = channel.state.dial_data
            if dial_data is not None:
                assert len(json.dumps(dict(dial_data))) <= MAX_DIAL_DATA_BYTES
    assert all(
        len(line.unknown_statuses) <= MAX_UNKNOWN_STATUSES for line in coordinator.data.values()
    )
    for state in hass.states.async_all():
        json_bytes(state.as_dict())  # what the recorder, the frontend and restore state store


@pytest.fixture
async def live(
    fast_reconnect: None,
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
) -> dict[str, Any]:
    """Return the pieces an example needs, with counters for the report."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    return {
        "coordinator": coordinator,
        "sentinel": _Sentinel(simulator),
        "examples": 0,
        "drops": 0,
        "started": time.monotonic(),
    }


@FUZZ
@given(batch=st.lists(messages, min_size=1, max_size=3))
async def test_hostile_messages_through_the_socket(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    live: dict[str, Any],
    batch: list[tuple[str, Any]],
) -> None:
    """Garbage from the PBX crashes nothing, drops nothing, and the sentinel line still works.

    Only a message beyond the WebSocket size limit may close the connection (a memory bound);
    the session is then restored and the sentinel works again.
    """
    coordinator: SwitchvoxCoordinator = live["coordinator"]
    reconnects = coordinator.session.reconnects
    may_drop = max(len(json.dumps(payload)) for _, payload in batch) > NEAR_MAX_MESSAGE
    for how, payload in batch:
        await _deliver(simulator, how, payload)
    for attempt in range(2):
        expected = await live["sentinel"].send()
        try:
            await wait_for(hass, partial(_is_state, hass, LINE_SENTINEL, expected), timeout=3)
            break
        except TimeoutError:
            if not may_drop or attempt:
                pytest.fail(
                    f"sentinel not delivered: connected={coordinator.session.up} "
                    f"reconnects={coordinator.session.reconnects - reconnects} "
                    f"batch={[(how, repr(payload)[:200]) for how, payload in batch]}"
                )
            # The oversized message closed the connection: wait for the new session.
            await wait_for(hass, lambda: coordinator.session.up)
    assert coordinator.session.up
    if may_drop:
        live["drops"] += coordinator.session.reconnects - reconnects
    else:
        assert coordinator.session.reconnects == reconnects
    assert coordinator.client.pending_requests == 0
    _check_bounded(hass, coordinator)
    live["examples"] += 1
    if live["examples"] == EXAMPLES:
        print(  # noqa: T201
            f"\nRELIABILITY fuzz (socket): {live['examples']} examples, "
            f"{coordinator.client.malformed_messages} malformed messages dropped, "
            f"{live['drops']} reconnects after oversized messages, "
            f"{time.monotonic() - live['started']:.1f} s"
        )


async def test_oversized_message_restores_the_session(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A message beyond the 4 MiB WebSocket limit closes the connection; the session returns."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    params = simulator.pbx.default_params("101", {"remotes": [{"name": "x" * MEGABYTE}] * 5})
    await simulator.notify("101", params, raw=True)
    await wait_for(hass, lambda: coordinator.session.reconnects == 1 and coordinator.session.up)
    await simulator.ring(SENTINEL, caller_name="Still", caller_number="5550102")
    await wait_for(hass, lambda: _state(hass, LINE_SENTINEL) == "ringing")


def _is_state(hass: HomeAssistant, entity_id: str, expected: str | None) -> bool:
    """Return whether ``entity_id`` is in the ``expected`` state."""
    return _state(hass, entity_id) == expected


def _state(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return the state of an entity."""
    state = hass.states.get(entity_id)
    return state.state if state else None


async def test_lone_surrogates_become_valid_text(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    r"""Text Home Assistant cannot store (lone UTF-16 surrogates) is replaced, not passed on.

    JSON allows "\ud800"; Python decodes it to a str that orjson (recorder, frontend) refuses.
    """
    events = async_capture_events(hass, "switchvox_event")
    params = simulator.pbx.default_params("101", {})
    params.update(
        {
            "uniqueId": "s.\ud800",
            "status": "ringing",
            "account": {"extension": "101", "displayName": "Ann\udfff"},
            "remotes": [{"callerIdName": "Eve\ud800", "callerIdNumber": "555\udc00"}],
            "dialData": {"note\ud801": "hi\udbff", "list": ["\ud800"]},
        }
    )
    await simulator.notify("101", params, raw=True)
    await simulator.notify(
        "101", {**params, "uniqueId": "s.2", "status": "nonsense\ud800"}, raw=True
    )
    await wait_for(hass, lambda: hass.states.get("sensor.extension_101_line").state == "ringing")  # type: ignore[union-attr]
    state = hass.states.get("sensor.extension_101_line")
    assert state is not None
    json_bytes(state.as_dict())
    assert state.attributes["caller_name"].startswith("Eve")
    assert events
    json_bytes(events[0].data)
    json_bytes(hass.states.get("event.extension_101_call").as_dict())  # type: ignore[union-attr]
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    json_bytes(sorted(coordinator.data["101"].unknown_statuses))


async def test_distinct_unknown_statuses_stay_bounded(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A PBX inventing a new status every time grows neither memory nor the log without limit."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    for index in range(200):
        params = simulator.pbx.default_params("101", {"status": f"weird-{index}-" + "z" * 900})
        await simulator.notify("101", params, raw=True)
    await wait_for(hass, lambda: coordinator.session.notifications >= 200)
    _check_bounded(hass, coordinator)
    warnings = [r for r in caplog.records if "unknown line status" in r.getMessage()]
    assert len(warnings) <= MAX_UNKNOWN_STATUSES + 1


@settings(max_examples=300, deadline=None, database=None)
@given(value=st.dictionaries(unicode_text, json_values, max_size=4), text=unicode_text)
def test_text_and_dial_data_are_valid_unicode(value: dict[str, Any], text: str) -> None:
    """Whatever the PBX sends, the text and dial data we keep encode as UTF-8."""
    assert len(valid_text(text)) == len(text)
    valid_text(text).encode()
    frozen = bounded_json_object(value)
    if frozen is not None:
        json_bytes(dict(frozen))


async def test_deeply_nested_dial_data_is_dropped(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Dial data nested deeper than orjson accepts (254) is dropped; the call still shows."""
    params = simulator.pbx.default_params("101", {"dialData": {"deep": _nested(300, 1)}})
    await simulator.notify("101", params, raw=True)
    await wait_for(hass, lambda: _state(hass, "sensor.extension_101_line") == "ringing")
    state = hass.states.get("sensor.extension_101_line")
    assert state is not None
    assert state.attributes["dial_data"] is None
    json_bytes(state.as_dict())
