"""The missed calls of one config entry: kept from line changes and dials, stored on disk.

A call that rang on a watched line and ended unanswered becomes one item to call back. Several
phones reporting ``missed`` for one call (a ring group, a queue) make one item; a later missed
call from the same number counts on the open item; the number being answered on any watched
line, or dialed with ``switchvox.dial``, completes it. The calls Home Assistant places itself
never make one. See the README's "Missed calls".
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import re
from typing import Any, Final, TypedDict
from uuid import uuid4

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DIAL_DATA_MARK, DOMAIN
from .line_events import LineUpdate
from .rtapi import CallEvent, LineChange

STORAGE_VERSION: Final = 1
# The newest items stay; older ones are dropped, open or not.
MAX_ITEMS: Final = 100
# A phone whose missed channel started ringing before another phone's missed channel of the
# same caller ended, or at most this long after it (a hunt group moving on), missed the same call.
RING_GROUP_GRACE: Final = timedelta(seconds=3)
# Channels seen ringing and numbers seen answered, remembered for the ring-group rules above.
MAX_TRACKED: Final = 256
SAVE_DELAY: Final = 1.0
# How long after Home Assistant dialed a number a leg of that call may start ringing: the login
# extension's phone rings first, and the number only once it is picked up.
PLACED_WINDOW: Final = timedelta(minutes=2)
_SEPARATORS: Final = re.compile(r"[\s\-().]")


def storage_key(entry_id: str) -> str:
    """Return the storage key of an entry's missed calls."""
    return f"{DOMAIN}.{entry_id}.missed_calls"


def normalize_number(number: str | None) -> str | None:
    """Return ``number`` without spaces, dashes, dots and parentheses (None when empty)."""
    if number is None:
        return None
    return _SEPARATORS.sub("", number) or None


class StoredCall(TypedDict):
    """One missed call as stored."""

    uid: str
    number: str | None
    name: str | None
    extensions: list[str]
    first_missed: str
    last_missed: str
    ring_end: str
    count: int
    completed: str | None
    summary: str | None


class StoredData(TypedDict):
    """What the store holds."""

    items: list[StoredCall]


@dataclass(slots=True)
class MissedCall:
    """One caller to call back: every missed call from that number since it was last done."""

    uid: str
    number: str | None
    name: str | None
    extensions: list[str]
    first_missed: datetime
    last_missed: datetime
    # When the last phone that missed this call stopped ringing (the ring-group window).
    ring_end: datetime
    count: int = 1
    completed: datetime | None = None
    # The summary the user gave the item, if they renamed it.
    summary: str | None = None

    @property
    def is_open(self) -> bool:
        """Return whether the caller still waits to be called back."""
        return self.completed is None

    def as_stored(self) -> StoredCall:
        """Return the item as the store keeps it."""
        return StoredCall(
            uid=self.uid,
            number=self.number,
            name=self.name,
            extensions=list(self.extensions),
            first_missed=self.first_missed.isoformat(),
            last_missed=self.last_missed.isoformat(),
            ring_end=self.ring_end.isoformat(),
            count=self.count,
            completed=self.completed.isoformat() if self.completed else None,
            summary=self.summary,
        )

    @classmethod
    def from_stored(cls, data: StoredCall) -> MissedCall:
        """Return the item the store kept."""
        completed = data["completed"]
        return cls(
            uid=data["uid"],
            number=data["number"],
            name=data["name"],
            extensions=list(data["extensions"]),
            first_missed=datetime.fromisoformat(data["first_missed"]),
            last_missed=datetime.fromisoformat(data["last_missed"]),
            ring_end=datetime.fromisoformat(data["ring_end"]),
            count=data["count"],
            completed=datetime.fromisoformat(completed) if completed else None,
            summary=data["summary"],
        )


@dataclass(slots=True)
class _Bounded[KeyT]:
    """Times by key, forgetting the oldest beyond MAX_TRACKED."""

    times: dict[KeyT, datetime] = field(default_factory=dict)

    def put(self, key: KeyT, when: datetime) -> None:
        """Remember ``when`` for ``key``, as the newest."""
        self.times.pop(key, None)
        if len(self.times) >= MAX_TRACKED:
            del self.times[next(iter(self.times))]
        self.times[key] = when


class MissedCalls:
    """The missed calls of one entry, newest first, saved to a ``Store`` after each change."""

    def __init__(self, hass: HomeAssistant, entry_id: str, login_extension: str) -> None:
        self.hass = hass
        self.login_extension = login_extension
        self.store: Store[StoredData] = Store(
            hass, STORAGE_VERSION, storage_key(entry_id), private=True
        )
        self.items: list[MissedCall] = []
        # What time it is (tests set their own clock: the session's timers run on real time).
        self.clock: Callable[[], datetime] = dt_util.utcnow
        self._ringing: _Bounded[tuple[str, str]] = _Bounded()
        self._answered: _Bounded[str] = _Bounded()
        # Numbers Home Assistant dialed, and when.
        self._placed: _Bounded[str] = _Bounded()
        self._listeners: list[Callable[[Context | None], None]] = []
        self._unsaved = False

    async def async_load(self) -> None:
        """Read the items kept before the restart."""
        if (data := await self.store.async_load()) is not None:
            self.items = [MissedCall.from_stored(item) for item in data["items"]]

    async def async_flush(self) -> None:
        """Write a pending change now (on unload: the delayed write may not outlive the entry)."""
        if self._unsaved:
            await self.store.async_save(self._data_to_save())

    def _data_to_save(self) -> StoredData:
        """Return the items to store (called by the store when it writes)."""
        self._unsaved = False
        return StoredData(items=[item.as_stored() for item in self.items])

    @callback
    def async_add_listener(self, listener: Callable[[Context | None], None]) -> CALLBACK_TYPE:
        """Call ``listener`` after each change, with the context of the line change behind it."""
        self._listeners.append(listener)

        @callback
        def remove_listener() -> None:
            self._listeners.remove(listener)

        return remove_listener

    @callback
    def _changed(self, context: Context | None = None) -> None:
        """Save the items soon and tell the listeners."""
        self._unsaved = True
        self.store.async_delay_save(self._data_to_save, SAVE_DELAY)
        for listener in tuple(self._listeners):
            listener(context)

    @property
    def open_count(self) -> int:
        """Return how many callers wait to be called back."""
        return sum(item.is_open for item in self.items)

    # What the PBX and the user do.

    @callback
    def async_handle_line_update(self, update: LineUpdate | None) -> None:
        """Note a ringing channel; add or count a missed call; complete an answered number."""
        if update is None:  # the session went up or down: no call changed
            return
        change = update.change
        event = change.call_event
        if event is CallEvent.RINGING:
            self._ringing.put((change.extension, change.state.unique_id), self.clock())
            return
        if event not in (CallEvent.MISSED, CallEvent.ANSWERED):
            return
        caller = change.state.caller
        number = normalize_number(caller.number if caller else None)
        now = self.clock()
        if event is CallEvent.ANSWERED:
            if number is not None:
                self._answered.put(number, now)
                self._complete(number, now, update.context)
            return
        started = self._ringing.times.pop((change.extension, change.state.unique_id), now)
        answered = self._answered.times.get(number) if number is not None else None
        if answered is not None and answered >= started:
            return  # answered on another watched line while this phone rang: not missed
        if self._placed_here(change, started):
            return
        self._add(number, caller.name if caller else None, change.extension, started, now)
        self._changed(update.context)

    def _placed_here(self, change: LineChange, started: datetime) -> bool:
        """Return whether a channel is a leg of a call Home Assistant placed.

        Marked in its dial data (the login extension's leg, if the PBX echoes it), or, when the
        PBX dropped the dial data: the dialed extension rung by the login extension, or the
        login extension rung with the dialed number, soon after the dial.
        """
        state = change.state
        if state.dial_data is not None and state.dial_data.get(DIAL_DATA_MARK) is True:
            return True
        caller = normalize_number(state.caller.number if state.caller else None)
        if caller == self.login_extension:
            number: str | None = change.extension
        elif change.extension == self.login_extension:
            number = caller
        else:
            return False
        placed = self._placed.times.get(number) if number is not None else None
        return placed is not None and placed <= started <= placed + PLACED_WINDOW

    @callback
    def async_handle_dialing(self, number: str) -> None:
        """Note that Home Assistant is dialing ``number``: its legs are no missed calls."""
        if (normalized := normalize_number(number)) is not None:
            self._placed.put(normalized, self.clock())

    @callback
    def async_handle_dial_failed(self, number: str) -> None:
        """Forget a dial the PBX did not place."""
        if (normalized := normalize_number(number)) is not None:
            self._placed.times.pop(normalized, None)

    @callback
    def async_handle_dialed(self, number: str) -> None:
        """Complete the open item of a number the entry's extension has just dialed."""
        if (normalized := normalize_number(number)) is not None:
            self._complete(normalized, self.clock(), None)

    def _complete(self, number: str, now: datetime, context: Context | None) -> None:
        """Complete the open item of ``number``, if there is one."""
        for item in self.items:
            if item.number == number and item.is_open:
                item.completed = now
                self._changed(context)
                return

    def _add(
        self, number: str | None, name: str | None, extension: str, started: datetime, now: datetime
    ) -> None:
        """Add a missed call, or count it on the caller's item (once per call)."""
        latest = next((item for item in self.items if item.number == number), None)
        if latest is not None and started <= latest.ring_end + RING_GROUP_GRACE:
            # Another phone of the same call (ring group): named on the item, not counted.
            if extension not in latest.extensions:
                latest.extensions.append(extension)
            latest.ring_end = max(latest.ring_end, now)
            return
        if latest is not None and latest.is_open and number is not None:
            self.items.remove(latest)
            latest.count += 1
            latest.last_missed = latest.ring_end = now
            latest.name = name or latest.name
            if extension not in latest.extensions:
                latest.extensions.append(extension)
            self.items.insert(0, latest)
            return
        item = MissedCall(uuid4().hex, number, name, [extension], now, now, now)
        self.items.insert(0, item)
        del self.items[MAX_ITEMS:]

    @callback
    def async_update(self, item: MissedCall, *, done: bool | None, summary: str | None) -> None:
        """Check an item off or reopen it (None: neither), and rename it (None: keep)."""
        if done is not None and done == item.is_open:
            item.completed = self.clock() if done else None
        if summary is not None:
            item.summary = summary
        self._changed()

    @callback
    def async_delete(self, uids: Iterable[str]) -> None:
        """Delete items."""
        remove = set(uids)
        self.items = [item for item in self.items if item.uid not in remove]
        self._changed()

    def diagnostics(self) -> dict[str, Any]:
        """Return the list's size: how many items, open and done (not who called)."""
        return {
            "items": len(self.items),
            "open": self.open_count,
            "counted_calls": sum(item.count for item in self.items),
        }


async def async_remove_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the stored missed calls of a removed entry."""
    await Store[StoredData](hass, STORAGE_VERSION, storage_key(entry_id)).async_remove()
