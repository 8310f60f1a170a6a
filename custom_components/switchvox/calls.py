"""Which channels of one entry's watched lines make one call: the ``call_id`` of each change.

Every phone a call rings has a channel of its own (its own PBX ``uniqueId``). A ring group
ringing five watched phones is still one call to a person, and the triggers fire once per call:
a ringing channel joins the call of the same caller (same number, compared as the missed-calls
list compares them) while that call still has a channel, or ended at most ``RING_GROUP_GRACE``
ago (a hunt group moving on). Any other channel (a call placed from a phone) is a call of its
own. A call's id is the ``uniqueId`` of its first channel.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from homeassistant.util import dt as dt_util

from .missed_calls import RING_GROUP_GRACE, normalize_number
from .rtapi import CallEvent, LineChange

# Calls remembered (open or recently ended) and channels remembered per entry.
MAX_CALLS: Final = 256


@dataclass(slots=True)
class Call:
    """One call as the watched lines saw it."""

    call_id: str
    number: str | None
    # The channels still open, as (extension, uniqueId).
    channels: set[tuple[str, str]] = field(default_factory=set)
    # Opened by a phone ringing (only such calls take in more ringing phones).
    rang: bool = False
    answered: bool = False
    ended: datetime | None = None

    @property
    def is_over(self) -> bool:
        """Return whether no channel of the call is open any more."""
        return not self.channels


class CallGroups:
    """Groups the channels of one entry's watched lines into calls."""

    def __init__(self) -> None:
        self.clock: Callable[[], datetime] = dt_util.utcnow
        self._calls: dict[str, Call] = {}
        self._by_channel: dict[tuple[str, str], Call] = {}

    def get(self, call_id: str) -> Call | None:
        """Return the call ``call_id``, while it is remembered."""
        return self._calls.get(call_id)

    def apply(self, change: LineChange) -> Call:
        """Return the call of ``change``'s channel, after noting what the change did to it."""
        key = (change.extension, change.state.unique_id)
        call = self._by_channel.get(key)
        if call is None:
            call = self._open(change)
            call.channels.add(key)
            self._by_channel[key] = call
        if change.call_event is CallEvent.ANSWERED:
            call.answered = True
        elif change.call_event in (CallEvent.HUNG_UP, CallEvent.MISSED):
            call.channels.discard(key)
            del self._by_channel[key]
            if call.is_over:
                call.ended = self.clock()
        return call

    def _open(self, change: LineChange) -> Call:
        """Return the ringing call this new channel belongs to, or a new call."""
        caller = change.state.caller
        number = normalize_number(caller.number if caller else None)
        if change.call_event is CallEvent.RINGING:
            now = self.clock()
            for call in reversed(self._calls.values()):
                if (
                    call.rang
                    and call.number == number
                    and (not call.is_over or (call.ended and now <= call.ended + RING_GROUP_GRACE))
                ):
                    return call
        call = Call(change.state.unique_id, number, rang=change.call_event is CallEvent.RINGING)
        self._calls[call.call_id] = call
        if len(self._calls) > MAX_CALLS:
            oldest = next(iter(self._calls))
            for channel in self._calls.pop(oldest).channels:
                self._by_channel.pop(channel, None)
        return call
