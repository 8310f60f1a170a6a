"""The simulator's flapping faults: a PBX that closes every session at one point of its life."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from switchvox_simulator import SwitchvoxSimulator

from .conftest import TIMEOUT, RawClient

type MakeClient = Callable[..., Awaitable[RawClient]]


async def _post(sim: SwitchvoxSimulator, action: str, body: Any, status: int = 200) -> None:
    """Post one control action and check its status."""
    async with (
        aiohttp.ClientSession(base_url=sim.url) as http,
        http.post(f"/control/{action}", json=body) as resp,
    ):
        assert resp.status == status, await resp.text()


async def test_drop_after_login_answer(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """The login is answered, then the connection is closed."""
    await _post(sim, "flapping", {"after": "login"})
    client = await make_client()
    assert (await client.login())["result"] is True
    await asyncio.wait_for(client.disconnected.wait(), TIMEOUT)
    assert sim.connections == 0


async def test_drop_after_subscribe_answer(
    sim: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """The login and the subscribe are answered, then the connection is closed."""
    sim.set_flapping(after="subscribe")
    client = await make_client()
    assert (await client.login())["result"] is True
    assert not client.disconnected.is_set()
    assert (await client.subscribe("101"))["result"] is True
    await asyncio.wait_for(client.disconnected.wait(), TIMEOUT)


async def test_drop_after_seconds_and_notifications(
    sim: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """A session is closed some time after its login, or after its first notifications."""
    await _post(sim, "flapping", {"seconds": 0.05})
    client = await make_client()
    await client.login()
    await asyncio.wait_for(client.disconnected.wait(), TIMEOUT)
    # Stopping the fault spares a session whose time had not come yet.
    client = await make_client()
    await client.login()
    sim.set_flapping()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.disconnected.wait(), 0.2)
    await _post(sim, "flapping", {"seconds": 0.05})
    await _post(sim, "flapping", {"notifications": 2})
    client = await make_client()
    await client.login()
    await client.subscribe("101")
    await sim.notify("101", {})
    await client.notification()
    assert not client.disconnected.is_set()
    await sim.notify("101", {})
    await asyncio.wait_for(client.disconnected.wait(), TIMEOUT)
    await _post(sim, "flapping", {})
    client = await make_client()
    await client.login()
    await client.subscribe("101")
    for _ in range(3):
        await sim.notify("101", {})
        await client.notification()
    assert not client.disconnected.is_set()


async def test_ids_echoed_as_strings(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """With string ids on, a request sent with id 1 is answered with id "1"."""
    await _post(sim, "string_ids", {"value": True})
    client = await make_client()
    future = client.start("login", {"extension": "101", "password": "wrong"})
    response = await asyncio.wait_for(client.unmatched.get(), TIMEOUT)
    assert response["id"] == "1"
    assert not future.done()
    await _post(sim, "string_ids", {"value": False})
    assert (await client.request("logout"))["id"] == 2


@pytest.mark.parametrize(
    "body",
    [{"after": "dial"}, {"seconds": -1}, {"seconds": "soon"}, {"notifications": 0}],
)
async def test_bad_flapping_requests(sim: SwitchvoxSimulator, body: dict[str, Any]) -> None:
    """Unknown drop points and bad numbers are refused."""
    await _post(sim, "flapping", body, 400)


def test_flapping_switch_checks_its_arguments(sim: SwitchvoxSimulator) -> None:
    """The Python API refuses the same values."""
    with pytest.raises(ValueError, match="drop point"):
        sim.set_flapping(after="dial")
    with pytest.raises(ValueError, match="seconds"):
        sim.set_flapping(seconds=-1)
    with pytest.raises(ValueError, match="notifications"):
        sim.set_flapping(notifications=0)
