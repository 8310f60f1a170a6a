"""One benchmark scenario in a process of its own: ``python -m benchmarks.worker SCENARIO JSON``.

The orchestrator hosts the simulator; this process runs a real Home Assistant core with the
integration set up through its config entry (or a bare socket.io client, for the baselines)
and asks the orchestrator, over :class:`benchmarks.protocol.Link`, to stream notifications.
"""

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import gc
import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import MATCH_ALL, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.runner import create_event_loop

if TYPE_CHECKING:
    from custom_components.switchvox.rtapi.wire import SocketIOConnection

from .hass_core import (
    PLATFORM_DOMAINS,
    RECORDED_TABLES,
    add_entry,
    database_path,
    database_usage,
    entity_count,
    home_assistant,
    listen_states,
    preload_integration,
    recorder_commit,
    rss_bytes,
    settled_rss,
    state_attributes_like_sensor,
)
from .protocol import PASSWORD, Link, extensions
from .stats import GcPauses, Samples, percentile

type Options = dict[str, Any]

DRAIN_TIMEOUT = 3.0
# A rate is sustained when the median latency of the last quarter of its window stays below
# this: a growing backlog makes the late messages wait ever longer.
BACKLOG_LATENCY_MS = 20.0


# -- receivers -----------------------------------------------------------------------------------


class RawClient:
    """A bare socket.io connection (the integration's wire, nothing above it): the wire's floor."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.samples = Samples()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = 0
        self._http: aiohttp.ClientSession | None = None
        self._conn: SocketIOConnection | None = None

    def _on_event(self, event: str, args: tuple[Any, ...]) -> None:
        data = args[0]
        if event == "notification":
            self.samples.add_dial_data(data["params"].get("dialData"))
            return
        future = self._pending.pop(data.get("id"), None)
        if future is not None and not future.done():
            future.set_result(data)

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        """Send one JSON-RPC request and return its response."""
        if self._conn is None:
            raise RuntimeError("not open")
        self._ids += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = future
        await self._conn.emit(
            "request", {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}
        )
        async with asyncio.timeout(30):
            return await future

    async def open(self, watched: list[str]) -> None:
        """Connect, log in and subscribe to ``watched``."""
        # Imported here: ./scripts/bench --against runs this worker over older integrations,
        # which have no wire module, in scenarios that never open the bare client.
        from custom_components.switchvox.rtapi.wire import SocketIOConnection

        self._http = aiohttp.ClientSession()
        self._conn = SocketIOConnection(self._http, self._on_event, lambda: None)
        await self._conn.connect(self.url, events=("response", "notification"))
        await self.request("login", {"extension": watched[0], "password": PASSWORD})
        targets = [{"account": {"extension": extension}} for extension in watched]
        await self.request(
            "subscribe", {"topic": "state.change.extension.line", "targets": targets}
        )

    async def close(self) -> None:
        """Disconnect."""
        if self._conn is not None:
            await self._conn.disconnect()
        if self._http is not None:
            await self._http.close()


class SensorSamples:
    """Latency of every line sensor state written, from the stamp in its dial_data."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.samples = Samples()
        self._remove = listen_states(hass, self._on_state)

    def _on_state(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is not None and event.data["entity_id"].startswith("sensor."):
            self.samples.add_dial_data(new_state.attributes.get("dial_data"))

    def close(self) -> None:
        """Stop listening."""
        self._remove()


# The minimal call monitor of the recorder baseline: one state per change, a caller attribute.
_MONITOR_STATUSES = {
    "idle": "idle",
    "starting": "starting",
    "calling": "calling",
    "ringing": "ringing",
    "onThePhone": "on_the_phone",
    "onHold": "on_hold",
}


class CallMonitor(RawClient):
    """What a minimal call monitor (core's fritzbox_callmonitor, say) records per change.

    One sensor per extension, its state the line status and one ``caller`` attribute (name,
    else number; none when idle): the recorder baseline.
    """

    def __init__(self, hass: HomeAssistant, port: int) -> None:
        super().__init__(port)
        self.hass = hass

    def _on_event(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "notification":
            self._write_state(args[0])
        super()._on_event(event, args)

    def _write_state(self, data: Any) -> None:
        params = data["params"]
        status = _MONITOR_STATUSES.get(params.get("status"), "unknown")
        caller = None
        if status != "idle" and (remotes := params.get("remotes")):
            caller = remotes[0].get("callerIdName") or remotes[0].get("callerIdNumber")
        extension = params["account"]["extension"]
        self.hass.states.async_set(
            f"sensor.call_monitor_{extension}",
            status,
            {"caller": caller, "friendly_name": f"Call monitor {extension}"},
        )


class Arrivals:
    """When each state change of the watched sensors was written, per extension in order."""

    def __init__(self, hass: HomeAssistant, entity_ids: dict[str, str]) -> None:
        self.by_extension: dict[str, list[int]] = {ext: [] for ext in entity_ids.values()}
        self._entity_ids = entity_ids
        self._remove = listen_states(hass, self._on_state)

    def _on_state(self, event: Event[EventStateChangedData]) -> None:
        extension = self._entity_ids.get(event.data["entity_id"])
        old, new = event.data["old_state"], event.data["new_state"]
        if extension is not None and old is not None and new is not None and old.state != new.state:
            self.by_extension[extension].append(time.monotonic_ns())

    @property
    def count(self) -> int:
        """Return the number of state changes seen."""
        return sum(len(times) for times in self.by_extension.values())

    def reset(self) -> None:
        """Forget what was seen so far."""
        for times in self.by_extension.values():
            times.clear()

    def latencies_ms(self, stamps: dict[str, list[int]]) -> list[float]:
        """Return the k-th change of each extension minus its k-th emission stamp, in ms."""
        return [
            (arrived - emitted) / 1e6
            for extension, emitted_list in stamps.items()
            for arrived, emitted in zip(self.by_extension[extension], emitted_list, strict=False)
        ]

    def close(self) -> None:
        """Stop listening."""
        self._remove()


async def recorded_calls(
    link: Link, hass: HomeAssistant, entity_ids: dict[str, str], opts: Options
) -> dict[str, Any]:
    """Place calls with the recorder on; return database growth per call and latency."""
    arrivals = Arrivals(hass, entity_ids)
    path = database_path(hass)
    try:
        # Warm-up calls: the first writes of every entity (and their idle attributes) are not
        # what each further call costs.
        await link.call("calls", calls=opts["warmup_calls"], rate=opts["rate"], first=0)
        await recorder_commit(hass)
        before = await hass.async_add_executor_job(database_usage, path)
        arrivals.reset()
        pauses = GcPauses()
        try:
            sent = await link.call(
                "calls", calls=opts["calls"], rate=opts["rate"], first=opts["warmup_calls"]
            )
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while arrivals.count < sent["sent"] and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        finally:
            pauses.close()
        received = arrivals.count
        if not received:  # a receiver that writes nothing must not pass for a cheap one
            raise RuntimeError(f"none of the {sent['sent']} notifications changed a watched state")
        latencies = arrivals.latencies_ms(sent["stamps"])
        await recorder_commit(hass)
        after = await hass.async_add_executor_job(database_usage, path)
    finally:
        arrivals.close()
    calls = opts["calls"]
    tables = {
        table: {
            key: (after[table][key] - before[table][key]) / calls
            for key in ("rows", "bytes", "json")
        }
        for table in RECORDED_TABLES
    }
    return {
        "calls": calls,
        "sent": sent["sent"],
        "received": received,
        "send_rate": sent["rate"],
        "latency": {
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies, default=0.0),
        },
        "gc": pauses.summary(),
        "per_call": {
            "rows": sum(figures["rows"] for figures in tables.values()),
            "bytes": sum(figures["bytes"] for figures in tables.values()),
            "json": sum(figures["json"] for figures in tables.values()),
            "tables": tables,
        },
    }


async def setup_entry(
    hass: HomeAssistant, port: int, watched: list[str]
) -> tuple[ConfigEntry, float]:
    """Set the integration up through a config entry; return it and seconds to all entities."""
    expected = entity_count(len(watched))
    written: set[str] = set()
    done = asyncio.Event()

    def on_state(event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        if event.data["old_state"] is None and entity_id.split(".", 1)[0] in PLATFORM_DOMAINS:
            written.add(entity_id)
            if len(written) >= expected:
                done.set()

    remove = listen_states(hass, on_state)
    entry = add_entry(hass, port, watched[0], PASSWORD, watched)
    start = time.perf_counter()
    try:
        if not await hass.config_entries.async_setup(entry.entry_id):
            raise RuntimeError(f"Setting up the entry failed: {entry.state}")
        async with asyncio.timeout(300):
            await done.wait()
        return entry, time.perf_counter() - start
    finally:
        remove()


async def drain(samples: Samples, expected: int) -> None:
    """Wait until ``expected`` arrivals, or until nothing arrived for a while."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    last = samples.count
    while samples.count < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        if samples.count != last:
            last = samples.count
            deadline = max(deadline, time.monotonic() + 0.5)


async def measured_stream(
    link: Link, samples: Samples, rate: float, seconds: float, count: int
) -> dict[str, Any]:
    """Stream at ``rate`` over the first ``count`` extensions; return what was sent and seen."""
    samples.reset()
    pauses = GcPauses()
    try:
        sent = await link.call("stream", rate=rate, seconds=seconds, extensions=count)
        await drain(samples, sent["sent"])
    finally:
        pauses.close()
    return {
        "stream": sent,
        "received": samples.count,
        **samples.summary(),
        "gc": pauses.summary(),
    }


async def ladder(
    link: Link,
    samples: Samples,
    *,
    count: int,
    start: float,
    seconds: float,
    limit: float,
    refine: int,
) -> dict[str, Any]:
    """Find the highest rate absorbed without a growing backlog (geometric, then bisect)."""
    steps: list[dict[str, Any]] = []

    async def attempt(rate: float) -> bool:
        result = await measured_stream(link, samples, rate, seconds, count)
        sent = result["stream"]["sent"]
        tail = samples.tail_median_ms()
        source_ok = result["stream"]["rate"] >= 0.95 * rate
        ok = source_ok and result["received"] >= sent and tail <= BACKLOG_LATENCY_MS
        steps.append(
            {
                "rate": rate,
                "achieved_send_rate": result["stream"]["rate"],
                "received": result["received"],
                "sent": sent,
                "tail_median_ms": tail,
                "p99_ms": result["p99_ms"],
                "sustained": ok,
                "gc": result["gc"],
                "source_limited": not source_ok,
            }
        )
        await asyncio.sleep(0.3)
        return ok

    best = 0.0
    rate = start
    failed: float | None = None
    while rate <= limit:
        if await attempt(rate):
            best = rate
            rate *= 1.5
        else:
            failed = rate
            break
    if failed is not None:
        low, high = best, failed
        for _ in range(refine):
            middle = round((low + high) / 200) * 100 if low else round(high / 200) * 100
            if middle in (low, high):
                break
            if await attempt(middle):
                best = low = middle
            else:
                high = middle
    return {"sustained_rate": best, "steps": steps}


async def bare_state_writes(hass: HomeAssistant, entities: int, updates: int) -> float:
    """Return ``hass.states.async_set`` calls per second over ``entities`` distinct ids."""
    ids = [f"sensor.bench_bare_{index}" for index in range(entities)]
    statuses = ("on_the_phone", "on_hold")
    for index, entity_id in enumerate(ids):
        hass.states.async_set(
            entity_id, "idle", state_attributes_like_sensor(str(index), "idle", 0)
        )
    await asyncio.sleep(0)
    start = time.perf_counter()
    for update in range(updates):
        index = update % entities
        status = statuses[(update // entities) % 2]
        hass.states.async_set(
            ids[index], status, state_attributes_like_sensor(str(index), status, update)
        )
        if update % 200 == 199:
            await asyncio.sleep(0)
    await asyncio.sleep(0)
    elapsed = time.perf_counter() - start
    for entity_id in ids:
        hass.states.async_remove(entity_id)
    return updates / elapsed


# -- scenarios -----------------------------------------------------------------------------------


async def scenario_latency(link: Link, port: int, opts: Options) -> dict[str, Any]:
    """p50/p99/max from emission to receipt: bare client, then sensor state written in HA."""
    watched = extensions(opts["extensions"])
    rate, seconds, warmup = opts["rate"], opts["seconds"], opts["warmup"]
    baseline: dict[str, Any] = {}
    if opts.get("raw", True):
        raw = RawClient(port)
        await raw.open(watched)
        await measured_stream(link, raw.samples, rate, warmup, len(watched))
        baseline = await measured_stream(link, raw.samples, rate, seconds, len(watched))
        await raw.close()
    async with home_assistant() as hass:
        await preload_integration(hass)
        await setup_entry(hass, port, watched)
        sensors = SensorSamples(hass)
        await measured_stream(link, sensors.samples, rate, warmup, len(watched))
        integration = await measured_stream(link, sensors.samples, rate, seconds, len(watched))
        sensors.close()
    return {"raw": baseline, "integration": integration}


@callback
def _ignore_event(event: Event[Any]) -> None:
    """Listen to every event, as the recorder does, and do nothing."""


async def scenario_throughput(link: Link, port: int, opts: Options) -> dict[str, Any]:
    """Highest sustained rate: bare client floor, integration, and bare state writes."""
    watched = extensions(opts["extensions"])
    ladder_opts = {
        "count": len(watched),
        "start": opts["start"],
        "seconds": opts["seconds"],
        "limit": opts["limit"],
        "refine": opts["refine"],
    }
    transport: dict[str, Any] = {"sustained_rate": 0.0, "steps": []}
    if opts.get("transport", True):
        raw = RawClient(port)
        await raw.open(watched)
        await measured_stream(link, raw.samples, opts["start"], 0.5, len(watched))
        transport = await ladder(link, raw.samples, **ladder_opts)
        await raw.close()
    async with home_assistant() as hass:
        await preload_integration(hass)
        await setup_entry(hass, port, watched)
        sensors = SensorSamples(hass)
        await measured_stream(link, sensors.samples, opts["start"], 0.5, len(watched))
        integration = await ladder(link, sensors.samples, **ladder_opts)
        if not opts.get("variants", True):
            result: dict[str, Any] = {"transport": transport, "integration": integration}
            if opts.get("all_events"):
                # As in an install with the recorder, minus its database.
                remove_listener = hass.bus.async_listen(MATCH_ALL, _ignore_event)
                result["integration_all_events_listener"] = await ladder(
                    link, sensors.samples, **ladder_opts
                )
                remove_listener()
            sensors.close()
            return result
        # As in an install with the recorder, minus its database: a listener of all events.
        remove_listener = hass.bus.async_listen(MATCH_ALL, _ignore_event)
        all_events = await ladder(link, sensors.samples, **ladder_opts)
        remove_listener()
        # Where the floor is: the same, with Home Assistant's heap moved out of the collector's
        # reach (gc.freeze), so that no full collection stalls the loop.
        gc.collect()
        gc.freeze()
        frozen = await ladder(link, sensors.samples, **ladder_opts)
        gc.unfreeze()
        sensors.close()
        bare = [
            await bare_state_writes(hass, len(watched), opts["bare_updates"])
            for _ in range(opts["bare_repeats"])
        ]
    return {
        "transport": transport,
        "integration": integration,
        "integration_gc_frozen": frozen,
        "integration_all_events_listener": all_events,
        "bare_state_writes_per_s": sorted(bare)[len(bare) // 2],
    }


async def scenario_scale(link: Link, port: int, opts: Options) -> dict[str, Any]:
    """Measure setup time and resident memory added for one entry watching N extensions."""
    watched = extensions(opts["extensions"])
    async with home_assistant() as hass:
        await preload_integration(hass)
        await asyncio.sleep(0.1)
        before = settled_rss()
        _, seconds = await setup_entry(hass, port, watched)
        await hass.async_block_till_done()
        after = settled_rss()
        peak = rss_bytes()
        subscribed = (await link.call("subscriptions"))["count"]
    return {
        "setup_s": seconds,
        "rss_added_mb": (after - before) / 2**20,
        "rss_mb": peak / 2**20,
        "subscribed": subscribed,
    }


async def scenario_reconnect(link: Link, port: int, opts: Options) -> dict[str, Any]:
    """From the PBX accepting again (coordinator waiting in backoff) to all entities back."""
    watched = extensions(opts["extensions"])
    sensors = [f"sensor.extension_{extension}_line" for extension in watched]
    async with home_assistant() as hass:
        await preload_integration(hass)
        entry, _ = await setup_entry(hass, port, watched)
        coordinator = entry.runtime_data
        attempts: list[int] = []
        failures: list[int] = []
        connect: Callable[[], Awaitable[None]] = coordinator.client.connect

        async def counted_connect() -> None:
            attempts.append(time.monotonic_ns())
            try:
                await connect()
            except Exception:
                failures.append(time.monotonic_ns())
                raise

        coordinator.client.connect = counted_connect
        results: list[dict[str, Any]] = []
        for _ in range(opts["repeats"]):
            # A single outage follows a session that has settled: drops in a row are a flapping
            # PBX, whose backoff does not start over (an integration with no outage record
            # starts it over at every drop).
            await wait_until(lambda: getattr(coordinator.session, "outage", None) is None, 60)
            attempts.clear()
            failures.clear()
            await link.call("outage")
            await wait_until(lambda: all(_unavailable(hass, sensor) for sensor in sensors))
            # Once the first retry has failed, the coordinator sleeps its next backoff delay.
            await wait_until(lambda: len(failures) >= 1)
            await asyncio.sleep(opts["refused_for"])
            accepted_ns = (await link.call("accept"))["t_ns"]
            await wait_until(
                lambda: not any(_unavailable(hass, sensor) for sensor in sensors), within=120
            )
            available_ns = time.monotonic_ns()
            subscribed = (await link.call("subscriptions"))["count"]
            last_attempt = attempts[-1]
            results.append(
                {
                    "reconnect_s": (available_ns - accepted_ns) / 1e9,
                    "backoff_wait_s": max(0, last_attempt - accepted_ns) / 1e9,
                    "session_s": (available_ns - max(last_attempt, accepted_ns)) / 1e9,
                    "attempts": len(attempts),
                    "failed_attempts": len(failures),
                    "subscribed": subscribed,
                }
            )
    return {"runs": results}


async def scenario_recorder(link: Link, port: int, opts: Options) -> dict[str, Any]:
    """Realistic calls with the recorder on: a minimal call monitor, then the integration.

    Each runs in a Home Assistant of its own with a fresh database, against the same simulator.
    """
    watched = extensions(opts["extensions"])
    async with home_assistant(recorder=True) as hass:
        monitor = CallMonitor(hass, port)
        await monitor.open(watched)
        baseline = await recorded_calls(
            link, hass, {f"sensor.call_monitor_{ext}": ext for ext in watched}, opts
        )
        await monitor.close()
    async with home_assistant(recorder=True) as hass:
        await preload_integration(hass)
        await setup_entry(hass, port, watched)
        integration = await recorded_calls(
            link, hass, {f"sensor.extension_{ext}_line": ext for ext in watched}, opts
        )
    return {"baseline": baseline, "integration": integration}


class _Timer:
    """Time (ns) spent inside a synchronous callable, less garbage collections, and calls."""

    def __init__(self, gc_clock: GcPauses) -> None:
        self.ns = 0
        self.calls = 0
        self._gc = gc_clock

    def wrap[**P, R](self, func: Callable[P, R]) -> Callable[P, R]:
        """Return ``func`` timed by this timer."""

        gc_clock = self._gc

        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            gc_start = gc_clock.ns
            start = time.perf_counter_ns()
            try:
                return func(*args, **kwargs)
            finally:
                self.ns += time.perf_counter_ns() - start - (gc_clock.ns - gc_start)
                self.calls += 1

        return timed


async def thread_cpu_per_message(
    link: Link, samples: Samples, rate: float, seconds: float, count: int
) -> tuple[float, int]:
    """Stream; return the event loop thread's CPU time per notification received (µs)."""
    samples.reset()
    start = time.thread_time_ns()
    sent = await link.call("stream", rate=rate, seconds=seconds, extensions=count)
    await drain(samples, sent["sent"])
    cpu = time.thread_time_ns() - start
    return cpu / max(1, samples.count) / 1e3, samples.count


async def scenario_layers(link: Link, port: int, opts: Options) -> dict[str, Any]:
    """Where the time of one notification goes, layer by layer (µs of the event loop thread).

    The event loop thread's CPU time per notification is measured over a stream (so it
    includes the event loop and socket reads); the integration's layers are timed inside it by
    wrapping, in place, the calls between them: the transport's event handler (the client),
    the session's line state listener, its telling the subscribers (the coordinator's, for
    the bus event, and the entities'). Garbage collections are a layer of their own, wherever
    they struck. The bare socket.io client is measured the same way (its collections included).
    """
    watched = extensions(opts["extensions"])
    rate, seconds = opts["rate"], opts["seconds"]
    raw = RawClient(port)
    await raw.open(watched)
    await measured_stream(link, raw.samples, rate, 1.0, len(watched))
    raw_us, _ = await thread_cpu_per_message(link, raw.samples, rate, seconds, len(watched))
    await raw.close()
    async with home_assistant() as hass:
        await preload_integration(hass)
        entry, _ = await setup_entry(hass, port, watched)
        sensors = SensorSamples(hass)
        await measured_stream(link, sensors.samples, rate, 1.0, len(watched))
        coordinator = entry.runtime_data
        client = coordinator.client
        transport = client._transport  # noqa: SLF001
        session = coordinator.session
        pauses = GcPauses()
        handle, track, changed, entities = (_Timer(pauses) for _ in range(4))
        transport._on_event = handle.wrap(transport._on_event)  # noqa: SLF001
        listeners = client._line_listeners  # noqa: SLF001
        listeners[:] = [
            track.wrap(listener) if listener == session._handle_line_state else listener  # noqa: SLF001
            for listener in listeners
        ]
        # Telling the subscribers: the coordinator's (every line), then the entities' own.
        session._tell = changed.wrap(session._tell)  # noqa: SLF001
        # The entities' subscriptions, timed in place (and put back before they unsubscribe).
        subscribers = session._subscribers  # noqa: SLF001
        untimed = {extension: list(items) for extension, items in subscribers.items() if extension}
        for extension in untimed:
            subscribers[extension][:] = [entities.wrap(item) for item in subscribers[extension]]
        pauses.reset()
        total_us, received = await thread_cpu_per_message(
            link, sensors.samples, rate, seconds, len(watched)
        )
        gc_ns = pauses.ns
        gc_summary = pauses.summary()
        gc_by_generation = {
            str(generation): {
                "collections": sum(1 for gen, _ in pauses.pauses if gen == generation),
                "ms": sum(ns for gen, ns in pauses.pauses if gen == generation) / 1e6,
            }
            for generation in range(3)
        }
        per = max(1, received) * 1e3
        layers_us = {
            "transport_and_loop": total_us - handle.ns / per - gc_ns / per,
            "parsing_model": (handle.ns - track.ns) / per,
            "line_tracking": (track.ns - changed.ns) / per,
            "bus_event": (changed.ns - entities.ns) / per,
            "state_writes": entities.ns / per,
            "garbage_collection": gc_ns / per,
        }
        changes = changed.calls
        # The same again with a listener of all events, as the recorder is in a real install:
        # the bus then makes every switchvox_event an Event, which becomes the context's origin
        # (instead of the line sensor's state_changed), and every event goes to that listener.
        remove_listener = hass.bus.async_listen(MATCH_ALL, _ignore_event)
        pauses.reset()
        all_events_us, all_events_received = await thread_cpu_per_message(
            link, sensors.samples, rate, seconds, len(watched)
        )
        all_events_gc_ns = pauses.ns
        remove_listener()
        pauses.close()
        sensors.close()
        for extension, items in untimed.items():
            subscribers[extension][:] = items
    return {
        "received": received,
        "raw_client_us": raw_us,
        "total_us": total_us,
        "layers_us": layers_us,
        "with_all_events_listener": {
            "total_us": all_events_us,
            "garbage_collection_us": all_events_gc_ns / max(1, all_events_received) / 1e3,
        },
        "changes": changes,
        "gc": gc_summary,
        "gc_by_generation": gc_by_generation,
    }


class LoopSteps:
    """The longest event loop step while running: a task that comes back after every step.

    Wall time (what a user waits, preemption by other processes included), the loop thread's
    CPU time (what the step itself took), and that CPU time less garbage collections (which
    collect Home Assistant's whole heap wherever they strike).
    """

    def __init__(self) -> None:
        self.longest_ns = 0
        self.longest_cpu_ns = 0
        self.longest_cpu_without_gc_ns = 0
        self.gc = GcPauses()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            wall, cpu, gc_ns = time.perf_counter_ns(), time.thread_time_ns(), self.gc.ns
            await asyncio.sleep(0)
            cpu = time.thread_time_ns() - cpu
            self.longest_ns = max(self.longest_ns, time.perf_counter_ns() - wall)
            self.longest_cpu_ns = max(self.longest_cpu_ns, cpu)
            self.longest_cpu_without_gc_ns = max(
                self.longest_cpu_without_gc_ns, cpu - (self.gc.ns - gc_ns)
            )

    async def close(self) -> None:
        """Stop measuring."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.gc.close()


async def scenario_burst(link: Link, port: int, opts: Options) -> dict[str, Any]:
    """Notifications sent at once (a page to every phone): the longest loop step, time to all.

    The simulator sends each burst without a pause, as fast as it can write; Home Assistant
    must stay responsive (its longest loop step) and every line must end right (every
    notification's state written: the last one of each line is its final state).
    """
    watched = extensions(opts["extensions"])
    results: dict[str, Any] = {}
    async with home_assistant() as hass:
        await preload_integration(hass)
        await setup_entry(hass, port, watched)
        sensors = SensorSamples(hass)
        await measured_stream(link, sensors.samples, 1000, 0.5, len(watched))
        for count in opts["counts"]:
            await asyncio.sleep(0.5)
            sensors.samples.reset()
            steps = LoopSteps()
            sent = await link.call("burst", count=count, extensions=len(watched))
            deadline = time.monotonic() + 60
            while sensors.samples.count < sent["sent"] and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await steps.close()
            results[str(count)] = {
                "sent": sent["sent"],
                "received": sensors.samples.count,
                "longest_step_ms": steps.longest_ns / 1e6,
                "longest_step_cpu_ms": steps.longest_cpu_ns / 1e6,
                "longest_step_cpu_without_gc_ms": steps.longest_cpu_without_gc_ns / 1e6,
                "longest_gc_ms": steps.gc.summary()["max_ms"],
                "all_right_s": (sensors.samples.last_ns - sent["first_ns"]) / 1e9,
            }
        sensors.close()
    return results


def _unavailable(hass: HomeAssistant, entity_id: str) -> bool:
    state = hass.states.get(entity_id)
    return state is None or state.state == STATE_UNAVAILABLE


async def wait_until(predicate: Callable[[], bool], within: float = 30.0) -> None:
    """Poll ``predicate`` every millisecond until it holds."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - Home Assistant state has no event for this
            await asyncio.sleep(0.001)


SCENARIOS: dict[str, Callable[[Link, int, Options], Awaitable[dict[str, Any]]]] = {
    "latency": scenario_latency,
    "throughput": scenario_throughput,
    "scale": scenario_scale,
    "reconnect": scenario_reconnect,
    "recorder": scenario_recorder,
    "layers": scenario_layers,
    "burst": scenario_burst,
}


async def _main(scenario: str, opts: Options) -> None:
    link = Link()
    port = int((await link.call("hello"))["port"])
    result = await SCENARIOS[scenario](link, port, opts)
    link.send("result", result=result)


def main() -> None:
    """Run the scenario named on the command line."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    scenario, opts = sys.argv[1], json.loads(sys.argv[2])
    with asyncio.Runner(loop_factory=create_event_loop) as runner:
        runner.run(_main(scenario, opts))


if __name__ == "__main__":
    main()
