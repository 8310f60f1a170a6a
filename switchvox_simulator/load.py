"""Load generation for benchmarks: many accounts, and paced, time-stamped notification streams.

The ordinary simulator paths (``notify``, ``flood``) build every payload through the call-flow
model and the socket.io packet encoder. A benchmark needs the simulator to be much faster than
the client it measures, so :class:`LoadGenerator` pre-builds each extension's payload, encodes
the socket.io packet itself and hands it straight to the Engine.IO server
(``SwitchvoxSimulator.send_packet``).

Every notification carries ``dialData = {"t": <time.monotonic_ns() at emission>, "n": <seq>}``:
CLOCK_MONOTONIC is shared by every process of the machine, so a receiver in another process
computes its latency from the emission with ``time.monotonic_ns() - t``.
"""

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import json
import time
from typing import Any, Final

from .pbx import TOPIC_LINE, JsonDict
from .server import SwitchvoxSimulator

# Per extension, a long-lived channel moves through these statuses (after a first ringing), so
# that every notification changes the line's status: each one is a state write downstream.
CYCLE: Final[tuple[str, ...]] = ("onThePhone", "onHold")
_DUMPS: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_TICK: Final = 0.001


def add_accounts(
    sim: SwitchvoxSimulator, extensions: Iterable[str], password: str, *, prefix: str = "Agent"
) -> None:
    """Create one account per extension, each allowed to watch every other."""
    for extension in extensions:
        sim.add_account(extension, password, f"{prefix} {extension}")


@dataclass
class _Line:
    """The synthetic channel of one extension and where it is in :data:`CYCLE`."""

    head: str
    step: int = 0


@dataclass
class StreamResult:
    """What a stream sent: how many notifications, over how long, at which achieved rate."""

    sent: int
    seconds: float
    first_ns: int
    last_ns: int
    dropped: int = 0
    lag_max: float = 0.0

    @property
    def rate(self) -> float:
        """Return the achieved emission rate (notifications per second)."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON data."""
        return {
            "sent": self.sent,
            "seconds": self.seconds,
            "rate": self.rate,
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
            "dropped": self.dropped,
            "lag_max": self.lag_max,
        }


@dataclass
class LoadGenerator:
    """Paced notification streams over a set of extensions, round robin."""

    sim: SwitchvoxSimulator
    extensions: Sequence[str]
    _lines: dict[str, _Line] = field(default_factory=dict, init=False)
    _seq: int = field(default=0, init=False)
    _channel: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        for extension in self.extensions:
            self._new_channel(extension)

    def _new_channel(self, extension: str) -> _Line:
        """Start a fresh synthetic ringing channel on ``extension``."""
        self._channel += 1
        now = self.sim.pbx.now()
        account = self.sim.pbx.accounts.get(extension)
        wire = (
            account.as_wire()
            if account
            else {"extension": extension, "accountId": "", "displayName": ""}
        )
        params: JsonDict = {
            "uniqueId": f"{int(now)}.9{self._channel}",
            "account": wire,
            "endpoint": {"id": f"ep-{extension}", "name": f"SIP/{extension}"},
            "startTime": self.sim.pbx.timestamp(now),
            "remotes": [{"callerIdName": f"Caller {self._channel}", "callerIdNumber": "5550100"}],
            "direction": "fromPbx",
        }
        # Everything but status, serverTime and dialData, encoded once: the tail is per message.
        head = _DUMPS(params)[:-1]
        line = self._lines[extension] = _Line(head=head)
        return line

    def _packet(self, extension: str, server_time: str) -> str:
        """Return the next socket.io EVENT packet (text) for ``extension``, stamped now."""
        line = self._lines[extension]
        status = "ringing" if line.step == 0 else CYCLE[(line.step - 1) % len(CYCLE)]
        line.step += 1
        self._seq += 1
        stamp = time.monotonic_ns()
        return (
            '2["notification",{"jsonrpc":"2.0","method":"' + TOPIC_LINE + '","params":'
            f'{line.head},"status":"{status}","serverTime":"{server_time}",'
            f'"dialData":{{"t":{stamp},"n":{self._seq}}}}}}}]'
        )

    async def stream(self, rate: float, seconds: float, *, batch_max: int = 2000) -> StreamResult:
        """Send ``rate`` notifications per second for ``seconds``, round robin over extensions.

        Pacing is by schedule: at every wake-up the generator sends what is due, so a slow
        wake-up is caught up at once (``lag_max`` says by how much it fell behind).
        """
        send = self.sim.send_packet
        extensions = list(self.extensions)
        targets = {extension: self.sim.subscribers(extension) for extension in extensions}
        total = max(1, round(rate * seconds))
        sent = 0
        dropped = 0
        lag_max = 0.0
        index = 0
        count = len(extensions)
        server_second = -1
        server_time = ""
        start = time.monotonic()
        first_ns = time.monotonic_ns()
        while sent < total:
            now = time.monotonic()
            due = min(total, int((now - start) * rate) + 1) - sent
            if due > 0:
                lag_max = max(lag_max, due / rate)
                epoch = int(self.sim.pbx.now())
                if epoch != server_second:
                    server_second = epoch
                    server_time = str(self.sim.pbx.timestamp(epoch))
                for _ in range(min(due, batch_max)):
                    extension = extensions[index]
                    index = (index + 1) % count
                    packet = self._packet(extension, server_time)
                    sids = targets[extension]
                    if not sids:
                        dropped += 1
                    for sid in sids:
                        await send(sid, packet)
                    sent += 1
            await asyncio.sleep(_TICK if sent < total else 0)
        last_ns = time.monotonic_ns()
        return StreamResult(
            sent=sent,
            seconds=(last_ns - first_ns) / 1e9,
            first_ns=first_ns,
            last_ns=last_ns,
            dropped=dropped,
            lag_max=lag_max,
        )


# -- realistic calls -------------------------------------------------------------------------------

# What one call does, by kind: the simulator's call flows in order. An outgoing call placed
# with dial data (as ``switchvox.dial`` does) emits two notifications (starting, calling) at once.
CALL_STEPS: Final[dict[str, tuple[str, ...]]] = {
    "answered": ("ring", "answer", "hold", "resume", "hang_up"),
    "missed": ("ring", "hang_up"),
    "outgoing": ("call", "answer", "hang_up"),
}
CALL_NOTIFICATIONS: Final[dict[str, int]] = {"answered": 5, "missed": 2, "outgoing": 4}
# Small dial data, as an automation placing a call passes it.
CALL_DIAL_DATA: Final[JsonDict] = {"source": "doorbell", "automation": "automation.front_door"}


def call_kind(index: int) -> str:
    """Return the kind of call ``index``: 60% answered (held once), 25% missed, 15% outgoing."""
    slot = index % 20
    if slot < 3:
        return "outgoing"
    if slot < 8:
        return "missed"
    return "answered"


@dataclass
class CallsResult:
    """What a run of calls sent: emission stamps (monotonic ns) per extension, in order."""

    calls: int
    sent: int
    seconds: float
    stamps: dict[str, list[int]]

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON data."""
        return {
            "calls": self.calls,
            "sent": self.sent,
            "seconds": self.seconds,
            "rate": self.sent / self.seconds if self.seconds > 0 else 0.0,
            "stamps": self.stamps,
        }


async def run_calls(
    sim: SwitchvoxSimulator,
    extensions: Sequence[str],
    calls: int,
    rate: float,
    *,
    first: int = 0,
) -> CallsResult:
    """Place ``calls`` realistic calls through the simulator's call flows, about ``rate``/s.

    Call ``first + i`` goes to extension ``i % len(extensions)``, each extension one call at a
    time; every extension takes a step every ``len(extensions) / rate`` seconds (staggered), so
    the whole PBX emits about ``rate`` notifications per second. Each notification's emission
    is stamped, per extension in order: a receiver matches its k-th state of an extension with
    the k-th stamp (every step changes the line's status).
    """
    count = len(extensions)
    interval = count / rate
    stamps: dict[str, list[int]] = {extension: [] for extension in extensions}
    sent = 0

    async def line(position: int) -> None:
        nonlocal sent
        extension = extensions[position]
        own = stamps[extension]
        await asyncio.sleep(interval * position / count)
        for index in range(first + position, first + calls, count):
            kind = call_kind(index)
            unique_id = ""
            for step in CALL_STEPS[kind]:
                stamp = time.monotonic_ns()
                if step == "ring":
                    unique_id = await sim.ring(
                        extension, f"Caller {index}", f"212555{index % 10000:04d}"
                    )
                elif step == "call":
                    unique_id, _ = await sim.call(
                        extension,
                        f"+1646555{index % 10000:04d}",
                        dial_data=dict(CALL_DIAL_DATA),
                        auto_answer=False,
                    )
                    own.append(stamp)
                    sent += 1
                else:
                    await getattr(sim, step)(unique_id)
                own.append(stamp)
                sent += 1
                await asyncio.sleep(interval)

    start = time.monotonic()
    await asyncio.gather(*(line(position) for position in range(count)))
    return CallsResult(calls=calls, sent=sent, seconds=time.monotonic() - start, stamps=stamps)
