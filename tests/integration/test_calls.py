"""Which channels make one call: the ring-group rules behind the triggers' once per call."""

from datetime import UTC, datetime, timedelta

from custom_components.switchvox.calls import MAX_CALLS, CallGroups
from custom_components.switchvox.missed_calls import RING_GROUP_GRACE
from custom_components.switchvox.rtapi import CallEvent, LineChange, LineStatus
from custom_components.switchvox.rtapi.models import Account, LineState, Remote

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def change(
    extension: str, unique_id: str, event: CallEvent | None, number: str | None = "2125550142"
) -> LineChange:
    """Return a line change of one channel, with a caller number."""
    ended = event in (CallEvent.MISSED, CallEvent.HUNG_UP)
    status = LineStatus.IDLE if ended else LineStatus.RINGING
    state = LineState(
        unique_id=unique_id,
        account=Account(extension=extension),
        status=status,
        raw_status=status.value,
        remotes=(Remote(number=number),),
    )
    return LineChange(extension, state, LineStatus.IDLE, status, event)


def test_a_hunt_group_moving_on_stays_one_call() -> None:
    """A phone that rings within the grace after the last one stopped joins the call; later not."""
    groups = CallGroups()
    now = START
    groups.clock = lambda: now
    first = groups.apply(change("101", "a", CallEvent.RINGING))
    assert groups.apply(change("101", "a", CallEvent.MISSED)).is_over
    now += RING_GROUP_GRACE
    assert groups.apply(change("102", "b", CallEvent.RINGING)) is first
    groups.apply(change("102", "b", CallEvent.MISSED))
    now += RING_GROUP_GRACE + timedelta(seconds=1)
    later = groups.apply(change("101", "c", CallEvent.RINGING))
    assert later is not first
    assert later.call_id == "c"
    # Another caller, at the same time: a call of its own.
    assert groups.apply(change("102", "d", CallEvent.RINGING, "3125550199")).call_id == "d"


def test_calls_are_forgotten_beyond_the_cap() -> None:
    """The oldest call (and its channels) go once MAX_CALLS newer ones are remembered."""
    groups = CallGroups()
    groups.apply(change("101", "first", CallEvent.DIALING))
    for index in range(MAX_CALLS):
        groups.apply(change("101", f"call{index}", CallEvent.DIALING))
    assert groups.get("first") is None
    # Its channel is a new call now, not the forgotten one.
    assert groups.apply(change("101", "first", CallEvent.HUNG_UP)).call_id == "first"
    # ... and pushed the next oldest out.
    assert groups.get("call0") is None
    assert groups.get("call1") is not None
