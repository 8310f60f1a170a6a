"""Per-extension line tracking: channels keyed by ``uniqueId`` folded into one line status.

One extension can have several channels at once (a call on hold and another ringing). The
line shows the channel that matters most, by :data:`STATUS_PRIORITY`, and a channel ending
does not reset the line while another is still up. Each change also yields the call event it
means (ringing, answered, hung up, missed...), derived from the channel's own history.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import logging
from typing import Final

from .models import Account, LineState, LineStatus

_LOGGER = logging.getLogger(__name__)

MAX_CHANNELS_PER_EXTENSION: Final = 32
# Distinct undocumented status values remembered per line (for diagnostics); a hostile or broken
# PBX must not grow this without limit.
MAX_UNKNOWN_STATUSES: Final = 16

# Highest first: a ringing phone is what people react to, then the call in progress, then a
# call being placed; a held call only shows when nothing else is going on.
STATUS_PRIORITY: Final[tuple[LineStatus, ...]] = (
    LineStatus.RINGING,
    LineStatus.ON_THE_PHONE,
    LineStatus.CALLING,
    LineStatus.STARTING,
    LineStatus.ON_HOLD,
)
_RANK: Final = {status: rank for rank, status in enumerate(STATUS_PRIORITY)}
_DIALING: Final = frozenset({LineStatus.STARTING, LineStatus.CALLING})


class CallEvent(StrEnum):
    """What a channel's change means to people."""

    RINGING = "ringing"
    DIALING = "dialing"
    ANSWERED = "answered"
    HELD = "held"
    HUNG_UP = "hung_up"
    MISSED = "missed"


@dataclass(slots=True)
class Channel:
    """The last known state of one channel and what it went through."""

    state: LineState
    status: LineStatus
    answered: bool = False
    rang: bool = False
    call_start: datetime | None = None
    """When the channel began, on our clock (:meth:`LineState.call_start`), fixed once known."""


@dataclass(frozen=True, slots=True)
class LineChange:
    """One channel's change, with the line status before and after it."""

    extension: str
    state: LineState
    previous_status: LineStatus
    status: LineStatus
    call_event: CallEvent | None


@dataclass(slots=True)
class Line:
    """The channels of one extension."""

    extension: str
    channels: dict[str, Channel] = field(default_factory=dict)
    account: Account | None = None
    unknown_statuses: set[str] = field(default_factory=set)

    @property
    def primary(self) -> Channel | None:
        """Return the channel that decides the line status (newest among equals)."""
        best: Channel | None = None
        for channel in self.channels.values():
            if best is None or _RANK[channel.status] <= _RANK[best.status]:
                best = channel
        return best

    @property
    def status(self) -> LineStatus:
        """Return the line status: the primary channel's, or idle without channels."""
        primary = self.primary
        return primary.status if primary else LineStatus.IDLE

    def clear(self) -> None:
        """Forget every channel: after a reconnect nothing from before is trusted."""
        self.channels.clear()

    def apply(self, state: LineState, received: datetime | None = None) -> LineChange | None:
        """Apply one notification that arrived at ``received`` (now, if not given).

        Return the change, or None when nothing changed.
        """
        if state.account.name:
            self.account = state.account
        channel = self.channels.get(state.unique_id)
        previous = channel.status if channel else LineStatus.IDLE
        status = state.status
        if status is LineStatus.UNKNOWN:
            # Keep the last known state of the channel; note the raw value (once) meanwhile.
            if (
                state.raw_status not in self.unknown_statuses
                and len(self.unknown_statuses) < MAX_UNKNOWN_STATUSES
            ):
                self.unknown_statuses.add(state.raw_status)
                _LOGGER.warning(
                    "Extension %s reported the unknown line status %.64r; keeping its last state",
                    self.extension,
                    state.raw_status,
                )
            if channel is None:
                return None
            channel.state = state
            return None
        event: CallEvent | None
        if status is LineStatus.IDLE:
            if channel is None:
                return None
            del self.channels[state.unique_id]
            event = _ended_event(channel)
        else:
            if channel is None:
                channel = self._open(state)
            channel.state = state
            if channel.call_start is None:
                channel.call_start = state.call_start(received or datetime.now(UTC))
            if previous is status:
                return None
            channel.status = status
            event = _transition_event(channel, previous, status)
        return LineChange(self.extension, state, previous, status, event)

    def _open(self, state: LineState) -> Channel:
        """Start tracking a channel, evicting the stalest one beyond the cap."""
        if len(self.channels) >= MAX_CHANNELS_PER_EXTENSION:
            del self.channels[next(iter(self.channels))]
        channel = Channel(state=state, status=LineStatus.IDLE)
        self.channels[state.unique_id] = channel
        return channel


class LineTracker:
    """The lines of a set of watched extensions."""

    def __init__(self, extensions: Iterable[str]) -> None:
        self.lines: dict[str, Line] = {ext: Line(ext) for ext in extensions}

    def apply(self, state: LineState, received: datetime | None = None) -> LineChange | None:
        """Route a notification (arrived at ``received``, or now) to its line.

        Extensions we do not watch are ignored.
        """
        line = self.lines.get(state.account.extension)
        return line.apply(state, received) if line else None

    def clear(self) -> None:
        """Forget every channel of every line."""
        for line in self.lines.values():
            line.clear()


def _transition_event(
    channel: Channel, previous: LineStatus, status: LineStatus
) -> CallEvent | None:
    """Return the call event of a channel moving from ``previous`` to ``status``."""
    if status is LineStatus.RINGING:
        channel.rang = True
        return CallEvent.RINGING
    if status in _DIALING:
        return None if previous in _DIALING else CallEvent.DIALING
    if status is LineStatus.ON_HOLD:
        return CallEvent.HELD
    if status is LineStatus.ON_THE_PHONE:
        if previous is LineStatus.ON_HOLD or channel.answered:
            return None  # resumed from hold: the call was answered long ago
        channel.answered = True
        return CallEvent.ANSWERED
    return None


def _ended_event(channel: Channel) -> CallEvent:
    """Return how a channel ended: missed if it rang and nobody answered."""
    if channel.rang and not channel.answered:
        return CallEvent.MISSED
    return CallEvent.HUNG_UP
