"""triggers.yaml and conditions.yaml by hassfest's rules, stricter for a custom integration.

The rules are core's script/hassfest/triggers.py and conditions.py. Hassfest checks core
integrations only; these tests hold ours to the same rules: the files'
schema (target, fields, selectors, context references), a name and description for each
trigger, condition and field, a translated option list for each select, and an icon each.
"""

import json
from pathlib import Path
from typing import Any

from homeassistant.const import CONF_SELECTOR
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.util.yaml import load_yaml_dict
import pytest
import voluptuous as vol

from custom_components.switchvox.condition import CONDITIONS
from custom_components.switchvox.trigger import TRIGGERS

PACKAGE = Path(__file__).resolve().parent.parent / "custom_components" / "switchvox"
STRINGS = json.loads((PACKAGE / "strings.json").read_text(encoding="utf-8"))
ICONS = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))


def exists(value: Any) -> Any:
    """Refuse None (hassfest's ``exists``)."""
    if value is None:
        raise vol.Invalid("Value cannot be None")
    return value


def validate_context(schema: dict[str, Any]) -> dict[str, Any]:
    """Check each field's context references a field or the target its selector allows."""
    fields: dict[str, Any] = schema.get("fields", {})
    for name, field in fields.items():
        if "context" not in field:
            continue
        if CONF_SELECTOR not in field:
            raise vol.Invalid(f"Context defined without a selector in '{name}'")
        allowed = selector.selector(field[CONF_SELECTOR]).allowed_context_keys
        for key, ref in field["context"].items():
            if key not in allowed:
                raise vol.Invalid(f"Invalid context key '{key}' in '{name}'")
            if ref in fields and CONF_SELECTOR in fields[ref]:
                kind = selector.selector(fields[ref][CONF_SELECTOR]).selector_type
                if kind not in allowed.get(key, []):
                    raise vol.Invalid(f"'{key}' of '{name}' does not allow {kind}")
            elif ref == "target" and "target" in schema:
                if "target" not in allowed.get(key, []):
                    raise vol.Invalid(f"'{key}' of '{name}' does not allow the target")
            elif ref not in fields:
                raise vol.Invalid(f"Context reference '{ref}' of '{name}' does not exist")
    return schema


FIELD_SCHEMA = vol.Schema(
    {
        vol.Optional("example"): exists,
        vol.Optional("default"): exists,
        vol.Optional("required"): bool,
        vol.Optional(CONF_SELECTOR): selector.validate_selector,
        vol.Optional("context"): {str: str},
    }
)
DESCRIPTION_SCHEMA = vol.Any(
    vol.All(
        vol.Schema(
            {
                vol.Optional("target"): selector.TargetSelector.CONFIG_SCHEMA,
                vol.Optional("fields"): vol.Schema({str: FIELD_SCHEMA}),
            }
        ),
        validate_context,
    ),
    None,
)


def starts_with_dot(key: str) -> str:
    """Match the keys of YAML anchors only (hassfest drops them)."""
    if not key.startswith("."):
        raise vol.Invalid("Key does not start with .")
    return key


DESCRIPTIONS_SCHEMA = vol.Schema(
    {
        vol.Remove(vol.All(str, starts_with_dot)): object,
        cv.underscore_slug: DESCRIPTION_SCHEMA,
    }
)


def descriptions(kind: str) -> dict[str, Any]:
    """Return triggers.yaml or conditions.yaml validated as hassfest does."""
    data = load_yaml_dict(str(PACKAGE / f"{kind}.yaml"))
    validated: dict[str, Any] = DESCRIPTIONS_SCHEMA(data)
    return validated


@pytest.mark.parametrize(
    ("kind", "implemented"), [("triggers", TRIGGERS), ("conditions", CONDITIONS)]
)
def test_descriptions_follow_hassfest(kind: str, implemented: dict[str, Any]) -> None:
    """Every described key is implemented and the other way round; each is named and iconed."""
    described = descriptions(kind)
    assert set(described) == set(implemented)
    singular = kind.removesuffix("s")
    for key, schema in described.items():
        assert schema is not None, key
        texts = STRINGS[kind][key]
        assert texts["name"], key
        assert texts["description"], key
        assert ICONS[kind][key][singular].startswith("mdi:"), key
        # Targets pick this integration's line sensors (areas, devices and labels expand).
        assert schema["target"]["entity"] == [{"integration": "switchvox", "domain": ["sensor"]}]
        for field, spec in schema.get("fields", {}).items():
            assert texts["fields"][field]["name"], (key, field)
            assert texts["fields"][field]["description"], (key, field)
            select = spec.get(CONF_SELECTOR, {}).get("select")
            if select and "translation_key" in select:
                options = STRINGS["selector"][select["translation_key"]]["options"]
                assert set(options) == set(select["options"]), (key, field)
    assert set(STRINGS[kind]) == set(described)
    assert set(ICONS[kind]) == set(described)


def test_broken_descriptions_are_refused() -> None:
    """The mirrored rules do refuse what hassfest refuses (they are not a rubber stamp)."""
    bad = [
        {"ringing": {"fields": {"caller": {"default": None}}}},
        {"ringing": {"fields": {"caller": {"selector": {"no_such_selector": {}}}}}},
        {"ringing": {"target": {"entity": {"no_such_key": 1}}}},
        {"Ringing": None},
        {"ringing": {"fields": {"caller": {"context": {"filter_target": "target"}}}}},
        {
            "ringing": {
                "fields": {
                    "caller": {
                        "selector": {"state": {}},
                        "context": {"filter_target": "nowhere"},
                    }
                }
            }
        },
    ]
    for data in bad:
        with pytest.raises(vol.Invalid):
            DESCRIPTIONS_SCHEMA(data)
