"""Unit tests of per-extension line tracking: channel priority and call event derivation."""

import itertools

import pytest

from aioswitchvox import Account, LineState, LineStatus
from aioswitchvox.lines import (
    MAX_CHANNELS_PER_EXTENSION,
    MAX_UNKNOWN_STATUSES,
    STATUS_PRIORITY,
    CallEvent,
    Channel,
    Line,
    LineChange,
    LineTracker,
    _transition_event,
)

IDLE = LineStatus.IDLE
STARTING = LineStatus.STARTING
CALLING = LineStatus.CALLING
ON_THE_PHONE = LineStatus.ON_THE_PHONE
RINGING = LineStatus.RINGING
ON_HOLD = LineStatus.ON_HOLD


def state(uid: str, status: str, extension: str = "101", name: str | None = None) -> LineState:
    """Return a line state of channel ``uid`` on ``extension``."""
    return LineState(
        unique_id=uid,
        account=Account(extension, name=name),
        status=LineStatus.parse(status),
        raw_status=status,
    )


def events(line: Line, *steps: tuple[str, str]) -> list[CallEvent | None]:
    """Apply (uid, status) steps and return the call event of each change (None if none)."""
    result: list[CallEvent | None] = []
    for uid, status in steps:
        change = line.apply(state(uid, status, line.extension))
        result.append(change.call_event if change else None)
    return result


def test_empty_line_is_idle() -> None:
    """A line without channels is idle and has no primary channel."""
    line = Line("101")
    assert line.status is IDLE
    assert line.primary is None


def test_incoming_call_answered_and_hung_up() -> None:
    """Ringing, answered, hung up: one event each."""
    line = Line("101")
    assert events(line, ("a", "ringing"), ("a", "onThePhone"), ("a", "idle")) == [
        CallEvent.RINGING,
        CallEvent.ANSWERED,
        CallEvent.HUNG_UP,
    ]
    assert line.status is IDLE
    assert not line.channels


def test_missed_call() -> None:
    """A channel that rang and ended without being answered is missed."""
    line = Line("101")
    assert events(line, ("a", "ringing"), ("a", "idle")) == [CallEvent.RINGING, CallEvent.MISSED]


def test_answered_call_after_ringing_is_not_missed() -> None:
    """A call that rang, was answered and held is hung up, not missed."""
    line = Line("101")
    assert events(line, ("a", "ringing"), ("a", "onThePhone"), ("a", "onHold"), ("a", "idle"))[
        -1
    ] == (CallEvent.HUNG_UP)


def test_outgoing_call_dialing_once() -> None:
    """Starting then calling yields one dialing event; answering yields answered."""
    line = Line("101")
    assert events(
        line, ("a", "starting"), ("a", "calling"), ("a", "onThePhone"), ("a", "idle")
    ) == [CallEvent.DIALING, None, CallEvent.ANSWERED, CallEvent.HUNG_UP]


def test_calling_without_starting_is_dialing() -> None:
    """A channel first seen calling is dialing; calling back to starting is not a new dial."""
    line = Line("101")
    assert events(line, ("a", "calling"), ("a", "starting")) == [CallEvent.DIALING, None]


def test_unanswered_outgoing_call_is_hung_up() -> None:
    """An outgoing call that never connects did not ring here: hung up, not missed."""
    line = Line("101")
    assert events(line, ("a", "starting"), ("a", "idle")) == [CallEvent.DIALING, CallEvent.HUNG_UP]


def test_hold_and_resume() -> None:
    """Hold gives held; resume gives no event; a second hold is held again."""
    line = Line("101")
    assert events(
        line,
        ("a", "ringing"),
        ("a", "onThePhone"),
        ("a", "onHold"),
        ("a", "onThePhone"),
        ("a", "onHold"),
        ("a", "onThePhone"),
    ) == [
        CallEvent.RINGING,
        CallEvent.ANSWERED,
        CallEvent.HELD,
        None,
        CallEvent.HELD,
        None,
    ]
    assert line.status is ON_THE_PHONE


def test_answered_once_per_channel() -> None:
    """A channel back on the phone after ringing again is not answered twice."""
    line = Line("101")
    assert (
        events(line, ("a", "ringing"), ("a", "onThePhone"), ("a", "ringing"), ("a", "onThePhone"))[
            -1
        ]
        is None
    )


def test_repeated_status_is_not_a_change() -> None:
    """The same status again returns None but keeps the newest state."""
    line = Line("101")
    line.apply(state("a", "ringing"))
    newer = state("a", "ringing", name="Alice")
    assert line.apply(newer) is None
    assert line.channels["a"].state is newer


def test_idle_for_unknown_channel_is_ignored() -> None:
    """An idle notification for a channel never seen changes nothing."""
    line = Line("101")
    assert line.apply(state("a", "idle")) is None
    assert not line.channels


def test_unknown_status_keeps_last_known_state() -> None:
    """An unknown status keeps the channel's status, stores the state and records the value."""
    line = Line("101")
    assert line.apply(state("new", "parked")) is None
    assert not line.channels
    line.apply(state("a", "onThePhone"))
    weird = state("a", "transferring")
    assert line.apply(weird) is None
    assert line.channels["a"].status is ON_THE_PHONE
    assert line.channels["a"].state is weird
    assert line.status is ON_THE_PHONE
    assert line.unknown_statuses == {"parked", "transferring"}


def test_unknown_statuses_are_bounded() -> None:
    """Only a bounded number of distinct unknown statuses is remembered."""
    line = Line("101")
    for index in range(MAX_UNKNOWN_STATUSES * 4):
        line.apply(state("a", f"weird-{index}"))
    assert len(line.unknown_statuses) == MAX_UNKNOWN_STATUSES


@pytest.mark.parametrize(("higher", "lower"), list(itertools.pairwise(STATUS_PRIORITY)))
def test_priority_across_channels(higher: LineStatus, lower: LineStatus) -> None:
    """The line shows the channel of higher priority whichever arrived first."""
    for order in ((higher, lower), (lower, higher)):
        line = Line("101")
        for index, status in enumerate(order):
            line.apply(state(f"c{index}", status.value))
        assert line.status is higher


def test_priority_ringing_over_call_over_hold() -> None:
    """Held, talking and ringing channels: ringing shows, then talking, then held."""
    line = Line("101")
    line.apply(state("held", "onThePhone"))
    line.apply(state("held", "onHold"))
    line.apply(state("talk", "onThePhone"))
    assert line.status is ON_THE_PHONE
    change = line.apply(state("ring", "ringing"))
    assert change is not None
    assert line.status is RINGING
    assert line.primary is line.channels["ring"]
    change = line.apply(state("ring", "idle"))
    assert change is not None
    assert change.call_event is CallEvent.MISSED
    assert line.status is ON_THE_PHONE
    change = line.apply(state("talk", "idle"))
    assert change is not None
    assert line.status is ON_HOLD


def test_newest_channel_wins_among_equals() -> None:
    """Between channels of the same status the newest is primary."""
    line = Line("101")
    line.apply(state("first", "ringing"))
    line.apply(state("second", "ringing"))
    assert line.primary is line.channels["second"]


def test_channel_ending_does_not_reset_line() -> None:
    """One channel ending leaves the line in the state of the channel still up."""
    line = Line("101")
    line.apply(state("a", "onThePhone"))
    line.apply(state("b", "ringing"))
    change = line.apply(state("a", "idle"))
    assert change == LineChange(
        extension="101",
        state=state("a", "idle"),
        previous_status=ON_THE_PHONE,
        status=IDLE,
        call_event=CallEvent.HUNG_UP,
    )
    assert line.status is RINGING
    assert list(line.channels) == ["b"]


def test_change_reports_channel_status() -> None:
    """A change carries the channel's previous and new status; the line follows."""
    line = Line("101")
    change = line.apply(state("a", "starting"))
    assert change is not None
    assert change.extension == "101"
    assert (change.previous_status, change.status) == (IDLE, STARTING)
    assert line.status is STARTING


def test_channel_cap_evicts_oldest() -> None:
    """Beyond MAX_CHANNELS_PER_EXTENSION the oldest channel is forgotten."""
    line = Line("101")
    for index in range(MAX_CHANNELS_PER_EXTENSION + 5):
        line.apply(state(f"c{index}", "onHold"))
        assert len(line.channels) <= MAX_CHANNELS_PER_EXTENSION
    assert len(line.channels) == MAX_CHANNELS_PER_EXTENSION
    assert "c0" not in line.channels
    assert f"c{MAX_CHANNELS_PER_EXTENSION + 4}" in line.channels


def test_account_name_is_remembered() -> None:
    """The line keeps the last account that carried a display name."""
    line = Line("101")
    line.apply(state("a", "ringing", name="Alice"))
    line.apply(state("a", "onThePhone"))
    assert line.account == Account("101", name="Alice")


def test_clear_forgets_channels() -> None:
    """Clearing a line makes it idle."""
    line = Line("101")
    line.apply(state("a", "ringing"))
    line.clear()
    assert line.status is IDLE


def test_tracker_routes_by_extension() -> None:
    """The tracker applies states to their extension's line and ignores others."""
    tracker = LineTracker(["101", "102"])
    change = tracker.apply(state("a", "ringing", "102"))
    assert change is not None
    assert change.extension == "102"
    assert tracker.lines["102"].status is RINGING
    assert tracker.lines["101"].status is IDLE
    assert tracker.apply(state("b", "ringing", "999")) is None
    tracker.clear()
    assert tracker.lines["102"].status is IDLE


def test_transition_to_unhandled_status_has_no_event() -> None:
    """A transition to a status without a meaning (defensive fallback) yields no event."""
    channel = Channel(state=state("a", "ringing"), status=RINGING)
    assert _transition_event(channel, RINGING, LineStatus.UNKNOWN) is None
