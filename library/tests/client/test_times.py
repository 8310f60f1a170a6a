"""Call times in the PBX's own clock: every encoding, any time zone, any drift (property tests)."""

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import assume, given, strategies as st
import pytest

from aioswitchvox import Account, LineState, LineStatus, parse_timestamp
from aioswitchvox.lines import Line
from aioswitchvox.models import MAX_CHANNEL_AGE
from switchvox_simulator import format_timestamp
from switchvox_simulator.pbx import TIMESTAMP_FORMATS

# Zones with the offsets people forget: half and three-quarter hours, daylight saving time on
# either hemisphere, a half-hour DST shift (Lord Howe), and the far side of the date line.
ZONES: tuple[tzinfo, ...] = tuple(
    ZoneInfo(name)
    for name in (
        "UTC",
        "US/Pacific",
        "America/St_Johns",
        "Europe/Berlin",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Pacific/Kiritimati",
    )
)
PACIFIC = ZoneInfo("US/Pacific")

instants = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
zones = st.sampled_from(ZONES)
formats = st.sampled_from(TIMESTAMP_FORMATS)
# Numbers may come as JSON numbers or as their text.
as_text = st.booleans()


def encode(moment: datetime, timestamp_format: str, zone: tzinfo, text: bool) -> object:
    """Return ``moment`` as a PBX in ``zone`` sends it in ``timestamp_format``."""
    encoded = format_timestamp(moment.timestamp(), timestamp_format, zone)
    return str(encoded) if text else encoded


def params(start: object, server: object) -> dict[str, Any]:
    """Return line state params with these startTime and serverTime values."""
    return {
        "uniqueId": "1",
        "account": {"extension": "101"},
        "status": "ringing",
        "startTime": start,
        "serverTime": server,
    }


def same_offset(zone: tzinfo, *moments: datetime) -> bool:
    """Return whether ``zone`` has one UTC offset at all ``moments`` (no DST change between)."""
    return len({moment.astimezone(zone).utcoffset() for moment in moments}) == 1


@given(moment=instants, timestamp_format=formats, zone=zones, text=as_text)
def test_every_encoding_parses(
    moment: datetime, timestamp_format: str, zone: tzinfo, text: bool
) -> None:
    """Epochs and ISO with a zone give the instant; a local time gives the PBX's wall clock."""
    parsed = parse_timestamp(encode(moment, timestamp_format, zone, text))
    if timestamp_format == "local":
        assert parsed == moment.astimezone(zone).replace(tzinfo=None)
        assert parsed is not None
        assert parsed.tzinfo is None
    else:
        assert parsed == moment
        assert parsed is not None
        assert parsed.tzinfo is not None


@given(
    start=instants,
    elapsed=st.integers(min_value=0, max_value=2 * 86400),
    drift=st.integers(min_value=-3 * 86400, max_value=3 * 86400),
    received=instants,
    timestamp_format=formats,
    zone=zones,
    text=as_text,
)
def test_call_start_whatever_the_zone_and_drift(
    start: datetime,
    elapsed: int,
    drift: int,
    received: datetime,
    timestamp_format: str,
    zone: tzinfo,
    text: bool,
) -> None:
    """The call start is the arrival minus the PBX's own elapsed time, to the second.

    Whatever the encoding, the PBX's zone and how far its clock is off ours. A local time is
    right unless the PBX's clock changed for daylight saving time during the call.
    """
    pbx_start = start + timedelta(seconds=drift)
    pbx_now = pbx_start + timedelta(seconds=elapsed)
    if timestamp_format == "local":
        assume(same_offset(zone, pbx_start, pbx_now))
    state = LineState.from_json(
        params(
            encode(pbx_start, timestamp_format, zone, text),
            encode(pbx_now, timestamp_format, zone, text),
        )
    )
    call_start = state.call_start(received)
    assert call_start == received - timedelta(seconds=elapsed)
    assert call_start is not None
    assert call_start.tzinfo is not None


@given(moment=instants, timestamp_format=formats, zone=zones, received=instants)
def test_call_start_without_server_time(
    moment: datetime, timestamp_format: str, zone: tzinfo, received: datetime
) -> None:
    """Without serverTime, a start that names its instant is shown as sent; a local one is not."""
    state = LineState.from_json(params(encode(moment, timestamp_format, zone, False), None))
    expected = None if timestamp_format == "local" else moment
    assert state.call_start(received) == expected


NOW = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "server"),
    [
        (None, None),
        (None, "2026-07-01 05:00:00"),
        ("soon", "2026-07-01 05:00:00"),
        ("2026-07-01 04:59:00", None),  # a local time, and nothing to measure it by
        ("2026-07-01 04:59:00", "later"),
        ("2026-07-01 05:00:02", "2026-07-01 05:00:00"),  # began after the PBX's now
        ("2026-06-20 05:00:00", "2026-07-01 05:00:00"),  # longer ago than any call
        (0, 1782907200),  # the epoch itself: the PBX does not know when the call began
        ("2026-07-01 04:59:00", 1782907200),  # one local time, one instant: not comparable
    ],
)
def test_call_start_left_out_rather_than_wrong(start: object, server: object) -> None:
    """Times that are missing, unreadable, local without a reference or contradictory: None."""
    assert LineState.from_json(params(start, server)).call_start(NOW) is None


def test_call_start_tolerates_rounding() -> None:
    """A start a fraction after the PBX's now (times rounded differently) is a call of 0 s."""
    state = LineState.from_json(params(1782907200.6, 1782907200))
    assert state.call_start(NOW) == NOW


def test_call_start_of_a_channel_up_for_days() -> None:
    """A channel up to MAX_CHANNEL_AGE old is shown; older, its times are taken as wrong."""
    server = NOW.timestamp()
    oldest = LineState.from_json(params(server - MAX_CHANNEL_AGE.total_seconds(), server))
    assert oldest.call_start(NOW) == NOW - MAX_CHANNEL_AGE
    older = LineState.from_json(params(server - MAX_CHANNEL_AGE.total_seconds() - 1, server))
    assert older.call_start(NOW) is None


def test_pbx_in_us_pacific_sending_local_times() -> None:
    """A PBX in US/Pacific (UTC-7 in July) says 05:00:00 local for a call 42 s old: 11:59:18."""
    state = LineState.from_json(params("2026-07-01 04:59:18", "2026-07-01 05:00:00"))
    assert state.start_time == datetime(2026, 7, 1, 4, 59, 18)  # its wall clock, no zone
    assert state.call_start(NOW) == datetime(2026, 7, 1, 11, 59, 18, tzinfo=UTC)
    encoded = format_timestamp(NOW.timestamp(), "local", PACIFIC)
    assert encoded == "2026-07-01 05:00:00"


def test_pbx_clock_drifted_by_hours() -> None:
    """A PBX clock 3 h 17 min fast: its own times still give the call's true start."""
    drift = timedelta(hours=3, minutes=17)
    start = NOW - timedelta(seconds=90) + drift
    state = LineState.from_json(params(start.isoformat(), (NOW + drift).isoformat()))
    assert state.call_start(NOW) == NOW - timedelta(seconds=90)


def test_channel_start_is_fixed_at_its_first_usable_notification() -> None:
    """A line's channel keeps the start of its first notification with usable times."""
    line = Line("101")

    def state(status: str, start: object, server: object) -> LineState:
        return LineState(
            unique_id="1",
            account=Account("101"),
            status=LineStatus.parse(status),
            raw_status=status,
            start_time=parse_timestamp(start),
            server_time=parse_timestamp(server),
        )

    line.apply(state("ringing", "2026-07-01 04:59:18", None), received=NOW)
    channel = line.channels["1"]
    assert channel.call_start is None  # a local time with nothing to measure it by
    line.apply(state("ringing", "2026-07-01 04:59:18", "2026-07-01 05:00:00"), received=NOW)
    assert channel.call_start == NOW - timedelta(seconds=42)
    later = NOW + timedelta(seconds=30)
    line.apply(state("onThePhone", "2026-07-01 04:59:18", "2026-07-01 05:00:31"), received=later)
    assert channel.call_start == NOW - timedelta(seconds=42)  # not moved by a second's rounding
