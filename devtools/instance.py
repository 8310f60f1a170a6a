"""A development instance: the simulator and a real Home Assistant, as two child processes."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Self
import urllib.error
import urllib.request

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_DIR = ROOT / ".develop" / "config"
DOMAIN = "switchvox"

# Onboarding steps other than creating the owner: marking them done up front keeps the
# onboarding-only integrations (weather, radio, text-to-speech) out, as they need the Internet.
# The owner itself is created through the real onboarding API by the provisioning.
ONBOARDING_STORE = """{
  "version": 4,
  "minor_version": 1,
  "key": "onboarding",
  "data": {"done": ["core_config", "analytics", "integration"]}
}
"""

# Home Assistant's HTTP session (which the integration uses) resolves names with zeroconf, on the
# network adapters enabled here: the loopback only, so that nothing leaves the machine.
NETWORK_STORE = json.dumps(
    {
        "version": 1,
        "minor_version": 1,
        "key": "core.network",
        "data": {"configured_adapters": ["lo"]},
    }
)

CONFIGURATION_YAML = """\
# Development instance of the Switchvox integration, written by scripts/develop.
# default_config is not used: some of its integrations need the Internet.
homeassistant:
  name: Switchvox development
  time_zone: UTC
  country: US
  currency: USD
  unit_system: metric
  latitude: 40.7128
  longitude: -74.006
  elevation: 10

# http: lives in .storage/http (Home Assistant 2026.10 moved it out of YAML).

logger:
  default: warning
  logs:
    custom_components.switchvox: info

api:
assist_pipeline:
auth:
automation: !include automations.yaml
blueprint:
config:
conversation:
frontend:
history:
input_text:
  switchvox_number:
    name: Number to call
    icon: mdi:dialpad
    initial: "102"
    max: 32
    pattern: "^[+]?[0-9*#]*$"
logbook:
lovelace:
onboarding:
person:
recorder:
  purge_keep_days: 2
script: !include scripts.yaml
search:
system_log:
websocket_api:
"""

SCRIPTS_YAML = """\
switchvox_dial_number:
  alias: Call the number
  icon: mdi:phone-dial
  description: Calls the number in "Number to call" from the logged-in Switchvox extension.
  sequence:
    - action: switchvox.dial
      data:
        extension: "{{ states('input_text.switchvox_number') }}"
"""

AUTOMATIONS_YAML = """\
# Made from the blueprints in the repository's blueprints/automation/switchvox/.
- id: switchvox_dev_ringing
  alias: "Switchvox: log ringing calls"
  use_blueprint:
    path: switchvox/ringing.yaml
    input:
      ringing_actions:
        - action: logbook.log
          data:
            name: "Extension {{ extension }}"
            message: "is ringing: {{ caller }}"
- id: switchvox_dev_missed
  alias: "Switchvox: notify missed calls"
  use_blueprint:
    path: switchvox/missed_call.yaml
    input:
      missed_actions:
        - action: persistent_notification.create
          data:
            notification_id: "switchvox_missed_{{ extension }}"
            title: "Missed call on extension {{ extension }}"
            message: "{{ caller_name or 'Unknown caller' }} ({{ caller_number or 'no number' }})"
"""


def say(text: str = "") -> None:
    """Write a line for the person running the tool."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    """Return whether something listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _link(link: Path, target: Path) -> None:
    """Make ``link`` a symlink to ``target`` (replacing a stale link)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        if link.resolve() == target.resolve():
            return
        link.unlink()
    elif link.exists():
        return  # a real folder the developer put there: leave it alone
    link.symlink_to(target, target_is_directory=target.is_dir())


def prepare_config(config_dir: Path, ha_port: int) -> bool:
    """Write a minimal configuration once and link the integration; return True if new."""
    config_dir.mkdir(parents=True, exist_ok=True)
    new = not (config_dir / "configuration.yaml").exists()
    if new:
        (config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML, encoding="utf-8")
        set_port(config_dir, ha_port)
        (config_dir / "scripts.yaml").write_text(SCRIPTS_YAML, encoding="utf-8")
        (config_dir / "automations.yaml").write_text(AUTOMATIONS_YAML, encoding="utf-8")
        storage = config_dir / ".storage"
        storage.mkdir(exist_ok=True)
        if not (storage / "onboarding").exists():
            (storage / "onboarding").write_text(ONBOARDING_STORE, encoding="utf-8")
        (storage / "core.network").write_text(NETWORK_STORE, encoding="utf-8")
    for name in ("automations.yaml", "scripts.yaml", "scenes.yaml"):
        (config_dir / name).touch(exist_ok=True)
    _link(config_dir / "custom_components" / DOMAIN, ROOT / "custom_components" / DOMAIN)
    _link(
        config_dir / "blueprints" / "automation" / DOMAIN,
        ROOT / "blueprints" / "automation" / DOMAIN,
    )
    _link(
        config_dir / "custom_sentences" / "en" / "switchvox.yaml",
        ROOT / "docs" / "custom_sentences" / "en" / "switchvox.yaml",
    )
    return new


def configured_port(config_dir: Path, default: int) -> int:
    """Return the HTTP port stored in an existing instance's HTTP settings."""
    path = config_dir / ".storage" / "http"
    if path.exists():
        port = json.loads(path.read_text(encoding="utf-8"))["data"]["stable"].get("server_port")
        if isinstance(port, int):
            return port
    return default


def set_port(config_dir: Path, port: int) -> None:
    """Store the HTTP settings (127.0.0.1 and ``port``) as Home Assistant keeps them.

    Since 2026.10 the ``http:`` YAML is migrated once into a "pending" trial that the frontend
    asks to confirm (a dialog over every page): the store is written directly instead.
    """
    from homeassistant.components.http.config import (  # noqa: PLC0415 (HA is heavy)
        HTTP_STORAGE_SCHEMA,
        STORAGE_MINOR_VERSION,
        STORAGE_VERSION,
    )

    stable = dict(HTTP_STORAGE_SCHEMA({"server_host": ["127.0.0.1"], "server_port": port}))
    stable.update(created_at=datetime.now(UTC).isoformat(), error=None, error_message=None)
    store = {
        "version": STORAGE_VERSION,
        "minor_version": STORAGE_MINOR_VERSION,
        "key": "http",
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }
    path = config_dir / ".storage" / "http"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(store, indent=2), encoding="utf-8")


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """Return the HTTP status of a GET (None when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            status: int = response.status
            return status
    except urllib.error.HTTPError as err:
        return err.code
    except (OSError, ValueError):
        return None


@dataclass
class DevInstance:
    """The simulator and Home Assistant processes of one development instance."""

    config_dir: Path = DEFAULT_CONFIG_DIR
    ha_port: int = 8123
    sim_port: int = 8443
    extensions: str = "101-106"
    sim_password: str = "demo"  # noqa: S105 - the simulator's accounts
    demo: bool = True
    demo_rate: float = 6.0
    verbose: bool = False
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def ha_url(self) -> str:
        """Return the base URL of Home Assistant."""
        return f"http://127.0.0.1:{self.ha_port}"

    @property
    def sim_url(self) -> str:
        """Return the base URL of the simulator."""
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def log_dir(self) -> Path:
        """Return where the processes' output goes."""
        return self.config_dir.parent

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, argv: Sequence[str], cwd: Path = ROOT) -> None:
        """Start a child in its own session, so a terminal Ctrl-C reaches only this tool."""
        output: IO[bytes] | None = None
        if not self.verbose:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{name}.log").open("ab")
            self._logs.append(output)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if sys.prefix != sys.base_prefix:
            # What Home Assistant installs (uv) goes to the environment it runs in, not to a
            # .venv found above its working directory.
            env["VIRTUAL_ENV"] = sys.prefix
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            list(argv),
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )

    def start(self, *, timeout: float = 120.0) -> None:
        """Start both processes and wait until both answer HTTP."""
        for port, what in ((self.sim_port, "simulator"), (self.ha_port, "Home Assistant")):
            if port_in_use(port):
                raise RuntimeError(f"port {port} (for the {what}) is already in use")
        argv = [sys.executable, "-m", "switchvox_simulator", "--port", str(self.sim_port)]
        argv += ["--extensions", self.extensions, "--password", self.sim_password]
        if self.demo:
            argv += ["--demo", "--demo-rate", f"{self.demo_rate:g}"]
        self._spawn("simulator", argv)
        hass = [sys.executable, "-m", "homeassistant", "-c", str(self.config_dir)]
        # Not from the repository: its custom_components folder would hide the configuration's
        # (where the integration is linked, with anything else a test adds).
        self._spawn("homeassistant", hass, cwd=self.config_dir)
        self.wait_http(f"{self.sim_url}/control/state", "simulator", timeout=30.0)
        self.wait_http(f"{self.ha_url}/manifest.json", "Home Assistant", timeout=timeout)

    def wait_http(self, url: str, name: str, *, timeout: float) -> None:
        """Wait until ``url`` answers, failing early when a child has exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if http_status(url) is not None:
                return
            time.sleep(0.5)
        raise TimeoutError(f"the {name} did not answer {url} within {timeout:g} s")

    def check_alive(self) -> None:
        """Raise if a child process has exited."""
        for name, process in self.processes.items():
            if (code := process.poll()) is not None:
                hint = "" if self.verbose else f"; see {self.log_dir / f'{name}.log'}"
                raise RuntimeError(f"the {name} process exited with code {code}{hint}")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop Home Assistant first (it logs out of the PBX), then the simulator."""
        for name in ("homeassistant", "simulator"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop within {timeout:g} s: killing it")
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()
