"""Headless Chromium (Debian's package) driven by Playwright, logged in to Home Assistant."""

from collections.abc import Iterator
import contextlib
import json
import os
from pathlib import Path
import shutil
import struct
import subprocess
import time
from typing import TYPE_CHECKING, Any
import urllib.request

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}


class PictureError(RuntimeError):
    """A picture does not show what the README says it shows."""


def png_size(data: bytes) -> tuple[int, int]:
    """Return the width and height of a PNG image (from its header)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise PictureError("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def check_size(name: str, data: bytes, max_width: int, max_height: int) -> None:
    """Refuse a picture larger than the viewport: it would be clipped or a page of list."""
    width, height = png_size(data)
    if not (0 < width <= max_width and 0 < height <= max_height):
        raise PictureError(
            f"{name} would be {width}x{height}, more than {max_width}x{max_height}: "
            "the instance is showing more than the picture should (is the demo traffic busy?)"
        )


def chromium_path() -> str:
    """Return the Chromium binary, installing Debian's package with apt-get when missing."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise RuntimeError("Chromium is missing and apt-get is not available to install it")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, apt, "update", "-qq"], check=True, env=env)  # noqa: S603
    subprocess.run(  # noqa: S603
        [*sudo, apt, "install", "-y", "-qq", "chromium", "fonts-dejavu-core"], check=True, env=env
    )
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("apt-get installed chromium, but it is not on PATH")
    return found


@contextlib.contextmanager
def browser() -> Iterator[Browser]:
    """Launch headless Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional dependency

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


def login(page: Page, base_url: str, path: str, username: str, password: str) -> None:
    """Open ``path``, log in on Home Assistant's login page, and wait for the app."""
    page.goto(f"{base_url}{path}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(f"{base_url}{path}*", timeout=30_000)
    page.locator("home-assistant").wait_for()
    page.wait_for_load_state("networkidle")


def sim_control(sim_url: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST one simulator control action and return its JSON answer."""
    request = urllib.request.Request(  # noqa: S310 - the local simulator
        f"{sim_url}/control/{action}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        result: dict[str, Any] = json.load(response)
        return result


def sim_state(sim_url: str) -> dict[str, Any]:
    """Return the simulator's state (accounts, channels, sessions, subscriptions)."""
    with urllib.request.urlopen(f"{sim_url}/control/state", timeout=5) as response:  # noqa: S310
        state: dict[str, Any] = json.load(response)
        return state


def sim_channels(sim_url: str) -> list[dict[str, Any]]:
    """Return the simulator's live channels."""
    channels: list[dict[str, Any]] = sim_state(sim_url)["channels"]
    return channels


def wait_subscribed(sim_url: str, extensions: list[str], within: float = 30.0) -> None:
    """Wait until exactly one session (Home Assistant's) watches every extension."""
    deadline = time.monotonic() + within
    while True:
        state = sim_state(sim_url)
        subscriptions = state["subscriptions"]
        if state["sessions"] == 1 and all(subscriptions.get(e) == 1 for e in extensions):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Home Assistant is not subscribed on the simulator: {state}")
        time.sleep(0.1)


# The text of an entities card, shadow roots included, its rows separated by " | ".
# (Playwright's text selectors miss text that is a direct child of a shadow root.)
_CARD_TEXT_JS = """
([title]) => {
  const text = (root) => {
    const out = [];
    const walk = (node) => {
      if (node.shadowRoot) walk(node.shadowRoot);
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) {
          const value = child.textContent.trim();
          if (value) out.push(value);
        } else if (child.nodeType === Node.ELEMENT_NODE || child.nodeType === 11) {
          walk(child);
        }
      }
    };
    walk(root);
    return out.join(" | ");
  };
  const CARDS = ["hui-entities-card", "hui-todo-list-card"];
  const cards = [];
  const find = (node) => {
    if (node.shadowRoot) find(node.shadowRoot);
    for (const child of node.children || []) {
      if (CARDS.includes(child.localName)) cards.push(child);
      find(child);
    }
  };
  find(document);
  for (const card of cards) {
    const value = text(card);
    if (value.startsWith(title + " |")) return value;
  }
  return null;
}
"""


def entities_card(page: Page, title: str) -> Any:
    """Return the locator of the entities card with this title."""
    return page.locator("hui-entities-card").filter(has_text=title)


def card_text(page: Page, title: str) -> str | None:
    """Return the visible text of the entities or to-do card titled ``title`` (None if absent)."""
    result: str | None = page.evaluate(_CARD_TEXT_JS, [title])
    return result


def wait_card_text(page: Page, title: str, wanted: list[str], timeout: float = 30.0) -> str:
    """Wait until the card titled ``title`` shows every text in ``wanted``; return its text."""
    deadline = time.monotonic() + timeout
    while True:
        text = card_text(page, title) or ""
        parts = text.split(" | ")
        if all(w in parts for w in wanted):
            return text
        if time.monotonic() > deadline:
            raise TimeoutError(f"card {title!r} never showed {wanted}; it shows: {text!r}")
        page.wait_for_timeout(200)


def save(page: Page, path: Path) -> None:
    """Write a screenshot of the whole viewport."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
