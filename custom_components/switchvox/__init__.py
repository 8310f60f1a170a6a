"""The Switchvox integration: live phone line status and calls from a Switchvox PBX."""

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, LOGGER
from .coordinator import SwitchvoxConfigEntry, SwitchvoxCoordinator
from .entity import pbx_device_info
from .helpers import extension_device_key, watched_extensions
from .missed_calls import async_remove_store
from .services import async_setup_services

PLATFORMS = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR, Platform.TODO]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the dial action, once for every entry (the intent is an intent platform)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SwitchvoxConfigEntry) -> bool:
    """Log in to the PBX, then set up the entities of the watched extensions."""
    coordinator = SwitchvoxCoordinator(hass, entry)
    await coordinator.async_start()
    entry.runtime_data = coordinator

    async def _async_stop(_: Event) -> None:
        """Log out when Home Assistant stops (entries are not unloaded then)."""
        await coordinator.async_shutdown()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop))
    # The PBX device first: the extension devices point at it with via_device_id.
    pbx_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **pbx_device_info(entry)
    )
    coordinator.pbx_device_id = pbx_device.id
    _async_remove_unwatched_devices(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SwitchvoxConfigEntry) -> bool:
    """Unload the platforms; the coordinator logs out on unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: SwitchvoxConfigEntry) -> None:
    """Delete what the entry stored: its missed calls."""
    await async_remove_store(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: SwitchvoxConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing an extension's device only once that extension is no longer watched.

    Works whether or not the entry is loaded (it may be retrying setup or awaiting reauth).
    """
    return not _is_kept(device, _kept_device_keys(entry))


async def async_migrate_entry(hass: HomeAssistant, entry: SwitchvoxConfigEntry) -> bool:
    """Drop the host-based unique id of entries made before 1.2; flows match by data now."""
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(entry, unique_id=None, minor_version=2)
        LOGGER.debug("Migrated Switchvox entry %s to version 1.2", entry.title)
    return True


def _kept_device_keys(entry: SwitchvoxConfigEntry) -> set[str]:
    """Return the device identifiers of the PBX and of every watched extension."""
    return {extension_device_key(entry, ext) for ext in watched_extensions(entry)} | {
        entry.entry_id
    }


def _is_kept(device: dr.DeviceEntry, keep: set[str]) -> bool:
    """Return whether ``device`` is the PBX's or a watched extension's."""
    return any(ident[0] == DOMAIN and ident[1] in keep for ident in device.identifiers)


def _async_remove_unwatched_devices(hass: HomeAssistant, entry: SwitchvoxConfigEntry) -> None:
    """Remove the devices of extensions the options no longer watch."""
    registry = dr.async_get(hass)
    keep = _kept_device_keys(entry)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not _is_kept(device, keep):
            registry.async_remove_device(device.id)
