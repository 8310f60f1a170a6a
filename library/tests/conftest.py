"""Fixtures of the library's tests: a real simulator on 127.0.0.1, no Home Assistant.

The same tests run in the development environment, under Home Assistant's test harness (which
bans sockets but for those a test enables: ``socket_enabled``), and in a bare one with the
built wheel installed (``scripts/library``), where nothing of the integration may be imported.
"""

import asyncio
from collections.abc import AsyncGenerator
import os
from pathlib import Path
import ssl
import sys
from typing import Any

from hypothesis import settings
import pytest

import aioswitchvox
from switchvox_simulator import SwitchvoxSimulator

# CI runs the same property-test examples every time, so a red run can be replayed; elsewhere
# every run explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

PASSWORD = "s3cr3t-Pa55"  # a test credential, searched for in logs by the tests

ACCOUNTS: tuple[tuple[str, str, list[str] | None], ...] = (
    ("101", "Alice Archer", None),
    ("102", "Bob Baker", None),
    ("103", "Carol Chen", None),
    ("104", "Dan Diaz", ["104"]),
)


def pytest_report_header() -> str:
    """Say which aioswitchvox the run tests: the installed wheel, or the integration's source."""
    return f"aioswitchvox: {Path(aioswitchvox.__file__).parent}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to run against the source tree when asked to test an installed wheel."""
    if (
        os.environ.get("AIOSWITCHVOX_INSTALLED")
        and Path(sys.prefix) not in Path(aioswitchvox.__file__).parents
    ):
        raise pytest.UsageError(f"aioswitchvox is not the installed one: {aioswitchvox.__file__}")


@pytest.fixture
def simulator_options() -> dict[str, Any]:
    """Return keyword arguments for the simulator (override per test module)."""
    return {}


def tolerate_refused_certificates() -> None:
    """Keep the debug event loop from failing a test whose client refuses the PBX's certificate.

    A client that refuses the simulator's self-signed certificate aborts the TLS handshake; in
    debug mode (Home Assistant's harness) the server side's event loop reports that as an error,
    which the harness turns into a test failure. It is the expected outcome of those tests, seen
    from the server we run for them; any other report still fails the test.
    """
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()

    def filtered(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == "Error on transport creation for incoming connection" and (
            isinstance(context.get("exception"), (ssl.SSLError, ConnectionResetError))
        ):
            return
        if handler is None:
            loop.default_exception_handler(context)
        else:
            handler(loop, context)

    loop.set_exception_handler(filtered)


@pytest.fixture
async def simulator(
    socket_enabled: None, simulator_options: dict[str, Any]
) -> AsyncGenerator[SwitchvoxSimulator]:
    """Run a simulated PBX on a free port of 127.0.0.1 with a few accounts."""
    if simulator_options.get("tls"):
        tolerate_refused_certificates()
    sim = SwitchvoxSimulator("127.0.0.1", 0, **simulator_options)
    for extension, name, can_watch in ACCOUNTS:
        sim.add_account(extension, PASSWORD, name, can_watch=can_watch)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
