"""Composition root: the PBX server plus its HTTP control API and demo traffic, put together."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .control import control_routes
from .demo import DemoTraffic
from .server import SwitchvoxSimulator


def build_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    control: bool = True,
    tls: bool = False,
    ping_interval: float = 25,
    ping_timeout: float = 60,
    timestamp_format: str = "iso",
    outside_answer_delay: float = 1.0,
    cert_dir: Path | None = None,
) -> SwitchvoxSimulator:
    """Return a simulator serving the HTTP control API under /control/ (unless control=False)."""
    sim = SwitchvoxSimulator(
        host,
        port,
        tls=tls,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        timestamp_format=timestamp_format,
        outside_answer_delay=outside_answer_delay,
        cert_dir=cert_dir,
    )
    if control:
        sim.add_routes(control_routes(sim))
    return sim


def start_demo(
    sim: SwitchvoxSimulator,
    extensions: Iterable[str] | None = None,
    *,
    calls_per_minute: float = 6.0,
    max_concurrent: int = 4,
    seed: int | None = None,
) -> DemoTraffic:
    """Start random lifelike traffic on ``extensions`` (default: all accounts) until sim stops."""
    return DemoTraffic(
        sim.calls,
        list(sim.pbx.accounts) if extensions is None else list(extensions),
        calls_per_minute=calls_per_minute,
        max_concurrent=max_concurrent,
        seed=seed,
    ).start()
