"""A speech engine that makes no sound: what it was asked to say is in the speaker's media id."""

from typing import Any

from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the speech engine."""
    async_add_entities([E2ESpeech()])


class E2ESpeech(TextToSpeechEntity):
    """Says everything in silence."""

    _attr_name = "E2E speech"
    _attr_unique_id = "e2e_speech"
    _attr_supported_languages = ["en"]  # noqa: RUF012
    _attr_default_language = "en"

    def get_tts_audio(self, message: str, language: str, options: dict[str, Any]) -> TtsAudioType:
        """Return no audio."""
        return ("mp3", b"")
