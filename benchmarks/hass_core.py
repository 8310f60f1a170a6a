"""A real Home Assistant core in this process, booted the way Home Assistant boots its own.

``bootstrap.async_load_base_functionality`` loads the registries, translations and config
entries from a temporary configuration directory (real storage, not the test harness's mocks);
custom integrations are found in ``custom_components/`` of the current directory.
"""

from collections.abc import AsyncIterator, Callable
import contextlib
import gc
import logging
from pathlib import Path
import sqlite3
import tempfile
from types import MappingProxyType
from typing import Any

from homeassistant import bootstrap, config_entries, loader
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SSL,
    CONF_VERIFY_SSL,
    EVENT_STATE_CHANGED,
)
from homeassistant.core import CoreState, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import recorder as recorder_helper
from homeassistant.setup import async_setup_component

from custom_components.switchvox.const import CONF_EXTENSION, CONF_EXTENSIONS, DOMAIN
from devtools.instance import NETWORK_STORE

PLATFORM_DOMAINS = ("binary_sensor", "event", "sensor")


def rss_bytes() -> int:
    """Return this process's resident set size (VmRSS of /proc/self/status)."""
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def settled_rss() -> int:
    """Return the resident set size after a full garbage collection."""
    gc.collect()
    return rss_bytes()


@contextlib.asynccontextmanager
async def home_assistant(*, recorder: bool = False) -> AsyncIterator[HomeAssistant]:
    """Run a Home Assistant core with loaded registries in a throw-away config directory.

    With ``recorder``, Home Assistant's recorder is set up first (as bootstrap does), with its
    default settings: SQLite in the config directory (``home-assistant_v2.db``).
    """
    logging.getLogger("homeassistant").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="switchvox-bench-") as config_dir:
        hass = HomeAssistant(config_dir)
        loader.async_setup(hass)
        hass.config.skip_pip = True
        hass.config_entries = config_entries.ConfigEntries(hass, {})
        await hass.config.async_set_time_zone("UTC")
        await bootstrap.async_load_base_functionality(hass)
        # network comes first, as bootstrap does: Home Assistant's HTTP session (the
        # integration's) resolves names with zeroconf on its adapters, the loopback only here.
        storage = Path(config_dir) / ".storage"
        storage.mkdir(exist_ok=True)
        (storage / "core.network").write_text(NETWORK_STORE, encoding="utf-8")
        if not await async_setup_component(hass, "network", {}):
            raise RuntimeError("The network integration did not set up")
        if recorder:
            recorder_helper.async_initialize_recorder(hass)  # as bootstrap does, first
            if not await async_setup_component(hass, "recorder", {}):
                raise RuntimeError("The recorder did not set up")
        # The sensor, event and binary_sensor components are Home Assistant's, not the
        # integration's: set them up first so that setup figures are the integration's own.
        for domain in PLATFORM_DOMAINS:
            await async_setup_component(hass, domain, {})
        await hass.async_start()
        assert hass.state is CoreState.running  # noqa: S101
        try:
            yield hass
        finally:
            await hass.async_stop(force=True)


async def preload_integration(hass: HomeAssistant) -> None:
    """Import the integration and its platforms (a one-off cost, not a per-entry one)."""
    integration = await loader.async_get_integration(hass, DOMAIN)
    await integration.async_get_component()
    await integration.async_get_platforms(PLATFORM_DOMAINS)


def add_entry(
    hass: HomeAssistant, port: int, login: str, password: str, extensions: list[str]
) -> ConfigEntry:
    """Add (not yet set up) a config entry watching ``extensions`` on the simulator."""
    entry = ConfigEntry(
        version=1,
        minor_version=1,
        domain=DOMAIN,
        title=f"{login} @ 127.0.0.1",
        data={
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_SSL: False,
            CONF_VERIFY_SSL: True,
            CONF_EXTENSION: login,
            CONF_PASSWORD: password,
        },
        options={CONF_EXTENSIONS: extensions},
        source=config_entries.SOURCE_USER,
        unique_id=f"127.0.0.1:{port}:{login}",
        discovery_keys=MappingProxyType({}),
        subentries_data=None,
    )
    hass.config_entries._entries[entry.entry_id] = entry  # noqa: SLF001 - no storage round trip
    return entry


def listen_states(
    hass: HomeAssistant, handler: Callable[[Event[EventStateChangedData]], None]
) -> Callable[[], None]:
    """Call ``handler`` (inline, as each state is written) for every state change."""

    @callback
    def listener(event: Event[EventStateChangedData]) -> None:
        handler(event)

    return hass.bus.async_listen(EVENT_STATE_CHANGED, listener)


def entity_count(extensions: int) -> int:
    """Return the number of entities an entry watching ``extensions`` extensions creates."""
    return 2 * extensions + 1


def state_attributes_like_sensor(extension: str, status: str, seq: int) -> dict[str, Any]:
    """Return attributes shaped like the line sensor's (for the bare state-write baseline)."""
    return {
        "extension": extension,
        "caller_name": "Caller",
        "caller_number": "5550100",
        "direction": "fromPbx",
        "call_start": "2026-01-01T00:00:00+00:00",
        "active_channels": 1,
        "dial_data": {"t": seq, "n": seq},
        "options": ["idle", "starting", "calling", "on_the_phone", "ringing", "on_hold"],
        "device_class": "enum",
        "friendly_name": f"Extension {extension} Line",
        "status": status,
    }


# The recorder's tables that grow with every state write and bus event.
RECORDED_TABLES = ("states", "state_attributes", "events", "event_data")
_JSON_COLUMNS = {"state_attributes": "shared_attrs", "event_data": "shared_data"}


async def recorder_commit(hass: HomeAssistant) -> None:
    """Let every pending state write and event reach the recorder, and commit them."""
    await hass.async_block_till_done()
    await recorder_helper.get_instance(hass).async_block_till_done()


def database_usage(path: str) -> dict[str, dict[str, int]]:
    """Return rows, bytes and JSON text per recorded table, measured in the database file.

    ``bytes`` are the pages (dbstat) of the table and of its indexes; ``json`` the length of
    its stored JSON text (attributes, event data), where it has any.
    """
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        owner = dict(
            connection.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
            )
        )
        usage = {table: {"rows": 0, "bytes": 0, "json": 0} for table in RECORDED_TABLES}
        for name, size in connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            if (table := owner.get(name)) in usage:
                usage[table]["bytes"] += int(size)
        for table, figures in usage.items():
            figures["rows"] = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            if column := _JSON_COLUMNS.get(table):
                figures["json"] = connection.execute(
                    f"SELECT coalesce(sum(length({column})), 0) FROM {table}"  # noqa: S608
                ).fetchone()[0]
    finally:
        connection.close()
    return usage


def database_path(hass: HomeAssistant) -> str:
    """Return the recorder's SQLite file (the default db_url)."""
    return hass.config.path("home-assistant_v2.db")
