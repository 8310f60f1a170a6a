"""Pure PBX state for the simulator: accounts, channels and call flows (no I/O)."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
import itertools
import time
from typing import Any, Final, Literal, get_args

type JsonDict = dict[str, Any]
type Status = Literal["idle", "starting", "calling", "onThePhone", "ringing", "onHold"]
type Direction = Literal["toPbx", "fromPbx"]
type TimestampFormat = Literal["iso", "iso_offset", "local", "epoch", "epoch_ms"]

TOPIC_LINE: Final = "state.change.extension.line"
TIMESTAMP_FORMATS: Final[tuple[str, ...]] = ("iso", "iso_offset", "local", "epoch", "epoch_ms")


class PbxError(ValueError):
    """A call-control action that the PBX state does not allow."""


class UnknownChannelError(PbxError):
    """No channel with that uniqueId exists (it may have ended)."""


class UnknownAccountError(PbxError):
    """No account with that extension exists."""


def format_timestamp(value: float, timestamp_format: str, zone: tzinfo = UTC) -> str | int:
    """Encode a POSIX time as a PBX may send it.

    "iso": ISO-8601 UTC text; "iso_offset": ISO-8601 with the offset of ``zone``; "local": the
    time of day in ``zone`` without any zone (``YYYY-MM-DD HH:MM:SS``); "epoch" and "epoch_ms":
    epoch seconds or milliseconds.
    """
    if timestamp_format == "epoch":
        return int(value)
    if timestamp_format == "epoch_ms":
        return int(value * 1000)
    if timestamp_format == "local":
        return datetime.fromtimestamp(int(value), zone).strftime("%Y-%m-%d %H:%M:%S")
    if timestamp_format == "iso_offset":
        return datetime.fromtimestamp(int(value), zone).isoformat()
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Account:
    """A PBX extension account with its API permissions."""

    extension: str
    password: str
    display_name: str
    account_id: str
    can_watch: set[str] | None = None
    can_dial: bool = True

    def may_watch(self, extension: str) -> bool:
        """Return whether this account may subscribe to ``extension``'s line state."""
        return extension == self.extension or self.can_watch is None or extension in self.can_watch

    def as_wire(self) -> JsonDict:
        """Return the Account object as sent in notifications."""
        return {
            "extension": self.extension,
            "accountId": self.account_id,
            "displayName": self.display_name,
        }

    def as_remote(self) -> JsonDict:
        """Return a Remote object describing this account as the other party."""
        return {"callerIdName": self.display_name, "callerIdNumber": self.extension}


@dataclass
class Channel:
    """One channel (call leg) on an extension."""

    unique_id: str
    extension: str
    direction: Direction
    start_time: float
    status: Status
    remotes: list[JsonDict] = field(default_factory=list)
    dial_data: JsonDict | None = None
    queue_id: JsonDict | None = None
    peer: str | None = None
    outside: bool = False


@dataclass(frozen=True)
class Notification:
    """A line-state notification for the subscribers of one extension."""

    extension: str
    params: JsonDict


class Pbx:
    """Accounts and channels; every call-control method returns the notifications it causes."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        timestamp_format: str = "iso",
        zone: tzinfo = UTC,
    ) -> None:
        if timestamp_format not in TIMESTAMP_FORMATS:
            msg = f"timestamp_format must be one of {', '.join(TIMESTAMP_FORMATS)}"
            raise ValueError(msg)
        self._clock = clock
        self.timestamp_format = timestamp_format
        self.zone = zone
        self.accounts: dict[str, Account] = {}
        self._channels: dict[str, Channel] = {}
        self._sequence = itertools.count(1)

    # -- accounts -------------------------------------------------------------------------------

    def add_account(
        self,
        extension: str,
        password: str,
        display_name: str,
        *,
        can_watch: Iterable[str] | None = None,
        can_dial: bool = True,
    ) -> Account:
        """Create or replace an account."""
        account = Account(
            extension=extension,
            password=password,
            display_name=display_name,
            account_id=f"1{extension}",
            can_watch=None if can_watch is None else set(can_watch),
            can_dial=can_dial,
        )
        self.accounts[extension] = account
        return account

    def account(self, extension: str) -> Account:
        """Return the account of ``extension`` or raise UnknownAccountError."""
        try:
            return self.accounts[extension]
        except KeyError:
            raise UnknownAccountError(f"No account {extension}") from None

    def authenticate(self, extension: str, password: str) -> Account | None:
        """Return the account when the credentials match, else None."""
        account = self.accounts.get(extension)
        if account is None or account.password != password:
            return None
        return account

    def revoke_watch(self, extension: str, target: str) -> None:
        """Stop ``extension`` from watching ``target``."""
        account = self.account(extension)
        if account.can_watch is None:
            account.can_watch = set(self.accounts)
        account.can_watch.discard(target)

    def grant_watch(self, extension: str, target: str) -> None:
        """Allow ``extension`` to watch ``target``."""
        account = self.account(extension)
        if account.can_watch is not None:
            account.can_watch.add(target)

    # -- channels -------------------------------------------------------------------------------

    def channel(self, unique_id: str) -> Channel:
        """Return a live channel or raise UnknownChannelError."""
        try:
            return self._channels[unique_id]
        except KeyError:
            raise UnknownChannelError(f"No channel {unique_id}") from None

    def _legs(self, channel: Channel) -> list[Channel]:
        """Return a channel and, for an internal call, the live channel bridged with it."""
        peer = self._channels.get(channel.peer) if channel.peer is not None else None
        return [channel] if peer is None else [channel, peer]

    def channels(self, extension: str | None = None) -> list[Channel]:
        """Return the live channels, optionally only those of ``extension``."""
        return [c for c in self._channels.values() if extension in (None, c.extension)]

    def timestamp(self, value: float) -> str | int:
        """Encode a POSIX time as this PBX sends its times (format and zone)."""
        return format_timestamp(value, self.timestamp_format, self.zone)

    def now(self) -> float:
        """Return the PBX's clock (POSIX seconds), which may be off the true time."""
        return self._clock()

    def new_unique_id(self) -> str:
        """Return a fresh Asterisk-style uniqueId ("<epoch seconds>.<sequence>")."""
        return f"{int(self._clock())}.{next(self._sequence)}"

    def params(self, channel: Channel, status: Status | None = None) -> JsonDict:
        """Build the notification params for ``channel`` as it is now."""
        account = self.accounts.get(channel.extension)
        account_wire = (
            account.as_wire()
            if account
            else {"extension": channel.extension, "accountId": "", "displayName": ""}
        )
        params: JsonDict = {
            "uniqueId": channel.unique_id,
            "account": account_wire,
            "endpoint": {"id": f"ep-{channel.extension}", "name": f"SIP/{channel.extension}"},
            "startTime": self.timestamp(channel.start_time),
            "serverTime": self.timestamp(self._clock()),
            "status": status or channel.status,
            "remotes": [dict(r) for r in channel.remotes],
            "direction": channel.direction,
        }
        if channel.dial_data is not None:
            params["dialData"] = channel.dial_data
        if channel.queue_id is not None:
            params["queueId"] = channel.queue_id
        return params

    def default_params(self, extension: str, overrides: Mapping[str, Any]) -> JsonDict:
        """Return params for a synthetic (untracked) ringing channel merged with ``overrides``."""
        channel = Channel(
            unique_id=self.new_unique_id(),
            extension=extension,
            direction="fromPbx",
            start_time=self._clock(),
            status="ringing",
        )
        return {**self.params(channel), **overrides}

    def flood_params(self, extension: str, count: int) -> list[JsonDict]:
        """Return ``count`` params alternating ringing and idle on fresh synthetic channels."""
        result: list[JsonDict] = []
        channel: Channel | None = None
        for index in range(count):
            if index % 2 == 0:
                channel = Channel(
                    unique_id=self.new_unique_id(),
                    extension=extension,
                    direction="fromPbx",
                    start_time=self._clock(),
                    status="ringing",
                    remotes=[{"callerIdName": f"Flood {index // 2}", "callerIdNumber": "5550100"}],
                )
                result.append(self.params(channel))
            else:
                assert channel is not None  # noqa: S101
                result.append(self.params(channel, "idle"))
        return result

    def _new_channel(
        self,
        extension: str,
        direction: Direction,
        status: Status,
        remotes: list[JsonDict] | None = None,
        **extra: Any,
    ) -> Channel:
        channel = Channel(
            unique_id=self.new_unique_id(),
            extension=extension,
            direction=direction,
            start_time=self._clock(),
            status=status,
            remotes=remotes or [],
            **extra,
        )
        self._channels[channel.unique_id] = channel
        return channel

    def _emit(self, channel: Channel) -> Notification:
        return Notification(channel.extension, self.params(channel))

    # -- call flows -----------------------------------------------------------------------------

    def ring(
        self,
        extension: str,
        caller_name: str,
        caller_number: str,
        *,
        queue: str | None = None,
    ) -> tuple[str, list[Notification]]:
        """Ring ``extension`` with an outside call; return the new uniqueId and notifications."""
        self.account(extension)
        queue_id = None
        if queue is not None:
            queue_account = self.accounts.get(queue)
            queue_id = queue_account.as_wire() if queue_account else {"extension": queue}
        channel = self._new_channel(
            extension,
            "fromPbx",
            "ringing",
            [{"callerIdName": caller_name, "callerIdNumber": caller_number}],
            queue_id=queue_id,
        )
        return channel.unique_id, [self._emit(channel)]

    def call(
        self,
        from_extension: str,
        to: str,
        *,
        dial_data: JsonDict | None = None,
    ) -> tuple[str, str | None, list[Notification]]:
        """Place a call from an extension: starting, then calling (and ringing on an extension)."""
        caller = self.account(from_extension)
        origin = self._new_channel(from_extension, "toPbx", "starting", dial_data=dial_data)
        events = [self._emit(origin)]
        callee = self.accounts.get(to)
        if callee is None:
            origin.outside = True
            origin.status = "calling"
            origin.remotes = [{"callerIdName": "", "callerIdNumber": to}]
            events.append(self._emit(origin))
            return origin.unique_id, None, events
        target = self._new_channel(to, "fromPbx", "ringing", [caller.as_remote()])
        target.peer = origin.unique_id
        origin.peer = target.unique_id
        origin.status = "calling"
        origin.remotes = [callee.as_remote()]
        events += [self._emit(origin), self._emit(target)]
        return origin.unique_id, target.unique_id, events

    def answer(self, unique_id: str) -> list[Notification]:
        """Answer a ringing (or outside calling) channel: it and its peer go onThePhone."""
        channel = self.channel(unique_id)
        if channel.status not in ("ringing", "calling"):
            raise PbxError(f"Channel {unique_id} is {channel.status}, not ringing")
        legs = self._legs(channel)
        for leg in legs:
            leg.status = "onThePhone"
        return [self._emit(leg) for leg in sorted(legs, key=lambda c: c.unique_id != unique_id)]

    def hold(self, unique_id: str) -> list[Notification]:
        """Put a connected channel on hold."""
        channel = self.channel(unique_id)
        if channel.status != "onThePhone":
            raise PbxError(f"Channel {unique_id} is {channel.status}, not onThePhone")
        channel.status = "onHold"
        return [self._emit(channel)]

    def resume(self, unique_id: str) -> list[Notification]:
        """Take a held channel off hold."""
        channel = self.channel(unique_id)
        if channel.status != "onHold":
            raise PbxError(f"Channel {unique_id} is {channel.status}, not onHold")
        channel.status = "onThePhone"
        return [self._emit(channel)]

    def hang_up(self, unique_id: str) -> list[Notification]:
        """End a channel and its peer: a final idle notification each, then they are removed."""
        channel = self.channel(unique_id)
        legs = self._legs(channel)
        events = []
        for leg in legs:
            del self._channels[leg.unique_id]
            leg.status = "idle"
            events.append(self._emit(leg))
        return events

    def snapshot(self) -> JsonDict:
        """Return accounts and channels as plain JSON data."""
        return {
            "accounts": [
                {
                    "extension": a.extension,
                    "display_name": a.display_name,
                    "account_id": a.account_id,
                    "can_watch": None if a.can_watch is None else sorted(a.can_watch),
                    "can_dial": a.can_dial,
                }
                for a in self.accounts.values()
            ],
            "channels": [
                {
                    "unique_id": c.unique_id,
                    "extension": c.extension,
                    "status": c.status,
                    "direction": c.direction,
                    "remotes": c.remotes,
                    "peer": c.peer,
                }
                for c in self._channels.values()
            ],
        }


STATUSES: Final[tuple[str, ...]] = get_args(Status.__value__)
