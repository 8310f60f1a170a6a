"""Latency samples and their summaries."""

from collections.abc import Sequence
from dataclasses import dataclass, field
import gc
import statistics
import time
from typing import Any


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the ``fraction`` quantile (nearest rank) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """Return the median of ``values``; 0 when empty."""
    return statistics.median(values) if values else 0.0


@dataclass
class Samples:
    """Latencies (ns, from the emission stamp to receipt) in arrival order, with their seq."""

    latencies: list[int] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    last_ns: int = 0

    def add(self, stamp_ns: int, seq: int) -> None:
        """Record one arrival stamped ``stamp_ns`` at emission."""
        now = time.monotonic_ns()
        self.latencies.append(now - stamp_ns)
        self.seqs.append(seq)
        self.last_ns = now

    def add_dial_data(self, dial_data: Any) -> None:
        """Record one arrival from the benchmark's dialData stamp, if it carries one."""
        if isinstance(dial_data, dict) and "t" in dial_data:
            self.add(int(dial_data["t"]), int(dial_data.get("n", 0)))

    def reset(self) -> None:
        """Forget everything recorded so far."""
        self.latencies = []
        self.seqs = []
        self.last_ns = 0

    @property
    def count(self) -> int:
        """Return the number of arrivals."""
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        """Return p50/p99/max in milliseconds and the count."""
        ms = [value / 1e6 for value in self.latencies]
        return {
            "count": len(ms),
            "p50_ms": percentile(ms, 0.50),
            "p99_ms": percentile(ms, 0.99),
            "max_ms": max(ms, default=0.0),
        }

    def tail_median_ms(self, fraction: float = 0.25) -> float:
        """Return the median latency (ms) of the last ``fraction`` of the arrivals by seq."""
        if not self.latencies:
            return 0.0
        # Without a (seq, latency) tuple per arrival: sorting tens of thousands of them kept
        # them alive across young collections, into the oldest generation, and brought the
        # next full collection (a 0.3-0.6 s pause of Home Assistant's heap) into the next step.
        first = sorted(self.seqs)[int(len(self.seqs) * (1 - fraction))]
        tail = [lat for seq, lat in zip(self.seqs, self.latencies, strict=True) if seq >= first]
        return median(tail) / 1e6


class GcPauses:
    """Time spent in the garbage collector, per generation (a stall the event loop feels)."""

    def __init__(self) -> None:
        self._start = 0
        self.pauses: list[tuple[int, int]] = []
        self.collected = 0
        # Every pause's time added up as it ends, for timers that leave collections out.
        self.ns = 0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter_ns()
        else:
            pause = time.perf_counter_ns() - self._start
            self.pauses.append((info["generation"], pause))
            self.collected += info["collected"]
            self.ns += pause

    def reset(self) -> None:
        """Forget the pauses recorded so far."""
        self.pauses = []
        self.collected = 0
        self.ns = 0

    def summary(self) -> dict[str, Any]:
        """Return the number of collections, the total and the longest pause (ms)."""
        full = [ns for generation, ns in self.pauses if generation == 2]
        return {
            "collections": len(self.pauses),
            "collected_objects": self.collected,
            "full_collections": len(full),
            "total_ms": sum(ns for _, ns in self.pauses) / 1e6,
            "max_ms": max((ns for _, ns in self.pauses), default=0) / 1e6,
        }

    def close(self) -> None:
        """Stop recording."""
        gc.callbacks.remove(self._callback)
