"""The packages scripts/e2e installs before Home Assistant's first start (from its manifests)."""

from devtools.ha_requirements import configured_domains, requirements
from devtools.instance import CONFIGURATION_YAML


def test_configured_domains_are_the_integrations_of_the_configuration() -> None:
    """The top-level keys that are integrations; core settings and includes are not."""
    domains = configured_domains(CONFIGURATION_YAML)
    assert {"assist_pipeline", "recorder", "frontend", "input_text"} <= set(domains)
    assert "homeassistant" not in domains
    assert configured_domains("homeassistant:\n  name: x\nnot_an_integration:\n") == []


def test_requirements_follow_dependencies() -> None:
    """The voice pipeline's own packages, and those of what it depends on (tts: mutagen)."""
    found = requirements(["assist_pipeline"])
    names = {line.split("==")[0].lower() for line in found}
    assert {"pymicro-vad", "pyspeex-noise", "mutagen", "hassil"} <= names
    assert all("==" in line for line in found)  # as Home Assistant pins them
    assert requirements(["no_such_integration"]) == []
