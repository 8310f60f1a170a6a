"""``scripts/screenshots``: the README's pictures, taken from a running development instance.

It starts nothing: it drives the instance ``./scripts/develop`` runs (its Home Assistant and the
simulator its Switchvox entry is connected to), and replaces the pictures in ``docs/images/``
only once every one of them is taken and checked.
"""

import argparse
import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
import contextlib
from pathlib import Path
import shutil
import sys
import tempfile
import time
from typing import Any
import urllib.error

import aiohttp
from playwright.sync_api import Error as PlaywrightError, Locator, Page, ViewportSize
from yarl import URL

from .browser import (
    VIEWPORT,
    PictureError,
    browser,
    check_size,
    login,
    save,
    sim_channels,
    sim_control,
    wait_card_text,
)
from .dashboard import MISSED_CALLS_TITLE, card_title
from .develop import account_names
from .instance import ROOT, configured_port, http_status, say
from .provision import DASHBOARD_PATH, DEV_PASSWORD, DEV_USERNAME, HomeAssistantApi

IMAGES = ROOT / "docs" / "images"
RING_EXTENSION = "103"
CALLER_NAME = "Maria Gonzalez"
CALLER_NUMBER = "2125550142"
# The missed calls picture: exactly these items, or it is not written (a busy instance's
# demo calls would make the card, and the picture, as long as its list).
MISSED_CALLS_ITEMS = {
    f"Call back {CALLER_NAME}": "needs_action",
    "Call back 3125550177": "needs_action",
    "Call back Samuel Okafor": "completed",
}
MISSED_CALLS_HEADINGS = ("Active", "Completed")
MISSED_CALLS_ATTEMPTS = 3
# The config flow's dialog scrolls in the usual window: a taller one shows the whole form.
FORM_VIEWPORT: ViewportSize = {"width": VIEWPORT["width"], "height": 1000}


async def simulator_url(ha_url: str) -> str:
    """Return the address of the simulator the instance's Switchvox entry is connected to."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        entries = await api.rest("GET", "/api/config/config_entries/entry?domain=switchvox")
        if not entries:
            raise RuntimeError(f"the instance at {ha_url} has no Switchvox entry")
        # The entry's data is not in the entries API; its diagnostics have it (less the password).
        diagnostics = await api.rest(
            "GET", f"/api/diagnostics/config_entry/{entries[0]['entry_id']}"
        )
    data = diagnostics["data"]["entry"]["data"]
    scheme = "https" if data["ssl"] else "http"
    return str(URL.build(scheme=scheme, host=data["host"], port=data["port"]))


async def device_id(ha_url: str, extension: str) -> str:
    """Return the device registry id of a watched extension."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        devices = await api.ws({"type": "config/device_registry/list"})
    for device in devices:
        for domain, identifier in device["identifiers"]:
            if domain == "switchvox" and identifier.endswith(f"_{extension}"):
                found: str = device["id"]
                return found
    raise RuntimeError(f"no device for extension {extension}: is it watched?")


def above(upper: Locator, lower: Locator) -> bool:
    """Return whether ``upper`` ends above where ``lower`` starts (not scrolled under it)."""
    box, floor = upper.bounding_box(), lower.bounding_box()
    return box is not None and floor is not None and box["y"] + box["height"] <= floor["y"]


def open_config_flow(page: Page, ha_url: str) -> None:
    """Open the Switchvox config flow's first form (the frontend sometimes needs a retry)."""
    host = page.locator("input[name=host]")
    for _ in range(5):
        page.goto(f"{ha_url}/config/integrations/dashboard/add?domain=switchvox")
        page.wait_for_load_state("networkidle")
        for _ in range(20):  # confirm "Do you want to set up Switchvox?" (it animates in)
            if host.count():
                return
            with contextlib.suppress(PlaywrightError):
                page.get_by_role("button", name="OK", exact=True).click(timeout=500)
            page.wait_for_timeout(250)
    raise RuntimeError("the Switchvox config flow did not open")


async def _missed_calls_entity(api: HomeAssistantApi) -> str:
    """Return the entity id of the missed calls list."""
    registry = await api.ws({"type": "config/entity_registry/list"})
    entity_id: str = next(
        e["entity_id"]
        for e in registry
        if e["platform"] == "switchvox" and e["unique_id"].endswith("_missed_calls")
    )
    return entity_id


async def missed_calls_items(ha_url: str) -> dict[str, str]:
    """Return the missed calls list: each item's summary and status."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        entity_id = await _missed_calls_entity(api)
        result = await api.ws({"type": "todo/item/list", "entity_id": entity_id})
    return {item["summary"]: item["status"] for item in result["items"]}


async def clear_missed_calls(ha_url: str) -> None:
    """Empty the missed calls list (the demo traffic's calls would crowd the picture)."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        entity_id = await _missed_calls_entity(api)
        result = await api.ws({"type": "todo/item/list", "entity_id": entity_id})
        if uids := [item["uid"] for item in result["items"]]:
            await api.rest(
                "POST", "/api/services/todo/remove_item", {"entity_id": entity_id, "item": uids}
            )


async def check_off(ha_url: str, summary: str) -> None:
    """Check off the missed calls item ``summary`` (as the to-do card's checkbox does)."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        entity_id = await _missed_calls_entity(api)
        await api.rest(
            "POST",
            "/api/services/todo/update_item",
            {"entity_id": entity_id, "item": summary, "status": "completed"},
        )


def run_async[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a thread of its own: Playwright's sync API owns this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def office(ha_url: str, extensions: tuple[str, ...] = ("101", "102")) -> None:
    """Put the devices of ``extensions`` in an area named Office (created once)."""
    async with aiohttp.ClientSession() as session, HomeAssistantApi(session, ha_url) as api:
        await api.login(DEV_USERNAME, DEV_PASSWORD)
        areas = await api.ws({"type": "config/area_registry/list"})
        area = next((area for area in areas if area["name"] == "Office"), None)
        if area is None:
            area = await api.ws({"type": "config/area_registry/create", "name": "Office"})
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


def save_automation_triggers(page: Page, ha_url: str, path: Path) -> None:
    """Picture the editor's Add trigger dialog listing the Switchvox triggers for the Office."""
    run_async(office(ha_url))
    page.goto(f"{ha_url}/config/automation/edit/new")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_text("Office", exact=True).click()
    page.get_by_role("button", name="Phone started ringing").wait_for()
    page.wait_for_timeout(500)
    save(page, path)
    page.keyboard.press("Escape")


def save_logbook(page: Page, ha_url: str, sim_url: str, path: Path) -> None:
    """Picture the Activity page after an answered outgoing call and a missed call."""
    unique_id = sim_control(sim_url, "call", {"from": "101", "to": CALLER_NUMBER})["unique_id"]
    deadline = time.monotonic() + 30
    # The simulator answers an outside call after a moment.
    while not any(
        channel["unique_id"] == unique_id and channel["status"] == "onThePhone"
        for channel in sim_channels(sim_url)
    ):
        if time.monotonic() > deadline:
            raise TimeoutError("the simulator did not answer the outside call")
        time.sleep(0.2)
    sim_control(sim_url, "hang_up", {"unique_id": unique_id})
    miss(sim_url, "101", CALLER_NAME, "212 555 0142")  # the newest, at the top
    page.goto(f"{ha_url}/logbook")
    # The page's text, shadow roots included (Playwright's text selectors miss text that is a
    # direct child of a shadow root).
    page.wait_for_function(
        """(wanted) => {
          const walk = (node) => {
            let text = node.shadowRoot ? walk(node.shadowRoot) : "";
            for (const child of node.childNodes) {
              text += child.nodeType === Node.TEXT_NODE ? child.textContent : walk(child);
            }
            return text;
          };
          return walk(document.body).includes(wanted);
        }""",
        arg=f"{CALLER_NAME} (212 555 0142) called 101: missed",
        timeout=30_000,
    )
    page.wait_for_timeout(1000)
    save(page, path)


def miss(sim_url: str, extension: str, caller_name: str, caller_number: str) -> None:
    """Ring ``extension`` and hang up before anyone answers."""
    body = {"extension": extension, "caller_name": caller_name, "caller_number": caller_number}
    unique_id = sim_control(sim_url, "ring", body)["unique_id"]
    time.sleep(0.5)
    sim_control(sim_url, "hang_up", {"unique_id": unique_id})


def save_missed_calls(page: Page, ha_url: str, sim_url: str, path: Path) -> None:
    """Picture the missed calls to-do card with two callers to call back and one done.

    The list is emptied first and checked before and after the picture: a call the demo
    traffic misses meanwhile means another attempt, and after the last one, no picture.
    """
    for _ in range(MISSED_CALLS_ATTEMPTS):
        run_async(clear_missed_calls(ha_url))
        miss(sim_url, RING_EXTENSION, CALLER_NAME, CALLER_NUMBER)
        miss(sim_url, "102", "", "3125550177")
        miss(sim_url, "104", "Samuel Okafor", "6465550123")
        run_async(check_off(ha_url, "Call back Samuel Okafor"))
        page.goto(f"{ha_url}/{DASHBOARD_PATH}")
        # The section headings render after the items, sometimes after a first picture.
        wait_card_text(page, MISSED_CALLS_TITLE, [*MISSED_CALLS_ITEMS, *MISSED_CALLS_HEADINGS])
        page.wait_for_timeout(500)
        before = run_async(missed_calls_items(ha_url))
        data = page.locator("hui-todo-list-card").screenshot()
        after = run_async(missed_calls_items(ha_url))
        if before == after == MISSED_CALLS_ITEMS:
            check_size(path.name, data, VIEWPORT["width"], VIEWPORT["height"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        say(f"the missed calls list changed while picturing it ({sorted(after)}): again")
    raise PictureError(
        f"the missed calls list never showed only {sorted(MISSED_CALLS_ITEMS)}: "
        "the demo traffic is too busy (start ./scripts/develop with --no-demo)"
    )


def take(ha_url: str, sim_url: str, out: Path) -> list[Path]:
    """Take every picture; return the files written."""
    names = account_names(sim_url)
    device = run_async(device_id(ha_url, RING_EXTENSION))
    written: list[Path] = []
    with browser() as chromium:
        page = chromium.new_page(viewport=VIEWPORT, device_scale_factor=1)
        login(page, ha_url, f"/{DASHBOARD_PATH}", DEV_USERNAME, DEV_PASSWORD)

        # The config flow's form, filled in but not submitted: in a window tall enough for
        # every field, the password included, to show without scrolling.
        page.set_viewport_size(FORM_VIEWPORT)
        open_config_flow(page, ha_url)
        page.locator("input[name=host]").fill("pbx.example.lan")
        page.locator("input[name=extension]").fill("201")
        page.wait_for_timeout(500)
        # The dialog scrolls its fields under its Submit bar when the window is too short.
        password = page.locator("input[name=password]")
        if not above(password, page.get_by_role("button", name="Submit", exact=True)):
            raise PictureError("the config flow's password field is not in the picture")
        save(page, path := out / "config_flow.png")
        written.append(path)
        page.keyboard.press("Escape")
        page.set_viewport_size(VIEWPORT)

        # The dashboard with a ringing line.
        unique_id = sim_control(
            sim_url,
            "ring",
            {
                "extension": RING_EXTENSION,
                "caller_name": CALLER_NAME,
                "caller_number": CALLER_NUMBER,
            },
        )["unique_id"]
        try:
            page.goto(f"{ha_url}/{DASHBOARD_PATH}")
            title = card_title(RING_EXTENSION, names)
            wait_card_text(page, title, ["Ringing", CALLER_NAME, CALLER_NUMBER])
            page.wait_for_timeout(500)
            save(page, path := out / "dashboard_ringing.png")
            written.append(path)

            # The extension's device page (still ringing).
            page.goto(f"{ha_url}/config/devices/device/{device}")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1500)
            save(page, path := out / "device.png")
            written.append(path)
        finally:
            sim_control(sim_url, "hang_up", {"unique_id": unique_id})

        # The missed calls list: 103's call above was missed; two more, one called back.
        save_missed_calls(page, ha_url, sim_url, path := out / "missed_calls.png")
        written.append(path)

        # The automation editor listing the phone triggers for an area; the call log.
        save_automation_triggers(page, ha_url, path := out / "automation_triggers.png")
        written.append(path)
        save_logbook(page, ha_url, sim_url, path := out / "logbook_calls.png")
        written.append(path)

        # The dial action in the developer tools, ready to perform.
        page.evaluate(
            "() => localStorage.setItem('panel-dev-action-state-service-data', JSON.stringify("
            "{action: 'switchvox.dial', data: {extension: '102'}}))"
        )
        page.goto(f"{ha_url}/developer-tools/action")
        page.get_by_text("switchvox.dial").first.wait_for()
        page.wait_for_timeout(1000)
        save(page, path := out / "dial_action.png")
        written.append(path)

        # Assist places a call (with the custom sentences): the dashboard shows it behind.
        before = {c["unique_id"] for c in sim_channels(sim_url)}
        page.goto(f"{ha_url}/{DASHBOARD_PATH}")
        page.wait_for_load_state("networkidle")
        page.keyboard.press("a")  # the frontend's Assist shortcut
        request = page.locator("ha-assist-chat input, ha-assist-chat textarea").first
        request.fill("call 102")
        request.press("Enter")
        try:
            wait_card_text(page, card_title("102", names), ["Ringing"])
            page.wait_for_timeout(500)
            save(page, path := out / "assist_call.png")
            written.append(path)
        finally:
            for channel in sim_channels(sim_url):
                if channel["unique_id"] not in before:
                    with contextlib.suppress(urllib.error.HTTPError):
                        sim_control(sim_url, "hang_up", {"unique_id": channel["unique_id"]})
    return written


def main(argv: list[str] | None = None) -> int:
    """Take the pictures from a running development instance; replace them all or none."""
    parser = argparse.ArgumentParser(
        prog="scripts/screenshots",
        description=(
            "Retake the README's pictures (docs/images/*.png) from a development instance that"
            " is already running: this starts nothing, run ./scripts/develop first (in another"
            " terminal). It rings, misses and places calls on the instance's simulator and"
            " empties its missed calls list. The pictures are replaced only once all of them are"
            " taken and checked."
        ),
    )
    parser.add_argument(
        "--ha-url",
        help="the running instance (default: the one in .develop/config, at its port)",
    )
    parser.add_argument(
        "--sim-url",
        help="its simulator (default: the address of the instance's Switchvox entry)",
    )
    parser.add_argument("--out", type=Path, default=IMAGES, help="where to write (docs/images)")
    args = parser.parse_args(argv)
    ha_url = args.ha_url
    if ha_url is None:
        port = configured_port(ROOT / ".develop" / "config", 8123)
        ha_url = f"http://127.0.0.1:{port}"
    if http_status(f"{ha_url}/manifest.json") is None:
        say(f"Nothing answers at {ha_url}: start ./scripts/develop first (in another terminal).")
        return 1
    sim_url = args.sim_url or asyncio.run(simulator_url(ha_url))
    if http_status(f"{sim_url}/control/state") != 200:
        say(f"The simulator does not answer at {sim_url}.")
        return 1
    say(f"==> Home Assistant at {ha_url}, its simulator at {sim_url}")
    with tempfile.TemporaryDirectory(prefix="switchvox-screenshots-") as staging:
        try:
            taken = take(ha_url, sim_url, Path(staging))
        except (PictureError, TimeoutError) as err:
            say(f"error: {err}; {args.out} is left as it was")
            return 1
        args.out.mkdir(parents=True, exist_ok=True)
        for picture in taken:
            path = args.out / picture.name
            shutil.copyfile(picture, path)
            say(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
