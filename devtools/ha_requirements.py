"""Print the packages the development instance's integrations need, as Home Assistant pins them.

Home Assistant installs them at its first start in a new environment, and some (the voice
pipeline's) build from source: minutes in which the end-to-end test waits for entities that are
not there yet. ``scripts/e2e`` installs them before Home Assistant starts instead. They are read
from the manifests of the installed Home Assistant, so they follow whatever release it is.

    python -m devtools.ha_requirements    one requirement a line
"""

import json
from pathlib import Path
import re

import homeassistant
from homeassistant.auth.mfa_modules import totp

from .instance import CONFIGURATION_YAML

# Platforms the e2e instance sets up besides its configuration's integrations: the integration's
# own, and the stand-in speaker's (tests/e2e/e2e_home).
EXTRA_DOMAINS = ("binary_sensor", "event", "sensor", "todo", "media_player", "tts")
_COMPONENTS = Path(homeassistant.__file__).parent / "components"


def configured_domains(configuration: str = CONFIGURATION_YAML) -> list[str]:
    """Return the integrations a configuration.yaml sets up (its top-level keys)."""
    keys = re.findall(r"^([a-z_][a-z0-9_]*):", configuration, re.MULTILINE)
    return [key for key in keys if key != "homeassistant" and (_COMPONENTS / key).is_dir()]


def requirements(domains: list[str]) -> list[str]:
    """Return the requirements of ``domains`` and of everything they depend on."""
    found: dict[str, None] = {}
    seen: set[str] = set()
    todo = list(domains)
    while todo:
        domain = todo.pop()
        if domain in seen or not (manifest_path := _COMPONENTS / domain / "manifest.json").exists():
            continue
        seen.add(domain)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        found.update(dict.fromkeys(manifest.get("requirements", [])))
        todo.extend(manifest.get("dependencies", []))
        todo.extend(manifest.get("after_dependencies", []))
    return sorted(found)


def main() -> None:
    """Print the requirements of the development instance, one a line."""
    lines = requirements([*configured_domains(), *EXTRA_DOMAINS])
    # And those of the auth module Home Assistant loads at its start.
    print("\n".join([*lines, *totp.REQUIREMENTS]))  # noqa: T201


if __name__ == "__main__":
    main()
