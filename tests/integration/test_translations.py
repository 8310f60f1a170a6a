"""Tests that the shipped translations are the strings the code refers to, in every language."""

import json
from logging import DEBUG, ERROR
from pathlib import Path
import re
import shutil
from typing import Any
from unittest.mock import patch

from homeassistant.components import conversation
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    condition as condition_helper,
    intent,
    translation,
    trigger as trigger_helper,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.switchvox.const import CONF_EXTENSION, DIRECTION_OPTIONS, DOMAIN
from custom_components.switchvox.rtapi.lines import CallEvent
from custom_components.switchvox.sensor import LINE_STATUS_DESCRIPTION
from switchvox_simulator import SwitchvoxSimulator
from tests.conftest import simulator_config

from .helpers import state_of, wait_for

PACKAGE = Path(__file__).parents[2] / "custom_components" / "switchvox"
SENTENCES = Path(__file__).parents[2] / "docs" / "custom_sentences"
# The languages with the most Home Assistant users; each must translate every string.
LANGUAGES = ("de", "es", "fr", "it", "nl", "pl", "pt-BR", "sv")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_CONDITIONS = ("is_idle", "is_ringing", "is_on_the_phone", "is_on_hold", "is_busy")


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Return the object of ``pairs``, refusing a key given twice (JSON keeps the last one)."""
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys: {keys}"
    return dict(pairs)


def _load(name: str) -> dict[str, object]:
    """Return a JSON file of the integration package."""
    text = (PACKAGE / name).read_text(encoding="utf-8")
    data: dict[str, object] = json.loads(text, object_pairs_hook=_unique)
    return data


def test_english_translation_is_strings_json() -> None:
    """translations/en.json (what Home Assistant loads) is a copy of strings.json."""
    assert _load("translations/en.json") == _load("strings.json")


@pytest.mark.parametrize("name", ["strings.json", "icons.json"])
def test_every_state_is_named(name: str) -> None:
    """Each line status and call event type has a translation and an icon."""
    entity = _load(name)["entity"]
    assert isinstance(entity, dict)
    line = entity["sensor"]["line_status"]["state"]
    assert set(line) == set(LINE_STATUS_DESCRIPTION.options or [])
    call = entity["event"]["call"]["state_attributes"]["event_type"]["state"]
    assert set(call) == {event.value for event in CallEvent}


def _keys(node: object, path: str = "") -> list[tuple[str, str]]:
    """Return every (path, key) below ``node`` whose key hassfest requires in snake_case."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((path, key))
            found.extend(_keys(value, f"{path}.{key}"))
    return found


@pytest.mark.parametrize("name", ["strings.json", "icons.json"])
def test_translation_keys_are_snake_case(name: str) -> None:
    """Hassfest's rule: entity, state and attribute value keys match [a-z0-9_-] (so 'to_pbx')."""
    entity = _load(name)["entity"]
    bad = [f"{path}.{key}" for path, key in _keys(entity) if not re.fullmatch(r"[a-z0-9_-]+", key)]
    assert not bad


def test_direction_values_are_translated() -> None:
    """Every direction the attribute can take has a translated state."""
    entity = _load("strings.json")["entity"]
    assert isinstance(entity, dict)
    states = entity["sensor"]["line_status"]["state_attributes"]["direction"]["state"]
    assert set(states) == set(DIRECTION_OPTIONS.values())


def test_assist_and_setup_messages_exist() -> None:
    """The messages Assist speaks and permanent setup errors show are translated."""
    exceptions = _load("strings.json")["exceptions"]
    assert isinstance(exceptions, dict)
    for key in (
        "assist_calling",
        "assist_number_ambiguous",
        "assist_number_not_allowed",
        "assist_unknown_name",
        "certificate_verify_failed",
        "api_not_allowed",
    ):
        assert "message" in exceptions[key]


def test_verify_ssl_says_it_needs_https() -> None:
    """The certificate box stays on the form for http:// too: its description says it is unused."""
    steps = _load("strings.json")["config"]
    assert isinstance(steps, dict)
    for step in ("user", "reconfigure"):
        description = steps["step"][step]["data_description"]["verify_ssl"]
        assert "Without HTTPS" in description
        assert "no effect" in description


async def test_call_event_attributes_are_translated(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Every attribute of the call event is named, and its direction shown as the sensor's is.

    The frontend names attributes and their values from these texts; without them the event's
    details showed "Direction: to_pbx" where the line sensor shows "Incoming".
    """
    uid = await simulator.ring("102", caller_name="Maria Gonzalez", caller_number="2125550142")
    await wait_for(hass, lambda: state_of(hass, "event.extension_102_call") != "unknown")
    await simulator.hang_up(uid)
    state = hass.states.get("event.extension_102_call")
    assert state is not None
    strings = await translation.async_get_translations(hass, "en", "entity", {DOMAIN})
    prefix = f"component.{DOMAIN}.entity.event.call.state_attributes"
    for attribute in set(state.attributes) - {"event_types", "friendly_name", "event_type"}:
        assert f"{prefix}.{attribute}.name" in strings, attribute
    sensor = f"component.{DOMAIN}.entity.sensor.line_status.state_attributes.direction.state"
    for value in DIRECTION_OPTIONS.values():
        assert strings[f"{prefix}.direction.state.{value}"] == strings[f"{sensor}.{value}"]
    assert strings[f"{prefix}.direction.state.{state.attributes['direction']}"] == "Incoming"


def _strings(node: object, path: str = "") -> dict[str, str]:
    """Return every string below ``node`` by its dotted key (what the frontend looks up)."""
    if isinstance(node, str):
        return {path: node}
    assert isinstance(node, dict), f"{path}: neither a string nor an object"
    found: dict[str, str] = {}
    for key, value in node.items():
        found.update(_strings(value, f"{path}.{key}" if path else key))
    return found


def _placeholders(text: str) -> list[str]:
    """Return the names of the placeholders of ``text``, sorted."""
    return sorted(set(_PLACEHOLDER.findall(text)))


def test_every_language_is_shipped() -> None:
    """The translations folder holds English and exactly the languages named here."""
    shipped = {path.stem for path in (PACKAGE / "translations").glob("*.json")}
    assert shipped == {"en", *LANGUAGES}


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_has_every_key_of_strings_json(language: str) -> None:
    """A language translates each string of strings.json, and nothing else.

    A string added to strings.json fails here until every language has it.
    """
    source = _strings(_load("strings.json"))
    translated = _strings(_load(f"translations/{language}.json"))
    assert sorted(source.keys() - translated.keys()) == [], "missing"
    assert sorted(translated.keys() - source.keys()) == [], "not in strings.json"


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_keeps_the_placeholders(language: str) -> None:
    """Each translated string has exactly the placeholders of its English original."""
    source = _strings(_load("strings.json"))
    translated = _strings(_load(f"translations/{language}.json"))
    wrong = {
        key: _placeholders(text)
        for key, text in translated.items()
        if key in source and _placeholders(text) != _placeholders(source[key])
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_strings_are_filled_in(language: str) -> None:
    """No empty string, no unresolved reference, no stray brace or English left by accident.

    Home Assistant reads a custom integration's translations/*.json as they are: a
    [%key:...%] reference is not resolved there. The frontend formats the strings as ICU
    messages, where an apostrophe right before a brace quotes the placeholder away.
    """
    source = _strings(_load("strings.json"))
    for key, text in _strings(_load(f"translations/{language}.json")).items():
        assert text.strip(), key
        assert "[%key:" not in text, key
        assert text.count("{") == text.count("}"), key
        assert not re.search(r"['\u2019]\{", text), key
        # Whole sentences are translated (names, addresses and "Host" may stay as they are).
        if len(source.get(key, "").split()) > 4:
            assert text != source[key], f"{key} is the English text"


def test_strings_json_has_no_unresolved_references() -> None:
    """translations/en.json is a plain copy of strings.json, so strings.json has no references."""
    assert not [key for key, text in _strings(_load("strings.json")).items() if "[%key:" in text]


async def _loaded(hass: HomeAssistant, language: str, category: str) -> dict[str, str]:
    """Return this integration's strings of ``category`` as Home Assistant serves them."""
    strings = await translation.async_get_translations(hass, language, category, {DOMAIN})
    prefix = f"component.{DOMAIN}.{category}."
    return {
        key.removeprefix(prefix): text for key, text in strings.items() if key.startswith(prefix)
    }


@pytest.mark.parametrize("language", LANGUAGES)
async def test_home_assistant_loads_every_string(
    hass: HomeAssistant, language: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant serves each string of the language file, none replaced by English.

    Home Assistant drops a translated string whose placeholders differ from English, with an
    error in the log, and shows the English one instead.
    """
    for category, strings in _load(f"translations/{language}.json").items():
        assert await _loaded(hass, language, category) == _strings(strings), category
    errors = [r for r in caplog.records if r.name == translation.__name__ and r.levelno > DEBUG]
    assert not errors


def _form(result: ConfigFlowResult, strings: dict[str, str]) -> dict[str, object]:
    """Return the texts the frontend shows for a form, from the strings of its flow."""
    step = f"step.{result['step_id']}"
    placeholders = result.get("description_placeholders") or {}
    schema = result["data_schema"]
    assert schema is not None
    fields = [str(key) for key in schema.schema]
    return {
        "title": strings[f"{step}.title"].format(**placeholders),
        "description": strings.get(f"{step}.description", "").format(**placeholders),
        "labels": {field: strings[f"{step}.data.{field}"] for field in fields},
        "help": {field: strings[f"{step}.data_description.{field}"] for field in fields},
        "errors": {
            field: strings[f"error.{error}"] for field, error in (result["errors"] or {}).items()
        },
    }


async def test_config_flow_in_german(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """A German user sets up the PBX: the form, its help and its errors are in German."""
    hass.config.language = "de"
    german = await _loaded(hass, hass.config.language, "config")
    english = await _loaded(hass, "en", "config")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    form = _form(result, german)
    assert form["title"] == "Mit einer Switchvox-Telefonanlage verbinden"
    assert form["labels"] == {
        CONF_HOST: "Host",
        CONF_PORT: "Port",
        CONF_SSL: "HTTPS verwenden",
        CONF_VERIFY_SSL: "TLS-Zertifikat überprüfen",
        CONF_EXTENSION: "Nebenstelle",
        CONF_PASSWORD: "Passwort",
    }
    assert form["errors"] == {}
    # Every help text is German, none the English fallback.
    help_texts = form["help"]
    assert isinstance(help_texts, dict)
    english_help = {field: english[f"step.user.data_description.{field}"] for field in help_texts}
    assert not [field for field, text in help_texts.items() if text == english_help[field]]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], simulator_config(simulator, **{CONF_PASSWORD: "falsch"})
    )
    assert _form(result, german)["errors"] == {
        "base": "Die Telefonanlage hat die Nebenstelle oder das Passwort abgelehnt."
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], simulator_config(simulator, **{CONF_HOST: "ftp://pbx.example.lan"})
    )
    assert _form(result, german)["errors"] == {
        CONF_HOST: "Nur http://- und https://-Adressen werden unterstützt, "
        "etwa https://pbx.example.lan:8443/."
    }
    with patch("custom_components.switchvox.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], simulator_config(simulator)
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_reauth_flow_in_german(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """The reauth form names the extension and the PBX in a German sentence."""
    german = await _loaded(hass, "de", "config")
    simulator.set_password("101", "n3u-pa55")
    result = await init_integration.start_reauth_flow(hass)
    form = _form(result, german)
    assert form["title"] == "Passwort der Nebenstelle 101 erneut eingeben"
    assert form["description"] == (
        "Die Switchvox-Telefonanlage unter 127.0.0.1 hat das Passwort der Nebenstelle 101 "
        "abgelehnt."
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "n3u-pa55"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert german[f"abort.{result['reason']}"] == "Die erneute Authentifizierung war erfolgreich."
    await hass.async_block_till_done()


@pytest.mark.usefixtures("init_integration")
async def test_automation_editor_in_german(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """The editor's Add trigger and Add condition lists name ours in German.

    The editor lists what the description loader serves and names each entry with the strings
    the frontend fetches over the websocket for the user's language.
    """
    assert await async_setup_component(hass, "automation", {})
    assert await async_setup_component(hass, "frontend", {})
    triggers = await trigger_helper.async_get_all_descriptions(hass)
    conditions = await condition_helper.async_get_all_descriptions(hass)
    client = await hass_ws_client(hass)

    async def served(language: str, category: str) -> dict[str, str]:
        await client.send_json_auto_id(
            {
                "type": "frontend/get_translations",
                "language": language,
                "category": category,
                "integration": [DOMAIN],
            }
        )
        response = await client.receive_json()
        assert response["success"]
        prefix = f"component.{DOMAIN}.{category}."
        resources: dict[str, str] = response["result"]["resources"]
        return {key.removeprefix(prefix): text for key, text in resources.items()}

    for category, listed in (("triggers", triggers), ("conditions", conditions)):
        german, english = await served("de", category), await served("en", category)
        names = [key.split(".", 1)[1] for key in listed if key.startswith(f"{DOMAIN}.")]
        assert names
        for name in names:
            assert german[f"{name}.name"] != english[f"{name}.name"], name
            assert german[f"{name}.description"] != english[f"{name}.description"], name
    german_triggers = await served("de", "triggers")
    assert german_triggers["ringing.name"] == "Telefon beginnt zu klingeln"
    assert german_triggers["answered.fields.caller.name"] == "Anrufer enthält"
    german_conditions = await served("de", "conditions")
    assert german_conditions["is_busy.name"] == "Telefonleitung besetzt"
    assert (await served("de", "selector"))["direction.options.incoming"] == "Eingehend"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_conditions_use_home_assistants_words(hass: HomeAssistant, language: str) -> None:
    """The behavior and duration fields are named as core's own conditions name them."""
    ours = await _loaded(hass, language, "conditions")
    core = await translation.async_get_translations(hass, language, "conditions", {"lock"})
    for field in ("behavior", "for"):
        theirs = core[f"component.lock.conditions.is_locked.fields.{field}.name"]
        english = (await translation.async_get_translations(hass, "en", "conditions", {"lock"}))[
            f"component.lock.conditions.is_locked.fields.{field}.name"
        ]
        if theirs == english:  # core has no word for it in this language yet
            continue
        assert {ours[f"{key}.fields.{field}.name"] for key in _CONDITIONS} == {theirs}, field


@pytest.fixture
def german(hass: HomeAssistant) -> None:
    """Run Home Assistant in German (before the entry is set up, as a German install does)."""
    hass.config.language = "de"


@pytest.fixture
async def intents(hass: HomeAssistant) -> None:
    """Load Home Assistant's intent integration, which loads the intent platforms."""
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done()


@pytest.fixture
async def german_assist(hass: HomeAssistant, tmp_path: Path) -> None:
    """Install the repository's German Assist sentences as the README says, then Assist."""
    await _install_sentences(hass, tmp_path, "de")


async def _install_sentences(hass: HomeAssistant, tmp_path: Path, language: str) -> None:
    """Copy the repository's Assist sentences of ``language`` to the config, then set up Assist."""
    folder = tmp_path / "custom_sentences" / language
    folder.mkdir(parents=True)
    shutil.copy(SENTENCES / language / "switchvox.yaml", folder)
    hass.config.config_dir = str(tmp_path)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    await hass.async_block_till_done()


async def _say(hass: HomeAssistant, text: str, language: str = "de") -> str:
    """Say ``text`` to Home Assistant's own agent (in German); return its spoken answer."""
    result = await conversation.async_converse(hass, text, None, Context(), language=language)
    speech: str = result.response.speech["plain"]["speech"]
    return speech


@pytest.mark.usefixtures("german", "intents", "init_integration", "german_assist")
async def test_assist_dials_in_german(hass: HomeAssistant, simulator: SwitchvoxSimulator) -> None:
    """Saying "Ruf 1-0-2 an" goes through Home Assistant's agent; the answer is German."""
    assert await _say(hass, "Ruf 1-0-2 an") == "1-0-2 wird angerufen"
    assert await _say(hass, "Wähle 101") == "101 wird angerufen"
    dials = [params["extension"] for method, params in simulator.requests if method == "dial"]
    assert dials == ["102", "101"]


# What a user says in each language, the target Assist hears and the extension it dials.
SAYINGS: dict[str, list[tuple[str, str, str]]] = {
    "de": [
        ("Ruf 102 an", "102", "102"),
        ("Wähle 101", "101", "101"),
        ("102 anrufen", "102", "102"),
    ],
    "es": [("Llama a 102", "102", "102"), ("Marca el 101", "101", "101")],
    "fr": [("Appelle 102", "102", "102"), ("Compose le 101", "101", "101")],
    "it": [("Chiama 102", "102", "102"), ("Componi 1 0 1", "1 0 1", "101")],
    "nl": [("Bel 102", "102", "102"), ("Bel naar 101", "101", "101")],
    "pl": [("Zadzwoń do 102", "102", "102"), ("Zadzwoń pod numer 101", "101", "101")],
    "pt-BR": [("Ligue para 102", "102", "102"), ("Ligue para o 101", "101", "101")],
    "sv": [("Ring 102", "102", "102"), ("Ring upp 101", "101", "101")],
}


def test_every_language_has_sentences() -> None:
    """Each language of the integration has Assist sentences to copy, and a test of them."""
    assert {path.name for path in SENTENCES.iterdir()} == {"en", *LANGUAGES}
    assert set(SAYINGS) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.usefixtures("intents", "init_integration")
async def test_assist_sentences(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, tmp_path: Path, language: str
) -> None:
    """Each language's sentences reach the dial intent, which answers in that language."""
    await _install_sentences(hass, tmp_path, language)
    calling = _strings(_load(f"translations/{language}.json"))["exceptions.assist_calling.message"]
    for sentence, target, _ in SAYINGS[language]:
        assert await _say(hass, sentence, language) == calling.format(target=target), sentence
    dials = [params["extension"] for method, params in simulator.requests if method == "dial"]
    assert dials == [extension for _, _, extension in SAYINGS[language]]


@pytest.mark.usefixtures("german", "intents", "init_integration", "german_assist")
async def test_assist_refuses_in_german(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Typed in German, an unknown name and an outside number are refused with a German reason.

    The answer is an error response in the user's language, not Home Assistant's generic
    "Unerwarteter Fehler", and nothing is logged as an error.
    """
    refusals = {
        "Ruf Zed an": "Ich weiß nicht, wer Zed ist.",
        "Wähle +49 30 1234567": "Assist darf nur überwachte Nebenstellen anrufen, und "
        "+49301234567 ist keine davon. Erlaube in den Switchvox-Optionen jede Nummer, um sie "
        "anzurufen.",
    }
    for sentence, reason in refusals.items():
        result = await conversation.async_converse(hass, sentence, None, Context(), language="de")
        response = result.response
        assert response.response_type is intent.IntentResponseType.ERROR, sentence
        assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
        assert response.speech["plain"]["speech"] == reason
    assert not [record.getMessage() for record in caplog.records if record.levelno >= ERROR]
    assert not [method for method, _ in simulator.requests if method == "dial"]


@pytest.mark.usefixtures("german", "init_integration")
async def test_missed_call_items_in_german(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """The missed calls list of a German install says "zurückrufen" and who called whom."""
    # A German install names its entities in German, and so their ids.
    line = "sensor.nebenstelle_102_leitung"
    for caller in ({"caller_name": "Maria Gonzalez", "caller_number": "2125550142"}, {}):
        uid = await simulator.ring("102", **caller)
        await wait_for(hass, lambda: state_of(hass, line) == "ringing")
        await simulator.hang_up(uid)
        await wait_for(hass, lambda: state_of(hass, line) == "idle")
    entity_id = "todo.switchvox_127_0_0_1_verpasste_anrufe"
    result = await hass.services.async_call(
        "todo", "get_items", {"entity_id": entity_id}, blocking=True, return_response=True
    )
    items: Any = (result or {})[entity_id]
    summaries = [item["summary"] for item in items["items"]]
    assert summaries == [
        "Verpasster Anruf eines unbekannten Anrufers",
        "Maria Gonzalez zurückrufen",
    ]
    descriptions = [item["description"] for item in items["items"]]
    assert descriptions[0].startswith("Ein Anrufer ohne Nummer hat 102 um ")
    assert descriptions[1].startswith("2125550142 hat 102 um ")
    assert descriptions[1].endswith(" angerufen")
