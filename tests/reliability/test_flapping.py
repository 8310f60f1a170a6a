"""Sessions the PBX closes or ends: counted logins, one story in the log, a repair issue.

Minutes of reconnects run on controlled time (``tests.clock``) against the simulator over real
sockets: the session's backoff and the simulator's timers sleep on one virtual clock, and time
jumps from one deadline to the next once the network has settled. ``pytest -s`` prints the
figures recorded in the README's Reliability section.
"""

from collections.abc import Awaitable, Callable, Generator
import itertools
import logging
import re
from typing import Any
from unittest.mock import patch

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox.const import DOMAIN, ISSUE_SESSIONS_CLOSED, SERVICE_DIAL
from custom_components.switchvox.coordinator import SwitchvoxCoordinator
from custom_components.switchvox.rtapi.session import (
    QUICK_RETRY_AFTER,
    SESSION_CHECK_INTERVAL,
    STABLE_SESSION,
)
from switchvox_simulator import SwitchvoxSimulator
from tests.clock import VirtualClock
from tests.integration.helpers import state_of

from .conftest import count, recovered

LINE_101 = "sensor.extension_101_line"
MINUTE = 60.0
# The issue's bar: once flapping has gone on for a minute, at most about 10 logins a minute.
MAX_LOGINS_PER_MINUTE = 10
# The longest delay between two attempts: the cap (60 s) with its jitter.
MAX_DELAY = 75.0


@pytest.fixture
def clock() -> VirtualClock:
    """Return the clock the session and the simulator share."""
    return VirtualClock()


@pytest.fixture
def simulator_options(clock: VirtualClock) -> dict[str, Any]:
    """Run the simulator's timers (drop after N seconds) on the virtual clock."""
    return {"sleep": clock.server.sleep}


@pytest.fixture
def mock_config_entry(
    mock_config_entry: MockConfigEntry, clock: VirtualClock
) -> Generator[MockConfigEntry]:
    """Return the entry, set up (by ``init_integration``) with its session on the clock."""
    with patch(
        "custom_components.switchvox.rtapi.session.MonotonicClock", return_value=clock.session
    ):
        yield mock_config_entry


@pytest.fixture
def entry(init_integration: MockConfigEntry) -> MockConfigEntry:
    """Return the entry, set up against the simulator."""
    return init_integration


class Flapping:
    """Runs virtual time over one entry and its simulator, noting when each login came."""

    def __init__(
        self, hass: HomeAssistant, simulator: SwitchvoxSimulator, entry: MockConfigEntry
    ) -> None:
        self.hass = hass
        self.simulator = simulator
        self.coordinator: SwitchvoxCoordinator = entry.runtime_data
        self.clock: VirtualClock | None = None
        self.login_times: list[float] = []
        self.action: Callable[[], Awaitable[None]] | None = None

    def settled(self) -> bool:
        """Return whether client and server agree and the session waits on the clock.

        A request awaiting its answer (a session check) is network still under way.
        """
        session = self.coordinator.session
        assert self.clock is not None
        agreed = session.client.connected == (self.simulator.connections > 0)
        waiting = self.clock.session.sleeping > 0 or session.up
        return agreed and waiting and session.client.pending_requests == 0

    async def _step(self) -> None:
        """Note the logins since the last step (they happened at this virtual time)."""
        assert self.clock is not None
        logins = count(self.simulator, "login")
        self.login_times.extend([self.clock.now] * (logins - len(self.login_times)))
        if self.action is not None:
            await self.action()

    async def run(self, clock: VirtualClock, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass."""
        self.clock = clock
        await clock.run_for(seconds, self.settled, self._step)
        await self._step()
        await self.hass.async_block_till_done()

    def logins_per_minute(self) -> list[int]:
        """Return the logins of each virtual minute so far."""
        assert self.clock is not None
        minutes = [0] * max(1, int(self.clock.now // MINUTE))
        for at in self.login_times:
            minute = int(at // MINUTE)
            if minute < len(minutes):
                minutes[minute] += 1
        return minutes


@pytest.fixture
def flapping(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, entry: MockConfigEntry
) -> Flapping:
    """Return the driver of virtual time over the entry."""
    flapping = Flapping(hass, simulator, entry)
    flapping.login_times = [0.0] * count(simulator, "login")  # the setup's login
    return flapping


def _notify_once_per_session(flapping: Flapping) -> Callable[[], Awaitable[None]]:
    """Return a step that sends each open session one notification (the PBX then drops it)."""
    notified: set[int] = set()

    async def step() -> None:
        logins = count(flapping.simulator, "login")
        if flapping.coordinator.session.up and logins not in notified:
            notified.add(logins)
            await flapping.simulator.notify("101", {})

    return step


PATTERNS: dict[str, dict[str, Any]] = {
    "after_login": {"after": "login"},
    "after_subscribe": {"after": "subscribe"},
    "after_first_notification": {"notifications": 1},
    "after_5_seconds": {"seconds": 5.0},
    "after_15_seconds": {"seconds": 15.0},
    "after_25_seconds": {"seconds": 25.0},
}


@pytest.mark.parametrize("pattern", PATTERNS)
async def test_flapping_pbx_is_not_hammered(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry: MockConfigEntry,
    clock: VirtualClock,
    flapping: Flapping,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
    pattern: str,
) -> None:
    """Whatever the pattern, at most ~10 logins a minute once it has gone on for a minute.

    The log tells one story: the loss once, nothing more at info while it flaps; after five
    minutes a repair issue names the likely causes. Once the PBX keeps a session, it is back
    within the last backoff delay; the log says so once, with the outage's length and
    attempts, once the session has stayed up, and the repair issue clears itself.
    """
    caplog.set_level(logging.INFO, logger="custom_components.switchvox")
    simulator.set_flapping(**PATTERNS[pattern])
    if pattern == "after_first_notification":
        flapping.action = _notify_once_per_session(flapping)
    # The setup's session is the first to be closed (the subscribe answer came before the
    # fault was set for most patterns): drop it, as the PBX would have.
    await simulator.drop_connections()
    # Five minutes, and the next closed session at most one backoff delay later: the delay
    # (jittered) to its login, then however long the pattern keeps the session open.
    session_length = PATTERNS[pattern].get("seconds", 0.0)
    await flapping.run(clock, 5 * MINUTE + MAX_DELAY + session_length + 1.0)

    per_minute = flapping.logins_per_minute()
    print(f"\n{pattern}: logins per virtual minute {per_minute}")  # noqa: T201
    assert sum(per_minute) >= 5, per_minute  # it did keep trying
    assert max(per_minute[1:]) <= MAX_LOGINS_PER_MINUTE, per_minute
    assert per_minute[0] <= MAX_LOGINS_PER_MINUTE + 2, per_minute
    lost = caplog.text.count("Lost the connection to the Switchvox PBX")
    assert lost == 1
    assert "restored" not in caplog.text
    issue_id = f"{ISSUE_SESSIONS_CLOSED}_{entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == ISSUE_SESSIONS_CLOSED

    # The PBX keeps the session again: back within the backoff's last delay, then settled.
    simulator.set_flapping()
    flapping.action = None
    stopped = clock.now
    coordinator = flapping.coordinator
    while not recovered(coordinator, simulator):
        await flapping.run(clock, 1.0)
    recovery = clock.now - stopped
    print(f"{pattern}: back {recovery:.1f} s (virtual) after the PBX kept the session")  # noqa: T201
    assert recovery <= MAX_DELAY
    assert state_of(hass, LINE_101) == "idle"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None  # not settled yet
    await flapping.run(clock, STABLE_SESSION + 1)
    assert recovered(coordinator, simulator)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    restored = [r.getMessage() for r in caplog.records if "restored" in r.getMessage()]
    assert len(restored) == 1, restored
    assert " down and " in restored[0]
    assert restored[0].endswith("attempts")
    assert caplog.text.count("Lost the connection to the Switchvox PBX") == 1


async def test_single_drop_is_repaired_at_once(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry: MockConfigEntry,
    clock: VirtualClock,
    flapping: Flapping,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After a settled session, the first retry comes 0.1 s later (never more than 1 s)."""
    caplog.set_level(logging.INFO, logger="custom_components.switchvox")
    await flapping.run(clock, STABLE_SESSION + 1)  # the setup's session settles
    logins = count(simulator, "login")
    await simulator.drop_connections()
    dropped = clock.now
    while count(simulator, "login") == logins:
        await flapping.run(clock, 0.01)
    first_retry = clock.now - dropped
    print(f"\nfirst retry after a single drop: {first_retry:.3f} s")  # noqa: T201
    assert 0.05 <= first_retry <= 1.0
    assert recovered(flapping.coordinator, simulator)
    await flapping.run(clock, STABLE_SESSION + 1)
    assert caplog.text.count("Lost the connection") == 1
    restored = [r.getMessage() for r in caplog.records if "restored" in r.getMessage()]
    assert restored == [
        f"Connection to the Switchvox PBX at 127.0.0.1 restored after "
        f"{first_retry:.1f} s down and 1 attempt"
    ]


async def test_settled_sessions_start_the_backoff_over(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry: MockConfigEntry,
    clock: VirtualClock,
    flapping: Flapping,
) -> None:
    """Sessions that each stay up past STABLE_SESSION are reconnected at once every time."""
    simulator.set_flapping(seconds=STABLE_SESSION + 5)
    await simulator.drop_connections()  # the setup's session came before the fault
    await flapping.run(clock, 10 * MINUTE)
    # Each cycle: 35 s up, then a retry after about 0.1 s (never a grown delay).
    times = flapping.login_times[1:]  # after the setup's
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) >= 16
    assert all(STABLE_SESSION + 5 <= gap <= STABLE_SESSION + 6 for gap in gaps), gaps


async def test_a_session_of_use_after_flapping_is_retried_at_once(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry: MockConfigEntry,
    clock: VirtualClock,
    flapping: Flapping,
) -> None:
    """After minutes of flapping, a session up 21 s that drops once is back within a second.

    The flapping has taken the backoff to its cap; the 21 s session did not settle (30 s), but
    it was of use: its drop earns one quick retry instead of the minute the level says.
    """
    simulator.set_flapping(after="login")
    await simulator.drop_connections()
    await flapping.run(clock, 4 * MINUTE)
    assert not flapping.coordinator.session.up
    # The PBX keeps each session 21 s from now on, then closes it and accepts the next at once.
    simulator.set_flapping(seconds=21.0)
    coordinator = flapping.coordinator
    while not recovered(coordinator, simulator):
        await flapping.run(clock, 1.0)
    up_since = flapping.login_times[-1]
    await flapping.run(clock, 21.0 - (clock.now - up_since) + 0.5)
    assert len(flapping.login_times) == count(simulator, "login")
    back = flapping.login_times[-1] - (up_since + 21.0)
    print(f"\nafter flapping, back {back:.2f} s (virtual) after a 21 s session dropped")  # noqa: T201
    assert 0 < back <= 1.0
    assert 21.0 - QUICK_RETRY_AFTER > 1  # the session was of use by a clear margin
    simulator.set_flapping()
    await flapping.run(clock, 1.0)
    assert recovered(coordinator, simulator)


async def test_outage_of_refused_connections_tells_one_story(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry: MockConfigEntry,
    clock: VirtualClock,
    flapping: Flapping,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A PBX that is simply down for ten minutes: one line lost, one restored, no flap issue."""
    caplog.set_level(logging.INFO, logger="custom_components.switchvox")
    simulator.set_accepting(False)
    await simulator.drop_connections()
    await flapping.run(clock, 10 * MINUTE)
    assert state_of(hass, LINE_101) == STATE_UNAVAILABLE
    attempts = flapping.coordinator.session.outage
    assert attempts is not None
    assert attempts.attempts >= 10
    assert attempts.closed_sessions == 0
    assert (
        issue_registry.async_get_issue(DOMAIN, f"{ISSUE_SESSIONS_CLOSED}_{entry.entry_id}") is None
    )
    simulator.set_accepting(True)
    await flapping.run(clock, 2 * MINUTE)
    assert recovered(flapping.coordinator, simulator)
    assert caplog.text.count("Lost the connection") == 1
    restored = [r.getMessage() for r in caplog.records if "restored" in r.getMessage()]
    assert len(restored) == 1
    # Ten minutes down, and the next attempt up to a jittered minute and a quarter later.
    assert re.search(r"restored after 1[01] min", restored[0]), restored[0]


# -- a PBX that ends the API session but keeps the socket open ------------------------------------


def _switchvox_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the integration's log lines at warning level or above."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.switchvox")
        and record.levelno >= logging.WARNING
    ]


async def test_expired_session_found_by_a_dial_is_restarted(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry: MockConfigEntry,
    clock: VirtualClock,
    flapping: Flapping,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dial answered "not authenticated" fails, and a new session follows within a second.

    The lines start fresh (the call ringing before is forgotten until its next change), no
    reauthentication is asked for (the password was fine), and notifications flow again.
    """
    caplog.set_level(logging.INFO, logger="custom_components.switchvox")
    coordinator = flapping.coordinator
    await flapping.run(clock, STABLE_SESSION + 1)
    await simulator.ring("101", "Zed", "5550100")
    await flapping.run(clock, 0.01)
    assert state_of(hass, LINE_101) == "ringing"
    logins = count(simulator, "login")
    simulator.expire_sessions()

    with pytest.raises(HomeAssistantError, match="Not authenticated"):
        await hass.services.async_call(DOMAIN, SERVICE_DIAL, {"extension": "102"}, blocking=True)
    expired = clock.now
    await flapping.run(clock, 1.0)
    assert recovered(coordinator, simulator)
    assert flapping.login_times[logins] - expired <= 1.0
    assert count(simulator, "login") == logins + 1
    assert state_of(hass, LINE_101) == "idle"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)  # no reauth
    await simulator.ring("102", "Zed", "5550100")
    await flapping.run(clock, 0.01)
    assert state_of(hass, "sensor.extension_102_line") == "ringing"
    messages = [record.getMessage() for record in caplog.records]
    assert "The Switchvox PBX at 127.0.0.1 ended the API session; starting a new one" in messages
    assert not _switchvox_warnings(caplog)
    assert coordinator.session.history[-2].event == "expired"


async def test_silent_expiry_is_noticed_by_the_session_check(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry: MockConfigEntry,
    clock: VirtualClock,
    flapping: Flapping,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An expiry nobody dials into is noticed by the next session check, at most 5 min later.

    The check is one request every SESSION_CHECK_INTERVAL (never more often), re-subscribing
    a watched extension: it changes nothing on the PBX.
    """
    coordinator = flapping.coordinator
    subscribes = count(simulator, "subscribe")
    up_since = clock.now
    await flapping.run(clock, STABLE_SESSION + 1)
    await simulator.ring("101", "Zed", "5550100")
    await flapping.run(clock, 0.01)
    assert state_of(hass, LINE_101) == "ringing"
    simulator.expire_sessions()
    await flapping.run(clock, SESSION_CHECK_INTERVAL - (clock.now - up_since) - 1)
    assert simulator.sessions == 0  # not noticed yet: no request was made
    assert count(simulator, "subscribe") == subscribes
    assert state_of(hass, LINE_101) == "ringing"

    await flapping.run(clock, 2.0)
    assert recovered(coordinator, simulator)
    assert count(simulator, "login") == 2
    assert flapping.login_times[-1] - up_since <= SESSION_CHECK_INTERVAL + 1.0
    assert state_of(hass, LINE_101) == "idle"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert not _switchvox_warnings(caplog)
    check = simulator.requests[subscribes + 1]  # the check, after the first session's login
    assert check == (
        "subscribe",
        {"topic": "state.change.extension.line", "targets": [{"account": {"extension": "101"}}]},
    )


async def test_session_checks_are_few_and_change_nothing(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    entry: MockConfigEntry,
    clock: VirtualClock,
    flapping: Flapping,
) -> None:
    """A live session is checked once per SESSION_CHECK_INTERVAL and stays the same session."""
    subscribes = count(simulator, "subscribe")
    await flapping.run(clock, 6 * SESSION_CHECK_INTERVAL + 1)
    assert count(simulator, "subscribe") == subscribes + 6
    assert count(simulator, "login") == 1
    assert recovered(flapping.coordinator, simulator)
    assert flapping.coordinator.session.reconnects == 0
