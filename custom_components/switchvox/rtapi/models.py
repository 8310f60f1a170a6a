"""Typed, immutable models of the messages the Switchvox Realtime API sends.

The vendor documents field names but not every data type, so parsing is defensive: unknown enum
values map to an ``UNKNOWN`` member (the raw status is kept), and anything that cannot be a line
state raises :class:`SwitchvoxMessageError`. Every notification is parsed once, into new models:
nothing is kept between notifications. Keys the models do not name are left out (the client's
recent messages keep the text as sent): a line's state lives until its next change, and every
object it holds is one more for the garbage collector to walk. Objects are what JSON decodes
to, ``dict``: ``isinstance(value, Mapping)`` would cost an ABC check for every field.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import json
import math
import re
from types import MappingProxyType
from typing import Any, Final

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
# A channel the PBX says began longer ago than this, or after its own "now" by more than the
# rounding of whole-second times, has times that contradict each other: its start is not shown.
MAX_CHANNEL_AGE: Final = timedelta(days=7)
CLOCK_ROUNDING: Final = timedelta(seconds=1)

type JsonObject = Mapping[str, Any]

_SURROGATES: Final = re.compile("[\ud800-\udfff]")
# One encoder: json.dumps builds a new one for every call with separators.
_ENCODE: Final = json.JSONEncoder(separators=(",", ":")).encode

# Key names a Remote may use for the other party's caller id; the vendor does not document them.
_REMOTE_NAME_KEYS: Final = ("callerIdName", "caller_id_name", "callerName", "name", "displayName")
_REMOTE_NUMBER_KEYS: Final = (
    "callerIdNumber",
    "caller_id_number",
    "callerNumber",
    "number",
    "extension",
)

# What carriers and Asterisk-based PBXs put in the caller-id name when they have none (compared
# case-folded, spaces collapsed, brackets and punctuation around it dropped). A US carrier's
# "CELL PHONE   NY" and "WIRELESS CALLER" name a kind of line and maybe a state, not a person.
_NO_NAME_TEXTS: Final = frozenset(
    {
        "unknown",
        "unknown caller",
        "unknown name",
        "unknown number",
        "unavailable",
        "name unavailable",
        "anonymous",
        "private",
        "private caller",
        "private name",
        "private number",
        "restricted",
        "blocked",
        "withheld",
        "no caller id",
        "no caller id name",
        "caller id blocked",
        "out of area",
        "toll free",
        "asterisk",
        "o",
        "p",
    }
)
_NO_NAME_KINDS: Final = re.compile(r"(?:cell phone|wireless caller)(?: [a-z]{2})?")
_NAME_TRIM: Final = " \"'<>()[]{}.,:;-_*"
_LETTER: Final = re.compile(r"[^\W\d_]")


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
        try:
            return cls(value) if isinstance(value, str) else cls.UNKNOWN
        except ValueError:
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
        try:
            return cls(value) if isinstance(value, str) else cls.UNKNOWN
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True, slots=True)
class Account:
    """A Switchvox account; ``extension`` routes notifications to lines."""

    extension: str
    account_id: str | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Account | None:
        """Parse an account object; ``None`` when it has no usable extension."""
        if isinstance(data, (str, int)) and not isinstance(data, bool):
            extension = _text(data)
            return cls(extension=extension) if extension else None
        if not isinstance(data, dict):
            return None
        extension = _text(data.get("extension"))
        if not extension:
            return None
        return cls(
            extension=extension,
            account_id=_text(data.get("accountId", data.get("id"))),
            name=_text(data.get("displayName", data.get("name", data.get("fullName")))),
        )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The device (phone) connected to a channel."""

    id: str | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Endpoint | None:
        """Parse an endpoint object; ``None`` when absent or not an object."""
        if isinstance(data, str):
            return cls(name=_text(data))
        if not isinstance(data, dict):
            return None
        return cls(
            id=_text(data.get("id", data.get("endpointId"))),
            name=_text(data.get("name", data.get("label"))),
        )


@dataclass(frozen=True, slots=True)
class Remote:
    """The other party of a channel; caller id is surfaced where recognisable."""

    name: str | None = None
    number: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Remote | None:
        """Parse a remote object; ``None`` when it is not an object."""
        if not isinstance(data, dict):
            return None
        name = caller_id_name(_first_text(data, _REMOTE_NAME_KEYS))
        number = _first_text(data, _REMOTE_NUMBER_KEYS)
        if isinstance(account := data.get("account"), dict):
            name = name or caller_id_name(_text(account.get("displayName", account.get("name"))))
            number = number or _text(account.get("extension"))
        return cls(name=name, number=number)


def caller_id_name(name: str | None) -> str | None:
    """Return a caller-id name that names someone, or None for a placeholder.

    Carriers and PBXs fill the name in when they have none: "Unknown", "Anonymous",
    "WIRELESS CALLER", "CELL PHONE   CA", the number itself. Shown as a name, they hide the
    number that can be called back.
    """
    if name is None:
        return None
    folded = name.casefold().strip(_NAME_TRIM)
    if "  " in folded or "\t" in folded:
        folded = " ".join(folded.split())
    if (
        folded in _NO_NAME_TEXTS
        or not _LETTER.search(folded)  # a number, or punctuation
        or (folded[:1] in ("c", "w") and _NO_NAME_KINDS.fullmatch(folded))
    ):
        return None
    return name


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

    def call_start(self, received: datetime) -> datetime | None:
        """Return when the channel began, on the clock that says this state arrived ``received``.

        The PBX's own elapsed time (``serverTime - startTime``, both read the same way) taken
        back from ``received``: right whatever the PBX's time zone and however far its clock is
        from ours. Without ``serverTime``, ``startTime`` if it names its instant (an epoch or an
        offset); a local time without a zone, or times that contradict each other, give None:
        no start rather than a wrong one.
        """
        start, server = self.start_time, self.server_time
        if start is None:
            return None
        if server is None or (start.tzinfo is None) != (server.tzinfo is None):
            if start.tzinfo is None:
                return None
            try:
                return start.astimezone(UTC)
            except OverflowError:  # year 1 or 9999 with an offset
                return None
        elapsed = server - start
        if not -CLOCK_ROUNDING <= elapsed <= MAX_CHANNEL_AGE:
            return None
        return received - max(elapsed, timedelta(0))

    @classmethod
    def from_json(cls, params: object) -> LineState:
        """Parse notification params, raising :class:`SwitchvoxMessageError` when unusable."""
        if not isinstance(params, dict):
            raise SwitchvoxMessageError(f"params is {type(params).__name__}, not an object")
        unique_id = _text(params.get("uniqueId"), MAX_ID_LENGTH)
        if not unique_id:
            raise SwitchvoxMessageError("uniqueId is missing")
        account = Account.from_json(params.get("account"))
        if account is None:
            raise SwitchvoxMessageError("account.extension is missing")
        raw_status = params.get("status")
        if not isinstance(raw_status, str):
            raise SwitchvoxMessageError("status is missing")
        remotes = params.get("remotes")
        display_url = params.get("displayUrl")
        queue = params.get("queueId")
        return cls(
            unique_id=unique_id,
            account=account,
            status=LineStatus.parse(raw_status),
            raw_status=valid_text(raw_status[:MAX_TEXT_LENGTH]),
            endpoint=Endpoint.from_json(params.get("endpoint")),
            start_time=parse_timestamp(params.get("startTime")),
            server_time=parse_timestamp(params.get("serverTime")),
            remotes=tuple(
                remote
                for item in (remotes[:MAX_REMOTES] if isinstance(remotes, list) else ())
                if (remote := Remote.from_json(item)) is not None
            ),
            direction=Direction.parse(params.get("direction")),
            dial_data=bounded_json_object(params.get("dialData")),
            conference=_object(params.get("conference")),
            intercom=_object(params.get("intercom")),
            display_url=_text(display_url) if isinstance(display_url, str) else None,
            queue=None if queue is None else Account.from_json(queue),
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
        if not isinstance(data, dict):
            raise SwitchvoxMessageError(f"response is {type(data).__name__}, not an object")
        response_id = data.get("id")
        if isinstance(response_id, bool) or not isinstance(response_id, (int, str)):
            raise SwitchvoxMessageError("response has no usable id")
        error = data.get("error")
        if error is not None:
            if not isinstance(error, dict):
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


def parse_timestamp(value: object) -> datetime | None:
    """Parse a PBX timestamp: epoch seconds or milliseconds (numbers or numeric text), or ISO-8601.

    Aware when the value names its instant (an epoch, an ISO time with an offset or ``Z``);
    naive when it is a time of day without a zone (``2024-05-17 09:30:15``): the PBX's local
    time, whose zone only the PBX knows. Compare a naive time with naive times of the same PBX
    only (:meth:`LineState.call_start`).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return _from_epoch(float(value))
        except OverflowError:  # an integer beyond the float range (JSON allows it)
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if ":" not in text:  # never in a number: ISO times skip a float() that would fail
        try:
            return _from_epoch(float(text))
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


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
    """Return ``value`` storable and frozen if it is a JSON object within ``limit`` bytes.

    Storable: what every JSON encoder (orjson among them) accepts, so lone surrogates
    become U+FFFD and integers beyond 64 bits their text; nested at most MAX_DIAL_DATA_DEPTH.
    """
    if not isinstance(value, dict):
        return None
    try:
        storable = _storable(value, MAX_DIAL_DATA_DEPTH)
        text = _ENCODE(storable)
    except (TypeError, ValueError, RecursionError):  # not JSON, too deep, a huge integer
        return None
    if len(text) > limit:  # ASCII: one byte per character
        return None
    return MappingProxyType(storable)


def _storable(value: Any, depth: int) -> Any:
    """Return a copy of a JSON value that every encoder accepts; ValueError when too deep."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, int):
        # Text beyond 64 bits; ValueError beyond sys.get_int_max_str_digits(), as json.dumps.
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, list):
        if depth == 0:
            raise ValueError("nested too deeply")
        return [_storable(item, depth - 1) for item in value]
    if isinstance(value, dict):
        if depth == 0:
            raise ValueError("nested too deeply")
        return {
            valid_text(key) if isinstance(key, str) else key: _storable(item, depth - 1)
            for key, item in value.items()
        }
    return value


def valid_text(text: str) -> str:
    r"""Return ``text`` with lone UTF-16 surrogates replaced by U+FFFD.

    JSON may carry them ("\ud800") and Python decodes them, but they are not Unicode text:
    UTF-8 encoders, and so an application's database, front end and stored state, refuse them.
    """
    if text.isascii():  # O(1) in CPython
        return text
    return _SURROGATES.sub("\ufffd", text)


def _object(value: object) -> JsonObject | None:
    """Return a read-only copy of ``value`` when it is an object, else ``None``."""
    return MappingProxyType(dict(value)) if isinstance(value, dict) else None


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
