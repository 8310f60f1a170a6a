"""Provision a development Home Assistant through its real APIs.

Onboarding (the owner account), the Switchvox entry through the config flow, the watched
extensions through the options flow, and the dashboard through the websocket API. Every step
checks first, so running it again on the same instance changes nothing.
"""

import asyncio
from dataclasses import dataclass, field
import re
import time
from typing import Any, Self

import aiohttp

from .dashboard import LineEntities, build_dashboard
from .instance import DOMAIN, say

DEV_USERNAME = "dev"
DEV_PASSWORD = "switchvox-dev"  # noqa: S105 - the documented login of the local dev instance
DEV_NAME = "Developer"
DASHBOARD_URL_PATH = "switchvox-phones"
DASHBOARD_PATH = f"{DASHBOARD_URL_PATH}/phones"


class ProvisionError(RuntimeError):
    """Home Assistant did not accept a provisioning step."""


@dataclass
class Settings:
    """What to provision."""

    ha_url: str
    sim_host: str = "127.0.0.1"
    sim_port: int = 8443
    login_extension: str = "101"
    sim_password: str = "demo"  # noqa: S105 - the simulator's accounts
    extensions: list[str] = field(default_factory=lambda: ["101", "102", "103", "104", "105"])
    names: dict[str, str] = field(default_factory=dict)
    rebuild_dashboard: bool = False


@dataclass
class Provisioned:
    """What the instance has once provisioned."""

    entry_id: str
    lines: list[LineEntities]
    connection_entity: str | None
    missed_calls_entity: str | None
    dashboard_url: str
    created_entry: bool


class HomeAssistantApi:
    """A small REST and websocket client of Home Assistant, logged in as a user."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.client_id = f"{self.base_url}/"
        self.token: str | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 1

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _token_from_code(self, code: str) -> None:
        """Exchange an authorization code for an access token."""
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        async with self.session.post(f"{self.base_url}/auth/token", data=data) as response:
            body = await response.json()
            if response.status != 200:
                raise ProvisionError(f"token exchange failed: {body}")
        self.token = body["access_token"]

    async def onboarding_steps(self) -> dict[str, bool]:
        """Return the onboarding steps and whether each is done ({} when all are done)."""
        async with self.session.get(f"{self.base_url}/api/onboarding") as response:
            if response.status == 404:
                return {}
            steps = await response.json()
        return {step["step"]: step["done"] for step in steps}

    async def create_owner(self, name: str, username: str, password: str) -> None:
        """Create the owner account (onboarding's user step) and log in as it."""
        payload = {
            "client_id": self.client_id,
            "name": name,
            "username": username,
            "password": password,
            "language": "en",
        }
        async with self.session.post(
            f"{self.base_url}/api/onboarding/users", json=payload
        ) as response:
            body = await response.json()
            if response.status != 200:
                raise ProvisionError(f"creating the owner failed: {body}")
        await self._token_from_code(body["auth_code"])

    async def finish_onboarding(self, steps: dict[str, bool]) -> None:
        """Finish the onboarding steps that are still open (normally none)."""
        for step in ("core_config", "analytics"):
            if steps.get(step) is False:
                await self.rest("POST", f"/api/onboarding/{step}", {})
        if steps.get("integration") is False:
            redirect = f"{self.base_url}/?auth_callback=1"
            await self.rest(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": redirect},
            )

    async def login(self, username: str, password: str) -> None:
        """Log in with the login flow the frontend uses."""
        start = {
            "client_id": self.client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": f"{self.base_url}/?auth_callback=1",
        }
        async with self.session.post(f"{self.base_url}/auth/login_flow", json=start) as response:
            flow = await response.json()
        credentials = {"client_id": self.client_id, "username": username, "password": password}
        async with self.session.post(
            f"{self.base_url}/auth/login_flow/{flow['flow_id']}", json=credentials
        ) as response:
            result = await response.json()
        if result.get("type") != "create_entry":
            raise ProvisionError(
                f"logging in as {username!r} failed ({result.get('errors')}); "
                "delete the development config folder to start over"
            )
        await self._token_from_code(result["result"])

    async def rest(self, method: str, path: str, payload: Any = None) -> Any:
        """Call the REST API and return the JSON answer."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.request(
            method, f"{self.base_url}{path}", json=payload, headers=headers
        ) as response:
            body = await response.json(content_type=None)
            if response.status >= 400:
                raise ProvisionError(f"{method} {path}: HTTP {response.status}: {body}")
            return body

    async def ws(self, message: dict[str, Any]) -> Any:
        """Send one websocket command and return its result."""
        if self._ws is None:
            self._ws = await self.session.ws_connect(f"{self.base_url}/api/websocket")
            await self._ws.receive_json()  # auth_required
            await self._ws.send_json({"type": "auth", "access_token": self.token})
            answer = await self._ws.receive_json()
            if answer.get("type") != "auth_ok":
                raise ProvisionError(f"websocket authentication failed: {answer}")
        message_id = self._next_id
        self._next_id += 1
        await self._ws.send_json({**message, "id": message_id})
        while True:
            answer = await self._ws.receive_json()
            if answer.get("id") == message_id and answer.get("type") == "result":
                break
        if not answer["success"]:
            raise WebsocketError(answer["error"].get("code", ""), str(answer["error"]))
        return answer["result"]

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        """Return an entity's state object, or None if it has none."""
        try:
            result: dict[str, Any] = await self.rest("GET", f"/api/states/{entity_id}")
        except ProvisionError:
            return None
        return result


class WebsocketError(ProvisionError):
    """A websocket command failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def wait_until_up(api: HomeAssistantApi, within: float = 120.0) -> None:
    """Wait until Home Assistant has finished starting (the API reports RUNNING)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        config = await api.rest("GET", "/api/config")
        if config.get("state") == "RUNNING":
            return
        await asyncio.sleep(0.5)
    raise ProvisionError("Home Assistant did not finish starting")


async def log_in(api: HomeAssistantApi) -> bool:
    """Create the development owner on a new instance, or log in; return True if created."""
    steps = await api.onboarding_steps()
    created = False
    if steps and not steps.get("user", True):
        say(f"==> onboarding: creating the owner {DEV_USERNAME!r}")
        await api.create_owner(DEV_NAME, DEV_USERNAME, DEV_PASSWORD)
        created = True
    else:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
    if steps:
        await api.finish_onboarding(await api.onboarding_steps())
    return created


async def ensure_entry(api: HomeAssistantApi, settings: Settings) -> tuple[str, bool]:
    """Create the Switchvox entry through the config flow unless it exists."""
    entries = await api.rest("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    if entries:
        return entries[0]["entry_id"], False
    say(f"==> config flow: {DOMAIN} at {settings.sim_host}:{settings.sim_port}")
    flow = await api.rest(
        "POST",
        "/api/config/config_entries/flow",
        {"handler": DOMAIN, "show_advanced_options": False},
    )
    result = await api.rest(
        "POST",
        f"/api/config/config_entries/flow/{flow['flow_id']}",
        {
            "host": settings.sim_host,
            "port": settings.sim_port,
            "ssl": False,
            "verify_ssl": False,
            "extension": settings.login_extension,
            "password": settings.sim_password,
        },
    )
    if result.get("type") != "create_entry":
        raise ProvisionError(f"the config flow did not create the entry: {result}")
    return result["result"]["entry_id"], True


async def set_watched(api: HomeAssistantApi, entry_id: str, extensions: list[str]) -> None:
    """Choose the watched extensions through the options flow."""
    say(f"==> options flow: watching {', '.join(extensions)}")
    flow = await api.rest("POST", "/api/config/config_entries/options/flow", {"handler": entry_id})
    result = await api.rest(
        "POST",
        f"/api/config/config_entries/options/flow/{flow['flow_id']}",
        {"extensions": extensions},
    )
    if result.get("type") != "create_entry":
        raise ProvisionError(f"the options flow did not finish: {result}")


async def wait_entities(
    api: HomeAssistantApi, entry_id: str, expected: list[str] | None, within: float = 60.0
) -> tuple[list[LineEntities], str | None, str | None]:
    """Wait until the entry is loaded; return its line entities, connection and missed calls."""
    deadline = time.monotonic() + within
    pattern = re.compile(rf"^{re.escape(entry_id)}_([0-9]+)_line_status$")
    while True:
        entries = await api.rest("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
        entry = next(e for e in entries if e["entry_id"] == entry_id)
        registry = await api.ws({"type": "config/entity_registry/list"})
        by_unique = {
            e["unique_id"]: e["entity_id"] for e in registry if e["config_entry_id"] == entry_id
        }
        found = sorted(m[1] for u in by_unique if (m := pattern.match(u)))
        watched = expected if expected is not None else found
        lines = [
            LineEntities(
                extension=ext,
                line=by_unique.get(f"{entry_id}_{ext}_line_status", ""),
                call=by_unique.get(f"{entry_id}_{ext}_call", ""),
            )
            for ext in watched
        ]
        ready = entry["state"] == "loaded" and lines and all(x.line and x.call for x in lines)
        if ready:
            states = [await api.state(x.line) for x in lines]
            if all(s is not None and s["state"] != "unavailable" for s in states):
                return (
                    lines,
                    by_unique.get(f"{entry_id}_connection"),
                    by_unique.get(f"{entry_id}_missed_calls"),
                )
        if time.monotonic() > deadline:
            raise ProvisionError(f"the Switchvox entry is not ready: state {entry['state']}")
        await asyncio.sleep(0.5)


async def ensure_dashboard(
    api: HomeAssistantApi,
    lines: list[LineEntities],
    connection: str | None,
    missed_calls: str | None,
    settings: Settings,
) -> None:
    """Install the phones dashboard and make it the default one, unless it exists."""
    dashboards = await api.ws({"type": "lovelace/dashboards/list"})
    exists = any(d["url_path"] == DASHBOARD_URL_PATH for d in dashboards)
    if exists and not settings.rebuild_dashboard:
        return
    say(f"==> dashboard: installing /{DASHBOARD_PATH} as the default dashboard")
    if not exists:
        await api.ws(
            {
                "type": "lovelace/dashboards/create",
                "url_path": DASHBOARD_URL_PATH,
                "title": "Phones",
                "icon": "mdi:phone-classic",
                "show_in_sidebar": True,
                "require_admin": False,
                "mode": "storage",
            }
        )
    config = build_dashboard(
        lines,
        connection,
        names=settings.names,
        login_extension=settings.login_extension,
        missed_calls=missed_calls,
    )
    await api.ws({"type": "lovelace/config/save", "url_path": DASHBOARD_URL_PATH, "config": config})
    system = await api.ws({"type": "frontend/get_system_data", "key": "core"})
    core = (system or {}).get("value") or {}
    await api.ws(
        {
            "type": "frontend/set_system_data",
            "key": "core",
            "value": {**core, "default_panel": DASHBOARD_URL_PATH},
        }
    )


async def provision(settings: Settings) -> Provisioned:
    """Bring the instance to the ready state; safe to run again."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        HomeAssistantApi(session, settings.ha_url) as api,
    ):
        await log_in(api)
        await wait_until_up(api)
        entry_id, created = await ensure_entry(api, settings)
        if created:
            await set_watched(api, entry_id, settings.extensions)
        lines, connection, missed_calls = await wait_entities(
            api, entry_id, settings.extensions if created else None
        )
        await ensure_dashboard(api, lines, connection, missed_calls, settings)
        return Provisioned(
            entry_id=entry_id,
            lines=lines,
            connection_entity=connection,
            missed_calls_entity=missed_calls,
            dashboard_url=f"{settings.ha_url}/{DASHBOARD_PATH}",
            created_entry=created,
        )
