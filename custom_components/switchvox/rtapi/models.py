"""Typed, immutable models of the messages the Switchvox Realtime API sends.

The vendor documents field names but not every data type, so parsing is defensive: unknown keys
are kept in ``raw``, unknown enum values map to an ``UNKNOWN`` member that keeps the raw value,
and anything that cannot be a line state raises :class:`SwitchvoxMessageError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import functools
import json
import math
import re
from types import MappingProxyType
from typing import Any, Final, TypeGuard

from .exceptions import SwitchvoxMessageError

TOPIC_LINE_STATE: Final = "state.change.extension.line"

# Bounds that keep hostile or broken input from growing memory without limit.
MAX_ID_LENGTH: Final = 256
MAX_TEXT_LENGTH: Final = 1024
MAX_REMOTES: Final = 16
MAX_DIAL_DATA_BYTES: Final = 4096
# Deeper dial data cannot be stored by JSON encoders such as orjson (254 levels at most), which a
# 4 kB object can reach; nobody needs more than this.
MAX_DIAL_DATA_DEPTH: Final = 32

type JsonObject = Mapping[str, Any]

_EMPTY: Final[JsonObject] = MappingProxyType({})
_SURROGATES: Final = re.compile("[\ud800-\udfff]")
_LONG_NUMBER: Final = re.compile(r"\d{19}")  # 2**63 has 19 digits

# Key names a Remote may use for the other party's caller id; the vendor does not document them.
_REMOTE_NAME_KEYS: Final = ("callerIdName", "caller_id_name", "callerName", "name", "displayName")
_REMOTE_NUMBER_KEYS: Final = (
    "callerIdNumber",
    "caller_id_number",
    "callerNumber",
    "number",
    "extension",
)


class LineStatus(StrEnum):
    """Status of one channel, as the PBX names it."""

    IDLE = "idle"
    STARTING = "starting"
    CALLING = "calling"
    ON_THE_PHONE = "onThePhone"
    RINGING = "ringing"
    ON_HOLD = "onHold"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> LineStatus:
        """Return the member for ``value``, or ``UNKNOWN`` for anything undocumented."""
        if isinstance(value, str):
            return _LINE_STATUSES.get(value, cls.UNKNOWN)
        return cls.UNKNOWN


class Direction(StrEnum):
    """Which way a channel was created: toward the PBX (outgoing from a phone) or from it."""

    TO_PBX = "toPbx"
    FROM_PBX = "fromPbx"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> Direction | None:
        """Return the member for ``value``; ``None`` when absent, ``UNKNOWN`` when unrecognised."""
        if value is None:
            return None
        if isinstance(value, str):
            return _DIRECTIONS.get(value, cls.UNKNOWN)
        return cls.UNKNOWN


# Member by value: a dict lookup instead of Enum's call machinery on every notification.
_LINE_STATUSES: Final[dict[str, LineStatus]] = {member.value: member for member in LineStatus}
_DIRECTIONS: Final[dict[str, Direction]] = {member.value: member for member in Direction}


@dataclass(frozen=True, slots=True)
class Account:
    """A Switchvox account; ``extension`` routes notifications to lines."""

    extension: str
    account_id: str | None = None
    name: str | None = None
    raw: JsonObject = field(default=_EMPTY, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: object, cache: ModelCache | None = None) -> Account | None:
        """Parse an account object; ``None`` when it has no usable extension."""
        if data is None:
            return None
        if isinstance(data, (str, int)) and not isinstance(data, bool):
            extension = _text(data)
            return cls(extension=extension) if extension else None
        if not _is_mapping(data):
            return None
        if cache is not None and (known := cache.accounts.get(data)) is not None:
            return known
        extension = _text(data.get("extension"))
        if not extension:
            return None
        account = cls(
            extension=extension,
            account_id=_text(data.get("accountId", data.get("id"))),
            name=_text(data.get("displayName", data.get("name", data.get("fullName")))),
            raw=_freeze(data),
        )
        return account if cache is None else cache.accounts.remember(data, account)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The device (phone) connected to a channel."""

    id: str | None = None
    name: str | None = None
    raw: JsonObject = field(default=_EMPTY, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: object, cache: ModelCache | None = None) -> Endpoint | None:
        """Parse an endpoint object; ``None`` when absent or not an object."""
        if isinstance(data, str):
            return cls(name=_text(data))
        if not _is_mapping(data):
            return None
        if cache is not None and (known := cache.endpoints.get(data)) is not None:
            return known
        endpoint = cls(
            id=_text(data.get("id", data.get("endpointId"))),
            name=_text(data.get("name", data.get("label"))),
            raw=_freeze(data),
        )
        return endpoint if cache is None else cache.endpoints.remember(data, endpoint)


@dataclass(frozen=True, slots=True)
class Remote:
    """The other party of a channel; caller id is surfaced where recognisable."""

    name: str | None = None
    number: str | None = None
    raw: JsonObject = field(default=_EMPTY, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: object, cache: ModelCache | None = None) -> Remote | None:
        """Parse a remote object; ``None`` when it is not an object."""
        if not _is_mapping(data):
            return None
        if cache is not None and (known := cache.remotes.get(data)) is not None:
            return known
        account = data.get("account")
        name = _first_text(data, _REMOTE_NAME_KEYS)
        number = _first_text(data, _REMOTE_NUMBER_KEYS)
        if _is_mapping(account):
            name = name or _text(account.get("displayName", account.get("name")))
            number = number or _text(account.get("extension"))
        remote = cls(name=name, number=number, raw=_freeze(data))
        return remote if cache is None else cache.remotes.remember(data, remote)


# The key of a small flat payload: its items, in order.
type _FlatKey = tuple[tuple[str, str | int | None], ...]
# Models remembered per kind and cache; a full table is forgotten at once.
MODEL_CACHE_SIZE: Final = 4096
TIMESTAMP_CACHE_SIZE: Final = 256
# Payloads with more keys than this are parsed every time: they make costly keys.
_MAX_FLAT_KEYS: Final = 8


class _ModelTable[ModelT]:
    """Models by the content of the small flat payload (text, integers, nulls) parsed into them.

    The key is the payload's items, built and hashed in C. An equal key means an equal payload
    when its values are text or null; integers compare equal to booleans and floats (1 == True
    == 1.0), so a key holding one is checked for exact types on a hit.
    """

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int) -> None:
        self._entries: dict[_FlatKey, tuple[ModelT, bool]] = {}
        self._limit = limit

    def __len__(self) -> int:
        """Return how many models are remembered."""
        return len(self._entries)

    def get(self, data: Mapping[Any, Any]) -> ModelT | None:
        """Return the model parsed before from a payload equal to ``data``, if any."""
        if type(data) is not dict or len(data) > _MAX_FLAT_KEYS:
            return None
        try:
            entry = self._entries.get(tuple(data.items()))
        except TypeError:  # an unhashable value (a list, an object): not flat
            return None
        if entry is None:
            return None
        model, text_only = entry
        return model if text_only or _flatness(data) is not None else None

    def remember(self, data: Mapping[Any, Any], model: ModelT) -> ModelT:
        """Remember ``model`` as the parse of ``data`` when it is small and flat."""
        if (text_only := _flatness(data)) is not None:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            self._entries[tuple(data.items())] = (model, text_only)
        return model


def _flatness(data: object) -> bool | None:
    """Return whether a small flat payload holds text only (True) or integers too (False).

    None for anything else: not a small dict of text keys and text, integer or null values.
    Booleans and floats are left out: True == 1 and 1.0 == 1 would make unequal payloads equal.
    """
    if type(data) is not dict or len(data) > _MAX_FLAT_KEYS:
        return None
    text_only = True
    for key, value in data.items():
        if type(key) is not str:
            return None
        if type(value) is int:
            text_only = False
        elif not (value is None or type(value) is str):
            return None
    return text_only


type _Parties = tuple[Account, Endpoint | None, tuple[Remote, ...]]


class ModelCache:
    """The models one client parsed recently, reused while the payloads they came from repeat.

    Accounts, endpoints, remotes and timestamps repeat in every notification of a line or a
    call, and the models are immutable: an equal payload gets the model parsed before, with no
    parse and no copy for the garbage collector's oldest generation to fill up with. A cache
    belongs to one client (a library keeps no process-wide state); each table is bounded.
    """

    __slots__ = ("_parties", "_size", "accounts", "endpoints", "remotes", "timestamp")

    def __init__(
        self, size: int = MODEL_CACHE_SIZE, timestamps: int = TIMESTAMP_CACHE_SIZE
    ) -> None:
        self.accounts: _ModelTable[Account] = _ModelTable(size)
        self.endpoints: _ModelTable[Endpoint] = _ModelTable(size)
        self.remotes: _ModelTable[Remote] = _ModelTable(size)
        # A channel's startTime repeats, and serverTime within a second.
        self.timestamp = functools.lru_cache(maxsize=timestamps)(_parse_timestamp_text)
        # By uniqueId: the account, endpoint and remotes of the channel's last notification.
        self._parties: dict[str, _Parties] = {}
        self._size = size

    def __len__(self) -> int:
        """Return how many channels' parties are remembered."""
        return len(self._parties)

    def parties(
        self, unique_id: str, account: object, endpoint: object, remotes: object
    ) -> _Parties | None:
        """Return a channel's parties when its payloads are those of its last notification.

        One lookup and a comparison of each payload with the raw copy its model keeps: the
        three table lookups cost three times as much. Only text-only payloads are remembered
        (see :meth:`remember_parties`), and what equals text is text: the comparison is exact.
        """
        known = self._parties.get(unique_id)
        if known is None:
            return None
        known_account, known_endpoint, known_remotes = known
        if known_account.raw != account:
            return None
        if known_endpoint is None:
            if endpoint is not None:
                return None
        elif known_endpoint.raw != endpoint:
            return None
        if remotes is None:
            return known if not known_remotes else None
        # A list compares with a list only, item by item, in C.
        return known if remotes == [remote.raw for remote in known_remotes] else None

    def remember_parties(
        self, unique_id: str, account: object, endpoint: object, remotes: object, parsed: _Parties
    ) -> None:
        """Remember a channel's parties when each payload is a small object of text (or null)."""
        if not _text_only(account):
            return
        if endpoint is not None and not _text_only(endpoint):
            return
        if remotes is not None:
            if type(remotes) is not list or len(remotes) != len(parsed[2]):
                return  # not a list, or with items that are not remotes or beyond MAX_REMOTES
            for remote in remotes:
                if not _text_only(remote):
                    return
        if len(self._parties) >= self._size:
            self._parties.clear()
        self._parties[unique_id] = parsed


def _text_only(data: object) -> bool:
    """Return whether ``data`` is a small dict of text keys and text or null values."""
    return _flatness(data) is True


@dataclass(frozen=True, slots=True)
class LineState:
    """One ``state.change.extension.line`` notification: the state of one channel."""

    unique_id: str
    account: Account
    status: LineStatus
    raw_status: str
    endpoint: Endpoint | None = None
    start_time: datetime | None = None
    server_time: datetime | None = None
    remotes: tuple[Remote, ...] = ()
    direction: Direction | None = None
    dial_data: JsonObject | None = None
    conference: JsonObject | None = None
    intercom: JsonObject | None = None
    display_url: str | None = None
    queue: Account | None = None

    @property
    def extension(self) -> str:
        """Return the extension this channel belongs to."""
        return self.account.extension

    @property
    def caller(self) -> Remote | None:
        """Return the first remote party, which is the caller or callee shown to users."""
        return self.remotes[0] if self.remotes else None

    @classmethod
    def from_json(cls, params: object, cache: ModelCache | None = None) -> LineState:
        """Parse notification params, raising :class:`SwitchvoxMessageError` when unusable.

        ``cache`` (one per client) reuses models of payloads seen before; results are equal.
        """
        if not _is_mapping(params):
            raise SwitchvoxMessageError(f"params is {type(params).__name__}, not an object")
        get = params.get
        unique_id = _text(get("uniqueId"), MAX_ID_LENGTH)
        if not unique_id:
            raise SwitchvoxMessageError("uniqueId is missing")
        account_raw = get("account")
        endpoint_raw = get("endpoint")
        remotes_raw = get("remotes")
        parties = (
            None
            if cache is None
            else cache.parties(unique_id, account_raw, endpoint_raw, remotes_raw)
        )
        if parties is None:
            account = Account.from_json(account_raw, cache)
            if account is None:
                raise SwitchvoxMessageError("account.extension is missing")
            endpoint = Endpoint.from_json(endpoint_raw, cache)
            remotes: tuple[Remote, ...] = ()
            if type(remotes_raw) is list or isinstance(remotes_raw, list):
                parsed = [Remote.from_json(item, cache) for item in remotes_raw[:MAX_REMOTES]]
                remotes = tuple([remote for remote in parsed if remote is not None])
            if cache is not None:
                cache.remember_parties(
                    unique_id, account_raw, endpoint_raw, remotes_raw, (account, endpoint, remotes)
                )
        else:
            account, endpoint, remotes = parties
        raw_status = get("status")
        if not isinstance(raw_status, str):
            raise SwitchvoxMessageError("status is missing")
        # Positional, and optional fields checked for None here: this runs for every
        # notification, and keyword arguments cost a third of the dataclass's __init__.
        direction = get("direction")
        dial_data = get("dialData")
        conference = get("conference")
        intercom = get("intercom")
        display_url = get("displayUrl")
        queue = get("queueId")
        return cls(
            unique_id,
            account,
            _LINE_STATUSES.get(raw_status, LineStatus.UNKNOWN),
            valid_text(raw_status[:MAX_TEXT_LENGTH]),
            endpoint,
            parse_timestamp(get("startTime"), cache),
            parse_timestamp(get("serverTime"), cache),
            remotes,
            None if direction is None else Direction.parse(direction),
            None if dial_data is None else bounded_json_object(dial_data),
            None if conference is None else _object(conference),
            None if intercom is None else _object(intercom),
            _text(display_url) if isinstance(display_url, str) else None,
            None if queue is None else Account.from_json(queue, cache),
        )


@dataclass(frozen=True, slots=True)
class RpcResponse:
    """A JSON-RPC 2.0 response: exactly one of ``result`` or an error code is meaningful."""

    id: int | str
    result: Any = None
    error_code: int | None = None
    error_message: str = ""

    @classmethod
    def from_json(cls, data: object) -> RpcResponse:
        """Parse a response object, raising :class:`SwitchvoxMessageError` when unusable."""
        if not isinstance(data, Mapping):
            raise SwitchvoxMessageError(f"response is {type(data).__name__}, not an object")
        response_id = data.get("id")
        if isinstance(response_id, bool) or not isinstance(response_id, (int, str)):
            raise SwitchvoxMessageError("response has no usable id")
        error = data.get("error")
        if error is not None:
            if not isinstance(error, Mapping):
                return cls(response_id, error_code=-32603, error_message=_message(error, 200))
            code = error.get("code")
            message = error.get("message")
            return cls(
                response_id,
                error_code=code if isinstance(code, int) and not isinstance(code, bool) else -32603,
                error_message=_message(message, MAX_TEXT_LENGTH),
            )
        if "result" not in data:
            raise SwitchvoxMessageError("response has neither result nor error")
        return cls(response_id, result=data["result"])


def parse_timestamp(value: object, cache: ModelCache | None = None) -> datetime | None:
    """Parse an ISO-8601 string or epoch seconds/milliseconds into an aware UTC datetime."""
    if type(value) is str and cache is not None and len(value) <= 64:  # the usual case first
        return cache.timestamp(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _parse_timestamp_text(value)
    if isinstance(value, (int, float)):
        try:
            return _from_epoch(float(value))
        except OverflowError:  # an integer beyond the float range (JSON allows it)
            return None
    return None


def _parse_timestamp_text(value: str) -> datetime | None:
    """Parse an ISO-8601 string or epoch seconds/milliseconds written as text."""
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if ":" not in text:  # never in a float literal: skip the failing float() of ISO times
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            return _from_epoch(number)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_epoch(number: float) -> datetime | None:
    """Return epoch seconds or milliseconds as an aware UTC datetime."""
    if not math.isfinite(number) or number < 0:
        return None
    if number > 1e11:  # beyond the year 5138 in seconds: these are milliseconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def bounded_json_object(value: object, limit: int = MAX_DIAL_DATA_BYTES) -> JsonObject | None:
    """Return ``value`` frozen if it is a JSON object that serialises within ``limit`` bytes."""
    if value is None or not _is_mapping(value):
        return None
    if _small_flat_ascii(value, limit):
        return _freeze(value)
    if not _nesting_within(value, MAX_DIAL_DATA_DEPTH):
        return None
    try:
        text = json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return None
    if len(text) > limit:  # ASCII: one byte per character
        return None
    if "\\ud" in text or _LONG_NUMBER.search(text):
        # An astral character or a lone surrogate, or an integer perhaps beyond 64 bits: rebuild
        # the object from text and numbers that every JSON encoder (orjson in HA) accepts.
        try:
            value = json.loads(
                valid_text(json.dumps(value, ensure_ascii=False)), parse_int=_json_int
            )
        except (ValueError, RecursionError):
            return None
    return _freeze(value)  # type: ignore[arg-type]


def _nesting_within(value: object, limit: int) -> bool:
    """Return whether objects and lists nest at most ``limit`` deep (without recursing)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _small_flat_ascii(value: Mapping[Any, Any], limit: int) -> bool:
    """Return whether ``value`` surely serialises within ``limit`` with nothing to rebuild.

    The common dial data (a few short ASCII strings and small integers) skips encoding: every
    character costs at most 6 bytes escaped, an integer below 10**18 at most 19, and no text
    shorter than 19 characters can hold the 19 digits that :func:`bounded_json_object` rebuilds.
    """
    if type(value) is not dict or len(value) > 32:
        return False
    size = 2
    for key, item in value.items():
        if type(key) is not str or len(key) >= 19 or not key.isascii():
            return False
        kind = type(item)
        if kind is str:
            if len(item) >= 19 or not item.isascii():
                return False
            size += 6 * len(item) + 2
        elif kind is int:
            if not -(10**18) < item < 10**18:
                return False
            size += 19
        elif item is None or kind is bool:
            size += 5
        else:
            return False
        size += 6 * len(key) + 4
    return size <= limit


def valid_text(text: str) -> str:
    r"""Return ``text`` with lone UTF-16 surrogates replaced by U+FFFD.

    JSON may carry them ("\ud800") and Python decodes them, but they are not Unicode text:
    UTF-8 encoders, and so Home Assistant's recorder, frontend and restore state, refuse them.
    """
    if text.isascii():  # O(1) in CPython
        return text
    return _SURROGATES.sub("\ufffd", text)


def _json_int(text: str) -> int | str:
    """Return a JSON integer, kept as its text when beyond 64 bits (orjson refuses those)."""
    number = int(text)
    return number if -(2**63) <= number < 2**63 else text


def _object(value: object) -> JsonObject | None:
    """Return ``value`` frozen when it is an object, else ``None``."""
    return _freeze(value) if value is not None and _is_mapping(value) else None


def _is_mapping(value: object) -> TypeGuard[Mapping[Any, Any]]:
    """Return whether ``value`` is a mapping (decoded JSON objects are dicts: checked first)."""
    return type(value) is dict or isinstance(value, Mapping)


def _freeze(value: Mapping[Any, Any]) -> JsonObject:
    """Return a read-only view of a mapping (payload dicts are ours, fresh from the decoder)."""
    return MappingProxyType(dict(value))


def _text(value: object, limit: int = MAX_TEXT_LENGTH) -> str | None:
    """Return ``value`` as a bounded string; numbers become strings, anything else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        return valid_text(text[:limit]) if text else None
    if isinstance(value, int):
        try:
            return str(value)[:limit]
        except ValueError:  # beyond sys.get_int_max_str_digits()
            return None
    return None


def _message(value: object, limit: int) -> str:
    """Return an error message as bounded text, never building the text of a whole structure.

    ``str()`` of a huge or deeply nested list would cost memory or raise RecursionError.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, (bool, float)):
        return str(value)
    if isinstance(value, int):
        return _text(value, limit) or "<int>"
    return f"<{type(value).__name__}>"


def _first_text(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """Return the first of ``keys`` in ``data`` that holds text."""
    for key in keys:
        if (text := _text(data.get(key))) is not None:
            return text
    return None
