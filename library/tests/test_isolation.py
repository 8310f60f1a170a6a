"""The library's tests stand alone: they test ``aioswitchvox``, never the integration's copy."""

from pathlib import Path
import re

TESTS = Path(__file__).parent
# The integration's package named anywhere (an import, a patch target, a logger), or an import
# of Home Assistant or of the integration's test fixtures.
FORBIDDEN = re.compile(
    r"custom_components|^\s*(from|import)\s+(homeassistant|pytest_homeassistant\w*|tests\.conftest)\b",
    re.M,
)


def test_no_test_names_the_integration_or_home_assistant() -> None:
    """Every test module reaches the library as users do: ``aioswitchvox``."""
    offenders = [
        f"{path.relative_to(TESTS)}: {match.group(0).strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__)
        for match in FORBIDDEN.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
