"""In a real headless Chromium: log in, watch a card follow a call, dial from the dashboard.

A real Home Assistant (``hass -c`` on a temporary folder) and the simulator run as child
processes, provisioned like ``./scripts/develop`` does it, but without demo traffic, so
every call on the PBX is one this test made.
"""

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
import re
import shutil
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from devtools.browser import (
    VIEWPORT,
    browser,
    login,
    sim_channels,
    sim_control,
    wait_card_text,
    wait_subscribed,
)
from devtools.dashboard import MISSED_CALLS_TITLE, card_title
from devtools.develop import account_names
from devtools.instance import ROOT, DevInstance, free_port, prepare_config
from devtools.logcheck import log_findings
from devtools.provision import (
    DASHBOARD_PATH,
    DEV_PASSWORD,
    DEV_USERNAME,
    HomeAssistantApi,
    Provisioned,
    Settings,
    provision,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

WATCHED = ["101", "102", "103", "104"]
CALLER_NAME = "Maria Gonzalez"
CALLER_NUMBER = "2125550142"
ARTIFACTS = ROOT / ".develop" / "e2e-artifacts"
# Stand-ins for a speaker, a speech engine and a Companion app phone (for the blueprints).
E2E_HOME = Path(__file__).parent / "e2e_home"
SPEAKER = "media_player.e2e_speaker"
SPEECH = "tts.e2e_speech"
NOTIFICATION = "e2e_home.last_notification"


@dataclass
class Running:
    """The running instance and what its provisioning made."""

    instance: DevInstance
    provisioned: Provisioned
    names: dict[str, str]


def run_async[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a thread of its own (Playwright's sync API owns this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def ha_call(ha_url: str, message: dict[str, Any]) -> Any:
    """Log in as the development user and send one websocket command."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        return await api.ws(message)


async def ha_rest(ha_url: str, path: str, payload: Any) -> Any:
    """Log in as the development user and POST to the REST API."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        return await api.rest("POST", path, payload)


async def ha_get(ha_url: str, path: str) -> Any:
    """Log in as the development user and GET from the REST API."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        return await api.rest("GET", path)


async def ha_ws_all(ha_url: str, messages: list[dict[str, Any]]) -> list[Any]:
    """Log in as the development user and send websocket commands in turn."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        return [await api.ws(message) for message in messages]


def wait_state(
    ha_url: str, entity_id: str, check: Callable[[dict[str, Any]], bool], within: float = 15.0
) -> dict[str, Any]:
    """Wait until ``entity_id``'s state passes ``check``; return it."""
    deadline = time.monotonic() + within
    while True:
        state = run_async(ha_state(ha_url, entity_id))
        if state is not None and check(state):
            return state
        assert time.monotonic() < deadline, f"{entity_id} is {state}"
        time.sleep(0.2)


async def ha_state(ha_url: str, entity_id: str) -> dict[str, Any] | None:
    """Log in as the development user and read one state."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        return await api.state(entity_id)


def wait_channels(sim_url: str, within: float = 10.0) -> list[dict[str, Any]]:
    """Wait until the simulator has a live channel; return them."""
    deadline = time.monotonic() + within
    while not (channels := sim_channels(sim_url)):
        assert time.monotonic() < deadline, "no call was placed on the simulator"
        time.sleep(0.1)
    return channels


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Start and provision a fresh instance on free ports."""
    config: Path = tmp_path_factory.mktemp("switchvox-e2e") / "config"
    ha_port = free_port()
    prepare_config(config, ha_port)
    (config / "custom_components" / "e2e_home").symlink_to(E2E_HOME, target_is_directory=True)
    with (config / "configuration.yaml").open("a", encoding="utf-8") as configuration:
        configuration.write("e2e_home:\n")
    with DevInstance(
        config_dir=config,
        ha_port=ha_port,
        sim_port=free_port(),
        extensions="101-104",
        demo=False,
    ) as instance:
        instance.start()
        names = account_names(instance.sim_url)
        provisioned = asyncio.run(
            provision(
                Settings(
                    ha_url=instance.ha_url,
                    sim_port=instance.sim_port,
                    extensions=WATCHED,
                    names=names,
                )
            )
        )
        try:
            wait_subscribed(instance.sim_url, WATCHED)
            # The stand-in speaker comes with the tts platform, set up once Home Assistant has
            # its packages (scripts/e2e installs them first: devtools/ha_requirements.py).
            wait_state(instance.ha_url, SPEAKER, lambda state: True, within=120.0)
            yield Running(instance, provisioned, names)
        finally:
            # Keep the logs of the last run next to the failure screenshots.
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for log in (config / "home-assistant.log", config.parent / "simulator.log"):
                if log.exists():
                    shutil.copyfile(log, ARTIFACTS / log.name)


@pytest.fixture(scope="module")
def page(running: Running) -> Iterator[Page]:
    """Log in with the development login in headless Chromium and open the dashboard."""
    with browser() as chromium:
        page = chromium.new_page(viewport=VIEWPORT)
        login(page, running.instance.ha_url, f"/{DASHBOARD_PATH}", DEV_USERNAME, DEV_PASSWORD)
        yield page


@pytest.fixture(autouse=True)
def screenshot_on_failure(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    """Save what the browser showed when a test using it failed."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed or "page" not in request.fixturenames:
        return
    page: Page = request.getfixturevalue("page")
    path = ARTIFACTS / f"{request.node.name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    print(f"screenshot of the failure: {path}")  # noqa: T201


def test_provisioning_is_idempotent(running: Running) -> None:
    """A second provisioning run (as on a second ./scripts/develop) creates nothing."""
    again = run_async(
        provision(Settings(ha_url=running.instance.ha_url, sim_port=running.instance.sim_port))
    )
    assert not again.created_entry
    assert again.entry_id == running.provisioned.entry_id
    assert [line.extension for line in again.lines] == WATCHED
    entries = run_async(ha_call(running.instance.ha_url, {"type": "config_entries/get"}))
    assert [e["domain"] for e in entries].count("switchvox") == 1


def test_card_follows_a_ringing_call(running: Running, page: Page) -> None:
    """Ring 103 from outside: its card shows ringing with the caller, then idle and missed."""
    title = card_title("103", running.names)
    wait_card_text(page, title, ["Line", "Idle"])
    unique_id = sim_control(
        running.instance.sim_url,
        "ring",
        {"extension": "103", "caller_name": CALLER_NAME, "caller_number": CALLER_NUMBER},
    )["unique_id"]
    wait_card_text(page, title, ["Ringing", CALLER_NAME, CALLER_NUMBER])
    sim_control(running.instance.sim_url, "hang_up", {"unique_id": unique_id})
    text = wait_card_text(page, title, ["Idle", "Missed"])
    assert CALLER_NAME not in text.split(" | ")


def test_assist_places_a_call(running: Running) -> None:
    """With the custom sentences file, "call 102" in Assist dials 102 from 101."""
    sim_url = running.instance.sim_url
    assert not sim_channels(sim_url)
    answer = run_async(
        ha_rest(
            running.instance.ha_url,
            "/api/conversation/process",
            {"text": "call 102", "language": "en"},
        )
    )
    assert answer["response"]["response_type"] == "action_done", answer
    assert answer["response"]["speech"]["plain"]["speech"] == "Calling 102"
    channels = wait_channels(sim_url)
    assert channels[0]["extension"] == "101"
    sim_control(sim_url, "hang_up", {"unique_id": channels[0]["unique_id"]})


def test_blueprint_automations_ran(running: Running) -> None:
    """The automations made from both blueprints fired on that ring and that missed call."""
    url = running.instance.ha_url
    ringing = run_async(ha_state(url, "automation.switchvox_log_ringing_calls"))
    assert ringing is not None
    assert ringing["state"] == "on"
    assert ringing["attributes"]["last_triggered"] is not None
    notifications = run_async(ha_call(url, {"type": "persistent_notification/get"}))
    missed = [n for n in notifications if n["notification_id"] == "switchvox_missed_103"]
    assert missed, notifications
    assert missed[0]["message"] == f"{CALLER_NAME} ({CALLER_NUMBER})"


def test_call_button_dials(running: Running, page: Page) -> None:
    """The card's Call button performs switchvox.dial: the login extension's phone rings."""
    sim_url = running.instance.sim_url
    assert not sim_channels(sim_url)
    title = card_title("102", running.names)
    page.get_by_role("button", name="Call").nth(0).wait_for()
    wait_card_text(page, title, ["Call extension 102"])
    row = page.locator("hui-button-row").filter(has_text="Call extension 102")
    row.get_by_role("button", name="Call").click()
    # The call starts on the login extension 101 (a dial event), towards 102.
    wait_card_text(page, card_title("101", running.names), ["Dialing"])
    channels = wait_channels(sim_url)
    assert channels[0]["extension"] == "101"
    sim_control(sim_url, "hang_up", {"unique_id": channels[0]["unique_id"]})  # and its peer
    wait_card_text(page, card_title("101", running.names), ["Idle"])


def readme_automations() -> list[dict[str, Any]]:
    """Return the automations (and automation snippets) of the README's YAML examples."""
    import yaml

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    found = []
    for block in blocks:
        data = yaml.safe_load(block)
        if isinstance(data, dict) and "triggers" in data:
            found.append(data)
    return found


def test_readme_automation_examples_are_valid(running: Running) -> None:
    """Home Assistant accepts the triggers, conditions and actions of the README's examples."""
    examples = readme_automations()
    assert len(examples) >= 6
    for example in examples:
        message: dict[str, Any] = {"type": "validate_config"}
        for key in ("triggers", "conditions", "actions"):
            if key in example:
                message[key] = example[key]
        result = run_async(ha_call(running.instance.ha_url, message))
        errors = {key: value["error"] for key, value in result.items() if not value["valid"]}
        assert not errors, (example.get("alias"), errors)


def test_blueprints_are_valid() -> None:
    """Every blueprint passes Home Assistant's blueprint schema."""
    from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
    from homeassistant.components.blueprint.models import Blueprint
    from homeassistant.util.yaml import load_yaml_dict

    folder = ROOT / "blueprints" / "automation" / "switchvox"
    names = sorted(path.name for path in folder.glob("*.yaml"))
    assert names == [
        "announce_caller.yaml",
        "missed_call.yaml",
        "missed_call_call_back.yaml",
        "ringing.yaml",
    ]
    for name in names:
        blueprint = Blueprint(
            load_yaml_dict(folder / name),
            expected_domain="automation",
            schema=AUTOMATION_BLUEPRINT_SCHEMA,
        )
        assert blueprint.inputs


def test_missed_calls_card(running: Running, page: Page) -> None:
    """103's missed call is on the to-do card; checking it off there leaves nothing open."""
    url = running.instance.ha_url
    missed = running.provisioned.missed_calls_entity
    assert missed is not None
    summary = f"Call back {CALLER_NAME}"
    text = wait_card_text(page, MISSED_CALLS_TITLE, [summary])
    assert f"{CALLER_NUMBER} called 103 at " in text
    # Assist's "call 102" (101 calling 102, ended before 102 answered) was placed by Home
    # Assistant: not a missed call, so 103's is the only open item.
    assert "Call back Alice Archer" not in text.split(" | ")
    assert wait_state(url, missed, lambda s: s["state"] == "1")
    item = page.locator("hui-todo-list-card ha-check-list-item").filter(has_text=summary)
    item.locator("[part=control]").first.click()  # the box a user clicks
    wait_state(url, missed, lambda s: s["state"] == "0")
    wait_card_text(page, MISSED_CALLS_TITLE, ["Completed", summary])


def test_announce_and_call_back_blueprints(running: Running) -> None:
    """Automations from the two new blueprints speak the caller, then call back from the phone."""
    url, sim_url = running.instance.ha_url, running.instance.sim_url
    devices = run_async(ha_call(url, {"type": "config/device_registry/list"}))
    phone = next(device["id"] for device in devices if device["name"] == "E2E phone")
    for automation_id, blueprint, inputs in (
        (
            "e2e_announce",
            "announce_caller.yaml",
            {"tts_engine": SPEECH, "media_players": [SPEAKER]},
        ),
        ("e2e_call_back", "missed_call_call_back.yaml", {"notify_device": phone}),
    ):
        config = {
            "alias": automation_id,
            "use_blueprint": {"path": f"switchvox/{blueprint}", "input": inputs},
        }
        run_async(ha_rest(url, f"/api/config/automation/config/{automation_id}", config))
    wait_state(url, "automation.e2e_call_back", lambda s: s["state"] == "on")

    number = "+12125550142"
    unique_id = sim_control(
        sim_url, "ring", {"extension": "104", "caller_name": CALLER_NAME, "caller_number": number}
    )["unique_id"]
    played = wait_state(url, SPEAKER, lambda s: s["state"] == "playing")
    query = parse_qs(urlsplit(played["attributes"]["media_content_id"]).query)
    assert query["message"] == [f"Call from {CALLER_NAME}"]
    sim_control(sim_url, "hang_up", {"unique_id": unique_id})

    notification = wait_state(url, NOTIFICATION, lambda s: s["state"] == "sent")["attributes"]
    assert notification["title"] == "Missed call"
    assert notification["message"] == f"{CALLER_NAME} called extension 104"
    [button] = notification["data"]["actions"]
    assert button["title"] == "Call back"
    assert not sim_channels(sim_url)
    # What the Companion app sends when the button is pressed.
    run_async(
        ha_rest(url, "/api/events/mobile_app_notification_action", {"action": button["action"]})
    )
    channels = wait_channels(sim_url)
    assert channels[0]["extension"] == "101"
    assert channels[0]["remotes"] == [{"callerIdName": "", "callerIdNumber": number}]
    sim_control(sim_url, "hang_up", {"unique_id": channels[0]["unique_id"]})
    # Calling back completed the caller's item on the missed calls list.
    missed = running.provisioned.missed_calls_entity
    assert missed is not None
    listed = run_async(ha_call(url, {"type": "todo/item/list", "entity_id": missed}))
    [item] = [i for i in listed["items"] if i["description"].startswith(f"{number} called 104")]
    assert (item["summary"], item["status"]) == (f"Call back {CALLER_NAME}", "completed")


async def put_in_area(ha_url: str, name: str, extensions: list[str]) -> str:
    """Create the area ``name`` (once) with the devices of ``extensions``; return its id."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        areas = await api.ws({"type": "config/area_registry/list"})
        area = next((area for area in areas if area["name"] == name), None)
        if area is None:
            area = await api.ws({"type": "config/area_registry/create", "name": name})
        for device in await api.ws({"type": "config/device_registry/list"}):
            if any(
                domain == "switchvox" and key.rsplit("_", 1)[-1] in extensions
                for domain, key in device["identifiers"]
            ):
                await api.ws(
                    {
                        "type": "config/device_registry/update",
                        "device_id": device["id"],
                        "area_id": area["area_id"],
                    }
                )
        area_id: str = area["area_id"]
        return area_id


def test_automation_editor_builds_a_phone_trigger(running: Running, page: Page) -> None:
    """Pick "Phone started ringing" for the Office in the editor: an Office call fires it once."""
    url, sim_url = running.instance.ha_url, running.instance.sim_url
    run_async(put_in_area(url, "Office", ["101", "102"]))
    page.goto(f"{url}/config/automation/edit/new")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_text("Office", exact=True).click()  # by target: the area
    page.get_by_role("button", name="Phone started ringing").click()
    page.get_by_role("button", name="Save").click()
    name = page.get_by_role("textbox", name="Name")  # the save dialog asks for a name
    name.fill("Office phones ring")
    page.locator("ha-dialog").filter(has=name).get_by_role("button", name="Save").click()
    automation = "automation.office_phones_ring"
    saved = wait_state(url, automation, lambda state: state["state"] == "on")
    config = run_async(ha_get(url, f"/api/config/automation/config/{saved['attributes']['id']}"))
    assert config["triggers"][0]["trigger"] == "switchvox.ringing"
    assert config["triggers"][0]["target"] == {"area_id": "office"}

    # 103 is not in the Office; then a ring group rings both Office phones: one run, on 101.
    outside = sim_control(
        sim_url,
        "ring",
        {"extension": "103", "caller_name": CALLER_NAME, "caller_number": "5550100"},
    )["unique_id"]
    wait_state(url, "sensor.extension_103_line", lambda s: s["state"] == "ringing")
    sim_control(sim_url, "hang_up", {"unique_id": outside})
    group = [
        sim_control(
            sim_url,
            "ring",
            {"extension": extension, "caller_name": CALLER_NAME, "caller_number": CALLER_NUMBER},
        )["unique_id"]
        for extension in ("101", "102")
    ]
    wait_state(url, "sensor.extension_102_line", lambda s: s["state"] == "ringing")
    wait_state(url, automation, lambda s: s["attributes"]["last_triggered"] is not None)
    for unique_id in group:
        sim_control(sim_url, "hang_up", {"unique_id": unique_id})
    traces = run_async(
        ha_call(
            url,
            {"type": "trace/list", "domain": "automation", "item_id": saved["attributes"]["id"]},
        )
    )
    assert [trace["trigger"] for trace in traces] == ["Switchvox call ringing on extension 101"]


def test_diagnostics(running: Running) -> None:
    """The entry's diagnostics download: the session is up, the password is not in it."""
    url = running.instance.ha_url
    entry_id = running.provisioned.entry_id
    diagnostics = run_async(ha_get(url, f"/api/diagnostics/config_entry/{entry_id}"))
    data = diagnostics["data"]
    assert diagnostics["home_assistant"]["version"]
    assert diagnostics["custom_components"]["switchvox"]["version"]
    assert data["entry"]["data"]["password"] == "**REDACTED**"
    assert data["session"]["connected"] is True
    assert sorted(data["extensions"]) == WATCHED
    assert "demo" not in str(data)  # the simulator's password


def test_log_is_clean(running: Running) -> None:
    """Once Home Assistant has stopped: no deprecation report, no warning or error of ours."""
    running.instance.stop()
    log = (running.instance.config_dir / "home-assistant.log").read_text(encoding="utf-8")
    assert "We found a custom integration switchvox" in log  # the log of this run
    assert not log_findings(log), "\n".join(log_findings(log))
