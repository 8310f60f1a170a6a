"""Unit tests of the typed, immutable models and their defensive parsing."""

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from aioswitchvox import (
    MAX_DIAL_DATA_BYTES,
    MAX_DIAL_DATA_DEPTH,
    Account,
    Direction,
    Endpoint,
    LineState,
    LineStatus,
    Remote,
    RpcResponse,
    SwitchvoxAlreadyAuthenticatedError,
    SwitchvoxAuthenticationError,
    SwitchvoxError,
    SwitchvoxLoginNotAllowedError,
    SwitchvoxLoginRefusedError,
    SwitchvoxMessageError,
    SwitchvoxNotAuthorizedError,
    SwitchvoxRequestNotAllowedError,
    SwitchvoxRpcError,
    SwitchvoxSessionExpiredError,
    parse_timestamp,
)
from aioswitchvox.exceptions import rpc_error_from_code
from aioswitchvox.models import (
    MAX_ID_LENGTH,
    MAX_REMOTES,
    MAX_TEXT_LENGTH,
    bounded_json_object,
)
from switchvox_simulator import format_timestamp

WHEN = datetime(2024, 5, 17, 9, 30, 15, tzinfo=UTC)


def line_params(**overrides: Any) -> dict[str, Any]:
    """Return complete line state params as the vendor documents them."""
    params: dict[str, Any] = {
        "uniqueId": "1715938215.42",
        "account": {"extension": "101", "accountId": "1101", "displayName": "Alice Archer"},
        "endpoint": {"id": "ep-101", "name": "SIP/101"},
        "startTime": "2024-05-17T09:30:15Z",
        "serverTime": 1715938215,
        "status": "ringing",
        "remotes": [{"callerIdName": "Zed", "callerIdNumber": "5550100"}],
        "direction": "fromPbx",
        "dialData": {"ticket": 7},
        "conference": {"room": "800"},
        "intercom": {"page": "900"},
        "displayUrl": "https://crm.example/7",
        "queueId": {"extension": "600", "displayName": "Sales"},
    }
    params.update(overrides)
    return params


# -- enums ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [s for s in LineStatus if s is not LineStatus.UNKNOWN])
def test_line_status_parse_known(status: LineStatus) -> None:
    """Every documented status parses to its member."""
    assert LineStatus.parse(status.value) is status


@pytest.mark.parametrize("value", ["parked", "", "RINGING", 3, None, ["ringing"]])
def test_line_status_parse_unknown(value: object) -> None:
    """Undocumented or non-text statuses parse to UNKNOWN."""
    assert LineStatus.parse(value) is LineStatus.UNKNOWN


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("toPbx", Direction.TO_PBX),
        ("fromPbx", Direction.FROM_PBX),
        ("sideways", Direction.UNKNOWN),
        (1, Direction.UNKNOWN),
    ],
)
def test_direction_parse(value: object, expected: Direction | None) -> None:
    """Direction is None when absent and UNKNOWN when unrecognised."""
    assert Direction.parse(value) is expected


# -- accounts, endpoints, remotes -----------------------------------------------------------------


def test_account_from_object() -> None:
    """An account object yields extension, id and display name; keys it does not name are left."""
    data = {"extension": " 101 ", "accountId": 1101, "displayName": "Alice", "x": 1}
    account = Account.from_json(data)
    assert account == Account("101", "1101", "Alice")
    assert repr(account) == "Account(extension='101', account_id='1101', name='Alice')"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"extension": "101", "id": "9", "name": "Al"}, Account("101", "9", "Al")),
        ({"extension": 101, "fullName": "Alice A"}, Account("101", None, "Alice A")),
        ("102", Account("102")),
        (103, Account("103")),
    ],
)
def test_account_alternative_shapes(data: object, expected: Account) -> None:
    """Alternative key names, bare strings and numbers are accepted."""
    assert Account.from_json(data) == expected


@pytest.mark.parametrize(
    "data",
    [None, True, "", "   ", [], {}, {"extension": ""}, {"extension": True}, {"name": "x"}],
)
def test_account_unusable(data: object) -> None:
    """Anything without a usable extension is not an account."""
    assert Account.from_json(data) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"id": "ep1", "name": "SIP/101"}, Endpoint("ep1", "SIP/101")),
        ({"endpointId": 7, "label": "Desk"}, Endpoint("7", "Desk")),
        ("SIP/102", Endpoint(None, "SIP/102")),
        (None, None),
        (5, None),
    ],
)
def test_endpoint_from_json(data: object, expected: Endpoint | None) -> None:
    """Endpoints accept objects and bare names."""
    assert Endpoint.from_json(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"callerIdName": "Zed", "callerIdNumber": "555"}, Remote("Zed", "555")),
        ({"caller_id_name": "Y", "caller_id_number": 556}, Remote("Y", "556")),
        ({"name": "  ", "displayName": "D", "number": "7"}, Remote("D", "7")),
        (
            {"account": {"extension": "102", "displayName": "Bob"}},
            Remote("Bob", "102"),
        ),
        (
            {"callerIdName": "Own", "account": {"extension": "102", "name": "Bob"}},
            Remote("Own", "102"),
        ),
        ({"account": "not an object"}, Remote()),
        ({}, Remote()),
    ],
)
def test_remote_from_json(data: object, expected: Remote) -> None:
    """Caller id is found under several key names, then in the remote's account."""
    assert Remote.from_json(data) == expected


@pytest.mark.parametrize("data", [None, "Zed", 1, []])
def test_remote_not_an_object(data: object) -> None:
    """A remote that is not an object is skipped."""
    assert Remote.from_json(data) is None


# -- line states ----------------------------------------------------------------------------------


def test_line_state_full() -> None:
    """Every documented field is parsed."""
    state = LineState.from_json(line_params())
    assert state.unique_id == "1715938215.42"
    assert state.extension == "101"
    assert state.account.name == "Alice Archer"
    assert state.status is LineStatus.RINGING
    assert state.raw_status == "ringing"
    assert state.endpoint == Endpoint("ep-101", "SIP/101")
    assert state.start_time == WHEN
    assert state.server_time == WHEN
    assert state.caller == Remote("Zed", "5550100")
    assert state.direction is Direction.FROM_PBX
    assert state.dial_data == {"ticket": 7}
    assert state.conference == {"room": "800"}
    assert state.intercom == {"page": "900"}
    assert state.display_url == "https://crm.example/7"
    assert state.queue == Account("600", None, "Sales")


def test_line_state_minimal() -> None:
    """Only uniqueId, account and status are required; the rest defaults."""
    state = LineState.from_json({"uniqueId": 17, "account": {"extension": "101"}, "status": "idle"})
    assert state == LineState("17", Account("101"), LineStatus.IDLE, "idle")
    assert state.caller is None
    assert state.endpoint is None
    assert state.start_time is None
    assert state.direction is None
    assert state.dial_data is None
    assert state.queue is None


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (None, "not an object"),
        ([1, 2], "not an object"),
        ("ringing", "not an object"),
        (line_params(uniqueId=None), "uniqueId"),
        (line_params(uniqueId=""), "uniqueId"),
        (line_params(uniqueId=["x"]), "uniqueId"),
        (line_params(account=None), "account"),
        (line_params(account={"displayName": "No extension"}), "account"),
        (line_params(status=None), "status"),
        (line_params(status=3), "status"),
    ],
)
def test_line_state_unusable(params: object, reason: str) -> None:
    """Params without the required fields raise SwitchvoxMessageError."""
    with pytest.raises(SwitchvoxMessageError, match=reason):
        LineState.from_json(params)


def test_line_state_unknown_status_keeps_raw_value() -> None:
    """An undocumented status maps to UNKNOWN and keeps the raw value."""
    state = LineState.from_json(line_params(status="parked"))
    assert state.status is LineStatus.UNKNOWN
    assert state.raw_status == "parked"


def test_line_state_wrong_types_degrade() -> None:
    """Optional fields of the wrong type are dropped instead of failing the message."""
    state = LineState.from_json(
        line_params(
            endpoint=[1],
            startTime={"t": 1},
            serverTime="yesterday",
            remotes="Zed",
            direction=5,
            dialData="ticket=7",
            conference=[],
            intercom="page",
            displayUrl=42,
            queueId=[],
        )
    )
    assert state.endpoint is None
    assert state.start_time is None
    assert state.server_time is None
    assert state.remotes == ()
    assert state.direction is Direction.UNKNOWN
    assert state.dial_data is None
    assert state.conference is None
    assert state.intercom is None
    assert state.display_url is None
    assert state.queue is None


def test_line_state_remotes_filtered_and_capped() -> None:
    """Non-object remotes are skipped and at most MAX_REMOTES are kept."""
    remotes: list[Any] = ["junk", None, *({"number": str(i)} for i in range(MAX_REMOTES * 2))]
    state = LineState.from_json(line_params(remotes=remotes))
    assert len(state.remotes) == MAX_REMOTES - 2
    assert state.caller == Remote(None, "0")


def test_line_state_huge_strings_are_bounded() -> None:
    """Huge strings are truncated; the id to MAX_ID_LENGTH, other text to MAX_TEXT_LENGTH."""
    huge = "x" * 1_000_000
    state = LineState.from_json(
        line_params(
            uniqueId=huge,
            status=huge,
            account={"extension": huge, "displayName": huge},
            remotes=[{"callerIdName": huge}],
            displayUrl=huge,
            startTime=huge,
        )
    )
    assert len(state.unique_id) == MAX_ID_LENGTH
    assert len(LineState.from_json(line_params(uniqueId=10**1000)).unique_id) == MAX_ID_LENGTH
    assert Account.from_json(10**5000) is None
    assert len(state.raw_status) == MAX_TEXT_LENGTH
    assert state.status is LineStatus.UNKNOWN
    assert len(state.extension) == MAX_TEXT_LENGTH
    assert state.account.name is not None
    assert len(state.account.name) == MAX_TEXT_LENGTH
    assert state.caller is not None
    assert state.caller.name is not None
    assert len(state.caller.name) == MAX_TEXT_LENGTH
    assert state.display_url is not None
    assert len(state.display_url) == MAX_TEXT_LENGTH
    assert state.start_time is None


def test_line_state_deeply_nested_dial_data() -> None:
    """Dial data nested too deeply to serialise is dropped, not raised."""
    nested: dict[str, Any] = {}
    inner = nested
    for _ in range(100_000):
        inner["a"] = {}
        inner = inner["a"]
    state = LineState.from_json(line_params(dialData=nested, conference=nested))
    assert state.dial_data is None
    assert state.conference is not None


def test_models_are_immutable() -> None:
    """Models are frozen and the mappings they hold are read-only."""
    state = LineState.from_json(line_params())
    with pytest.raises(FrozenInstanceError):
        state.status = LineStatus.IDLE  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        state.account.extension = "102"  # type: ignore[misc]
    assert state.caller is not None
    with pytest.raises(FrozenInstanceError):
        state.caller.name = "x"  # type: ignore[misc]
    assert state.endpoint is not None
    with pytest.raises(FrozenInstanceError):
        state.endpoint.name = "x"  # type: ignore[misc]
    assert state.dial_data is not None
    with pytest.raises(TypeError):
        state.dial_data["ticket"] = 8  # type: ignore[index]
    assert isinstance(state.remotes, tuple)
    response = RpcResponse.from_json({"id": 1, "result": True})
    with pytest.raises(FrozenInstanceError):
        response.result = False  # type: ignore[misc]


def test_line_state_does_not_alias_input() -> None:
    """Changing the decoded payload afterwards does not change the parsed model."""
    params = line_params()
    state = LineState.from_json(params)
    params["dialData"]["ticket"] = 8
    params["account"]["displayName"] = "Mallory"
    params["conference"]["room"] = "elsewhere"
    assert state.account.name == "Alice Archer"
    assert state.dial_data == line_params()["dialData"]
    assert state.conference == line_params()["conference"]


# -- dial data ------------------------------------------------------------------------------------


def test_bounded_json_object() -> None:
    """Only JSON objects within the byte limit are kept."""
    assert bounded_json_object({"a": 1}) == {"a": 1}
    assert bounded_json_object([1]) is None
    assert bounded_json_object({"a": "x" * MAX_DIAL_DATA_BYTES}) is None
    assert bounded_json_object({"a": "xy"}, limit=9) is None
    assert bounded_json_object({"a": "x"}, limit=9) == {"a": "x"}
    assert bounded_json_object({"a": {1, 2}}) is None
    assert bounded_json_object({"a": float("nan")}) is not None


def test_bounded_json_object_depth() -> None:
    """Objects and lists nest at most MAX_DIAL_DATA_DEPTH deep, whatever the leaves."""
    value: Any = 1
    for _ in range(MAX_DIAL_DATA_DEPTH):
        value = {"n": value}
    assert bounded_json_object(value) is not None
    assert bounded_json_object({"n": value}) is None
    assert bounded_json_object({"n": [1]}) == {"n": [1]}


def test_bounded_json_object_is_storable_and_unaliased() -> None:
    """Integers beyond 64 bits become text and lone surrogates U+FFFD, at any depth; a copy."""
    payload: dict[str, Any] = {
        "big": 2**63,
        "low": -(2**63) - 1,
        "edge": [2**63 - 1, -(2**63)],
        "flag": True,
        "deep": {"text\ud800": ["x\udfff", {"n": 10**30}]},
    }
    frozen = bounded_json_object(payload)
    assert frozen == {
        "big": str(2**63),
        "low": str(-(2**63) - 1),
        "edge": [2**63 - 1, -(2**63)],
        "flag": True,
        "deep": {"text\ufffd": ["x\ufffd", {"n": str(10**30)}]},
    }
    assert frozen is not None
    payload["deep"]["text\ud800"].append("later")
    assert frozen["deep"]["text\ufffd"] == ["x\ufffd", {"n": str(10**30)}]
    assert bounded_json_object({"huge": 10**5000}) is None


# -- responses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"jsonrpc": "2.0", "id": 1, "result": True}, RpcResponse(1, result=True)),
        ({"id": "a", "result": None}, RpcResponse("a")),
        (
            {"id": 2, "error": {"code": -32001, "message": "Not authorized"}},
            RpcResponse(2, error_code=-32001, error_message="Not authorized"),
        ),
        ({"id": 3, "error": {"code": "bad"}}, RpcResponse(3, error_code=-32603)),
        ({"id": 4, "error": {"code": True, "message": 5}}, RpcResponse(4, None, -32603, "5")),
        ({"id": 5, "error": "boom"}, RpcResponse(5, error_code=-32603, error_message="boom")),
        ({"id": 6, "error": None, "result": 1}, RpcResponse(6, result=1)),
        ({"id": 7, "error": [1, 2]}, RpcResponse(7, error_code=-32603, error_message="<list>")),
        ({"id": 8, "error": 1.5}, RpcResponse(8, error_code=-32603, error_message="1.5")),
        ({"id": 9, "error": {"message": True}}, RpcResponse(9, None, -32603, "True")),
        ({"id": 10, "error": {"message": 10**5000}}, RpcResponse(10, None, -32603, "<int>")),
        ({"id": 11, "error": {"message": {"a": 1}}}, RpcResponse(11, None, -32603, "<dict>")),
    ],
)
def test_rpc_response(data: object, expected: RpcResponse) -> None:
    """Results and errors parse; malformed error objects become -32603."""
    assert RpcResponse.from_json(data) == expected


def test_rpc_response_error_message_bounded() -> None:
    """A huge error message is truncated; a deeply nested one is not turned into text."""
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    assert RpcResponse.from_json({"id": 1, "error": nested}).error_message == "<list>"
    response = RpcResponse.from_json({"id": 1, "error": "x" * 10_000})
    assert len(response.error_message) == 200
    response = RpcResponse.from_json({"id": 1, "error": {"code": 1, "message": "x" * 10_000}})
    assert len(response.error_message) == MAX_TEXT_LENGTH


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "not an object"),
        ([{"id": 1, "result": True}], "not an object"),
        ({"result": True}, "id"),
        ({"id": None, "result": True}, "id"),
        ({"id": True, "result": True}, "id"),
        ({"id": 1.5, "result": True}, "id"),
        ({"id": 1}, "neither"),
    ],
)
def test_rpc_response_unusable(data: object, reason: str) -> None:
    """Responses without an id or an outcome raise SwitchvoxMessageError."""
    with pytest.raises(SwitchvoxMessageError, match=reason):
        RpcResponse.from_json(data)


# -- timestamps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-17T09:30:15Z",
        "2024-05-17T09:30:15+00:00",
        "2024-05-17T11:30:15+02:00",
        " 2024-05-17T09:30:15Z ",
        1715938215,
        1715938215.0,
        1715938215000,
        "1715938215",
        "1715938215000",
    ],
)
def test_parse_timestamp(value: object) -> None:
    """ISO-8601 with a zone and epoch seconds or milliseconds give the same aware instant."""
    parsed = parse_timestamp(value)
    assert parsed == WHEN
    assert parsed is not None
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("timestamp_format", ["iso", "iso_offset", "epoch", "epoch_ms"])
def test_parse_simulator_timestamp_formats(timestamp_format: str) -> None:
    """Each encoding the simulator can send parses to the same datetime."""
    encoded = format_timestamp(WHEN.timestamp(), timestamp_format)
    assert parse_timestamp(encoded) == WHEN


@pytest.mark.parametrize("value", ["2024-05-17 09:30:15", "2024-05-17T09:30:15"])
def test_parse_timestamp_without_zone_is_the_pbx_wall_clock(value: str) -> None:
    """A time without a zone is the PBX's local time: naive, not taken for UTC."""
    assert parse_timestamp(value) == WHEN.replace(tzinfo=None)


def test_parse_timestamp_keeps_offset() -> None:
    """An ISO offset is kept (as an aware datetime)."""
    parsed = parse_timestamp("2024-05-17T11:30:15+02:00")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=2)
    assert parsed.tzinfo == timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "",
        "   ",
        "soon",
        "9" * 65,
        -1,
        float("nan"),
        float("inf"),
        "inf",
        1e20,
        10**400,
        [1715938215],
        {"t": 1},
    ],
)
def test_parse_timestamp_rejects(value: object) -> None:
    """Unparseable, negative, non-finite or out-of-range values give None."""
    assert parse_timestamp(value) is None


# -- exceptions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (-32000, SwitchvoxSessionExpiredError),
        (-32001, SwitchvoxRequestNotAllowedError),
        (-32002, SwitchvoxAlreadyAuthenticatedError),
        (-32602, SwitchvoxRpcError),
        (42, SwitchvoxRpcError),
    ],
)
def test_rpc_error_from_code(code: int, cls: type[SwitchvoxRpcError]) -> None:
    """Each API error code maps to its own exception; others to SwitchvoxRpcError."""
    err = rpc_error_from_code(code, "message", "dial")
    assert type(err) is cls
    assert err.code == code
    assert err.rpc_message == "message"
    assert err.method == "dial"
    assert str(err) == f"JSON-RPC error {code} to dial: message"
    assert isinstance(err, SwitchvoxError)


def test_not_authenticated_is_a_refused_login_only_to_login() -> None:
    """-32000 to login refuses the credentials; to any other request, the session has ended."""
    refused = rpc_error_from_code(-32000, "Invalid credentials", "login")
    assert type(refused) is SwitchvoxLoginRefusedError
    assert isinstance(refused, SwitchvoxAuthenticationError)
    expired = rpc_error_from_code(-32000, "Not authenticated", "subscribe")
    assert type(expired) is SwitchvoxSessionExpiredError
    assert isinstance(expired, SwitchvoxAuthenticationError)
    assert type(rpc_error_from_code(-32000, "?", None)) is SwitchvoxAuthenticationError


def test_not_authorized_to_login_is_the_api_not_allowed() -> None:
    """-32001 to login: the extension may not use the API; to another request, that one only."""
    not_allowed = rpc_error_from_code(-32001, "API not allowed", "login")
    assert type(not_allowed) is SwitchvoxLoginNotAllowedError
    assert isinstance(not_allowed, SwitchvoxNotAuthorizedError)
    for method in ("subscribe", "dial"):
        refused = rpc_error_from_code(-32001, "Not allowed", method)
        assert type(refused) is SwitchvoxRequestNotAllowedError
        assert isinstance(refused, SwitchvoxNotAuthorizedError)
    assert type(rpc_error_from_code(-32001, "?", None)) is SwitchvoxNotAuthorizedError


def test_rpc_error_without_method() -> None:
    """An error without a method does not name one."""
    assert str(SwitchvoxRpcError(1, "m")) == "JSON-RPC error 1: m"


def test_message_error_is_value_error() -> None:
    """Malformed messages are also ValueErrors."""
    assert issubclass(SwitchvoxMessageError, ValueError)
