"""Composition root: the PBX server plus its HTTP control API and demo traffic, put together."""

from collections.abc import Iterable

from .control import control_routes
from .demo import DemoTraffic
from .server import SwitchvoxSimulator


def with_control_api(sim: SwitchvoxSimulator) -> SwitchvoxSimulator:
    """Return ``sim`` serving the HTTP control API under /control/ (the server never knows)."""
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
