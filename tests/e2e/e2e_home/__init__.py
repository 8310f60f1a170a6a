"""A speaker, a speech engine and a phone for the browser end-to-end test (not shipped).

The blueprints speak on a media player and notify a Companion app phone; the test machine has
neither, nor a speech engine that works offline. These stand in for them, as the simulator
stands in for the PBX, and keep what they were asked to do in states the test reads.
"""

from homeassistant.config_entries import SOURCE_IMPORT, ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

DOMAIN = "e2e_home"
PHONE_NAME = "E2E phone"
# The Companion app names its notify action after the phone: notify.mobile_app_<its name>.
PHONE_NOTIFY = "mobile_app_e2e_phone"
LAST_NOTIFICATION = f"{DOMAIN}.last_notification"
PLATFORMS = [Platform.MEDIA_PLAYER, Platform.TTS]

CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Create the entry once (from configuration.yaml's ``e2e_home:``)."""
    if not hass.config_entries.async_entries(DOMAIN):
        hass.async_create_task(
            hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_IMPORT})
        )
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Add the phone (a device and its notify action), the speaker and the speech engine."""
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, "phone")},
        name=PHONE_NAME,
        manufacturer="E2E",
        model="Phone",
    )

    @callback
    def notify(call: ServiceCall) -> None:
        """Keep the notification where the test reads it."""
        hass.states.async_set(LAST_NOTIFICATION, "sent", dict(call.data))

    hass.services.async_register("notify", PHONE_NOTIFY, notify)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload the speaker and the speech engine."""
    hass.services.async_remove("notify", PHONE_NOTIFY)
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
