"""Property tests: arbitrary JSON-like input escapes parsing only as SwitchvoxMessageError."""

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from aioswitchvox import (
    TOPIC_LINE_STATE,
    LineState,
    LineStatus,
    RpcResponse,
    SwitchvoxClient,
    SwitchvoxMessageError,
)
from aioswitchvox.lines import (
    MAX_CHANNELS_PER_EXTENSION,
    MAX_UNKNOWN_STATUSES,
    LineTracker,
)
from aioswitchvox.models import MAX_ID_LENGTH, MAX_REMOTES, MAX_TEXT_LENGTH
from aioswitchvox.wire import decode_payload, encode_payload

from .helpers import parsed_content

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

EXTENSIONS = ("101", "102", "103")
STATUSES = [status.value for status in LineStatus] + ["parked", "", "RINGING"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
timestamps = (
    json_values
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.datetimes().map(datetime.isoformat)
    | st.sampled_from(["2024-05-17T09:30:15Z", "1715938215", "nan", "-inf", "1e400"])
)
accounts = json_values | st.fixed_dictionaries(
    {},
    optional={
        "extension": st.sampled_from(EXTENSIONS) | json_values,
        "displayName": json_values,
        "accountId": json_values,
    },
)
remotes = st.lists(
    json_values
    | st.dictionaries(
        st.sampled_from(["callerIdName", "callerIdNumber", "name", "number", "account"]),
        json_values | accounts,
        max_size=4,
    ),
    max_size=MAX_REMOTES + 4,
)

line_params = st.fixed_dictionaries(
    {},
    optional={
        "uniqueId": st.sampled_from(["1.1", "1.2", "1.3"]) | json_values,
        "account": accounts,
        "status": st.sampled_from(STATUSES) | json_values,
        "endpoint": json_values,
        "startTime": timestamps,
        "serverTime": timestamps,
        "remotes": remotes | json_values,
        "direction": st.sampled_from(["toPbx", "fromPbx", "up"]) | json_values,
        "dialData": json_values,
        "conference": json_values,
        "intercom": json_values,
        "displayUrl": json_values,
        "queueId": accounts,
    },
)
notifications = json_values | st.fixed_dictionaries(
    {"params": line_params | json_values},
    optional={
        "jsonrpc": st.just("2.0") | json_values,
        "method": st.just(TOPIC_LINE_STATE) | json_values,
    },
)
responses = json_values | st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.just("2.0"),
        "id": st.integers(min_value=0, max_value=3) | json_values,
        "result": json_values,
        "error": json_values
        | st.fixed_dictionaries({}, optional={"code": json_values, "message": json_values}),
    },
)


def check_line_state(state: LineState) -> None:
    """Assert the invariants of any parsed line state."""
    assert isinstance(state.status, LineStatus)
    assert 0 < len(state.unique_id) <= MAX_ID_LENGTH
    assert len(state.raw_status) <= MAX_TEXT_LENGTH
    assert len(state.extension) <= MAX_TEXT_LENGTH
    assert len(state.remotes) <= MAX_REMOTES
    received = datetime.now(UTC)
    call_start = state.call_start(received)
    assert call_start is None or call_start.tzinfo is not None


@FUZZ
@given(params=line_params | json_values)
def test_line_state_from_json(params: Any) -> None:
    """LineState.from_json returns a bounded state or raises SwitchvoxMessageError."""
    try:
        state = LineState.from_json(params)
    except SwitchvoxMessageError:
        return
    check_line_state(state)


def parse_result(params: object) -> str:
    """Return what parsing ``params`` gives (raw payloads of the models included), as text."""
    try:
        return parsed_content(LineState.from_json(params))
    except SwitchvoxMessageError as err:
        return f"error: {err}"


@FUZZ
@given(batch=st.lists(line_params | json_values, max_size=8))
def test_line_state_parses_alone(batch: list[Any]) -> None:
    """A parse depends on its params alone: the same in any order, nothing kept between them."""
    first = [parse_result(params) for params in batch]
    assert [parse_result(params) for params in batch[::-1]] == first[::-1]


@FUZZ
@given(data=responses)
def test_rpc_response_from_json(data: Any) -> None:
    """RpcResponse.from_json returns a response or raises SwitchvoxMessageError."""
    try:
        response = RpcResponse.from_json(data)
    except SwitchvoxMessageError:
        return
    assert isinstance(response.id, int | str)
    assert not isinstance(response.id, bool)
    assert response.error_code is None or isinstance(response.error_code, int)
    assert len(response.error_message) <= MAX_TEXT_LENGTH


@FUZZ
@given(
    messages=st.lists(
        st.tuples(
            st.sampled_from(["notification", "response"]),
            st.one_of(
                st.tuples(notifications),
                st.tuples(responses),
                st.lists(json_values, max_size=3).map(tuple),
            ),
        ),
        max_size=30,
    )
)
def test_client_event_handler(messages: list[tuple[str, tuple[Any, ...]]]) -> None:
    """The client's event handler never raises, and a LineTracker fed by it stays bounded."""
    client = SwitchvoxClient("127.0.0.1")
    tracker = LineTracker(EXTENSIONS)
    states: list[LineState] = []
    client.add_line_state_listener(states.append)
    client.add_line_state_listener(tracker.apply)
    for event, args in messages:
        client._handle_event(event, args)
    for state in states:
        check_line_state(state)
    for line in tracker.lines.values():
        assert len(line.channels) <= MAX_CHANNELS_PER_EXTENSION
        assert len(line.unknown_statuses) <= MAX_UNKNOWN_STATUSES
    assert client.pending_requests == 0


def test_tracker_bounded_under_flood() -> None:
    """Thousands of channels and unknown statuses never grow a line beyond its caps."""
    client = SwitchvoxClient("127.0.0.1")
    tracker = LineTracker(["101"])
    client.add_line_state_listener(tracker.apply)
    for index in range(5000):
        status = ("ringing", "onThePhone", "onHold", f"weird-{index}")[index % 4]
        params = {"uniqueId": f"u{index}", "account": {"extension": "101"}, "status": status}
        client._handle_event(
            "notification", ({"jsonrpc": "2.0", "method": TOPIC_LINE_STATE, "params": params},)
        )
    line = tracker.lines["101"]
    assert len(line.channels) == MAX_CHANNELS_PER_EXTENSION
    assert len(line.unknown_statuses) == MAX_UNKNOWN_STATUSES
    assert client.malformed_messages == 0


# Integers around the 64-bit limits (orjson turns those beyond into floats), lone surrogates.
edge_integers = st.sampled_from(
    [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**18, -(10**18), 10**19]
) | st.integers(min_value=-(2**66), max_value=2**66)
edge_text = st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=4)
documents = st.recursive(
    scalars | edge_integers | edge_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Every character but lone surrogates, which UTF-8 (what travels) cannot carry.
packets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@FUZZ
@given(sent=st.lists(packets, max_size=6))
def test_payload_round_trip(sent: list[str]) -> None:
    """Any text packets, non-BMP characters included, survive framing."""
    body = b"".join(encode_payload(packet) for packet in sent)
    if all(packet.isascii() for packet in sent):
        assert body == "".join(f"{len(packet)}:{packet}" for packet in sent).encode()
    assert decode_payload(body) == sent


@FUZZ
@given(body=st.binary(max_size=60) | st.builds(str.encode, st.text(max_size=60)))
def test_payload_decodes_or_raises_value_error(body: bytes) -> None:
    """Arbitrary bytes give packets or ValueError, nothing else."""
    try:
        decoded = decode_payload(body)
    except ValueError:
        return
    assert all(type(packet) is str for packet in decoded)
