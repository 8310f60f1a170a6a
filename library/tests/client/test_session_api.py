"""The session's public API over the simulator: subscriptions, ``up`` and the diagnostics."""

import asyncio

import pytest

from aioswitchvox import (
    LineChange,
    LineStatus,
    SessionDiagnostics,
    SwitchvoxSession,
)
from library.tests.conftest import PASSWORD
from switchvox_simulator import SwitchvoxSimulator

from .conftest import MakeClient, wait_until


async def test_subscribe_per_extension(
    simulator: SwitchvoxSimulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Subscribers hear their extension (or every one), None on up and down, until removed.

    A subscriber that raises is logged and spares the others.
    """
    client = await make_client(connect=False)
    session = SwitchvoxSession(
        client=client, extension="101", password=PASSWORD, watched=["101", "102"]
    )
    every: list[LineChange | None] = []
    only_102: list[LineChange | None] = []

    def failing(change: LineChange | None) -> None:
        raise RuntimeError("subscriber bug")

    session.subscribe(failing)
    remove_every = session.subscribe(every.append)
    remove_102 = session.subscribe(only_102.append, "102")
    assert not session.up
    await session.start()
    runner = asyncio.ensure_future(session.run())
    try:
        assert session.up
        assert every == only_102 == [None]
        await simulator.ring("101", caller_name="Ann", caller_number="5550100")
        ringing = await simulator.ring("102", caller_name="Bo", caller_number="5550101")
        await wait_until(lambda: len(every) == 3)
        changes = [change for change in every if change is not None]
        assert [change.extension for change in changes] == ["101", "102"]
        assert only_102[1:] == [changes[1]]
        assert changes[1].status is LineStatus.RINGING
        assert "Error handling a change of extension 102" in caplog.text
        simulator.set_accepting(False)
        await simulator.drop_connections()
        await wait_until(lambda: not session.up)
        assert every[-1] is None
        assert only_102[-1] is None
        remove_102()
        simulator.set_accepting(True)
        await wait_until(lambda: session.up)
        assert every[-1] is None
        assert len(only_102) == 3
        remove_every()
        await simulator.hang_up(ringing)
        await asyncio.sleep(0.05)
        assert every.count(None) == 3
    finally:
        await session.close()
        runner.cancel()


async def test_diagnostics_snapshot(simulator: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """The snapshot is typed and decoded: transport, pings, history, masked messages."""
    client = await make_client(connect=False)
    session = SwitchvoxSession(client=client, extension="101", password=PASSWORD, watched=["101"])
    await session.start()
    try:
        await simulator.ring("101", caller_name="Zed Zhou", caller_number="5550100")
        await wait_until(lambda: session.lines["101"].status is LineStatus.RINGING)
        snapshot = session.diagnostics()
        assert isinstance(snapshot, SessionDiagnostics)
        assert snapshot.up
        assert snapshot.transport == "websocket"
        assert snapshot.ping_interval is not None
        assert snapshot.ping_timeout is not None
        assert snapshot.pending_requests == 0
        assert [item.event for item in snapshot.history] == ["connected"]
        notification = snapshot.recent_messages[-1]
        assert notification.event == "notification"
        caller = notification.payload["params"]["remotes"][0]
        assert caller["callerIdNumber"] == "*****00"
        assert PASSWORD not in repr(snapshot)
    finally:
        await session.close()
    closed = session.diagnostics()
    assert not closed.up
    assert closed.transport is None
    assert closed.history[-1].event == "closed"
