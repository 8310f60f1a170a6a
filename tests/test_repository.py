"""The repository around the code: licence, changelog, versions, workflows, forms, quality scale.

Each check reads files as text, so that a claim made in one place (hacs.json, the README, the
quality scale) cannot drift from what another place (the test harness pins, the code) does.
"""

from collections.abc import Iterator
import importlib
import importlib.metadata
import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
from typing import Any

from homeassistant.util.yaml import load_yaml_dict
import pytest

from custom_components.switchvox.rtapi.redact import TO_REDACT

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "custom_components" / "switchvox"
README = (ROOT / "README.md").read_text(encoding="utf-8")
MANIFEST: dict[str, Any] = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
HARNESS = "pytest-homeassistant-custom-component"

# The Home Assistant release each pytest-homeassistant-custom-component version pins (its
# "homeassistant==" requirement). Used only when neither .venv-min nor the running environment
# has that harness installed to read it from; add a line when requirements_test*.txt move.
KNOWN_HARNESSES = {"0.13.354": "2026.8.0", "0.13.375": "2026.10.4"}

# Every rule of the Integration Quality Scale, as Home Assistant core's script/hassfest lists them.
QUALITY_SCALE_RULES = frozenset(
    {
        # Bronze
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
        # Silver
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
        # Gold
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
        # Platinum
        "async-dependency",
        "inject-websession",
        "strict-typing",
    }
)


def package_sources() -> dict[str, str]:
    """Return the text of every Python module of the integration, by path inside the package."""
    return {
        path.relative_to(PACKAGE).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def package_text() -> str:
    """Return all the integration's Python code as one text."""
    return "\n".join(package_sources().values())


def readme_section(title: str) -> str:
    """Return the text of the README's ``## title`` section (up to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"the README has no section '## {title}'"
    return match.group(1)


def major_minor(version: str) -> str:
    """Return "2026.8" of "2026.8.0"."""
    return ".".join(version.split(".")[:2])


def pinned_harness(requirements: str) -> str:
    """Return the pytest-homeassistant-custom-component version a requirements file pins."""
    text = (ROOT / requirements).read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(HARNESS)}==(\S+)", text, re.M)
    assert match, f"{requirements} pins no {HARNESS}"
    return match.group(1)


def ha_of_metadata(metadata: str) -> str | None:
    """Return the Home Assistant version a harness's METADATA text requires."""
    match = re.search(r"^Requires-Dist: homeassistant ?==([^\s;]+)", metadata, re.M)
    return match.group(1) if match else None


def installed_harnesses() -> Iterator[tuple[str, str]]:
    """Yield (harness version, Home Assistant version) of the harnesses installed here."""
    try:
        version = importlib.metadata.version(HARNESS)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - the suite needs it
        pass
    else:
        for requirement in importlib.metadata.requires(HARNESS) or ():
            if match := re.fullmatch(r"homeassistant ?==(\S+)", requirement):
                yield version, match.group(1)
    for venv in (".venv", ".venv-min"):
        pattern = "lib/python3*/site-packages/pytest_homeassistant_custom_component-*.dist-info"
        for info in (ROOT / venv).glob(pattern):
            version = info.name.removeprefix("pytest_homeassistant_custom_component-")
            metadata = info / "METADATA"
            if metadata.is_file() and (ha := ha_of_metadata(metadata.read_text("utf-8"))):
                yield version.removesuffix(".dist-info"), ha


def harness_home_assistant(harness: str) -> str:
    """Return the Home Assistant version that harness version runs."""
    for version, ha in installed_harnesses():
        if version == harness:
            return ha
    assert harness in KNOWN_HARNESSES, (
        f"{HARNESS}=={harness} is neither installed nor in KNOWN_HARNESSES: add it there"
    )
    return KNOWN_HARNESSES[harness]


# --- Licence, changelog, versions ---------------------------------------------------------


def test_license_is_apache_2() -> None:
    """LICENSE is the full Apache License 2.0, and the README says so."""
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "Grant of Patent License" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert "Apache-2.0" in README or "Apache License 2.0" in README


def test_manifest_version_is_semver() -> None:
    """The manifest's version is MAJOR.MINOR.PATCH, what the release tag vX.Y.Z repeats."""
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"]), MANIFEST["version"]


def test_changelog_has_unreleased_and_the_manifest_version() -> None:
    """CHANGELOG.md follows Keep a Changelog, with Unreleased first and the current version."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", text, re.M)
    assert headings, "no '## [version]' heading"
    assert headings[0][0] == "Unreleased"
    versions = dict(headings[1:])
    assert MANIFEST["version"] in versions, f"no '## [{MANIFEST['version']}]' entry"
    for name, rest in versions.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", name), name
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest), f"[{name}] has no ' - YYYY-MM-DD'"
    for name, _ in headings:
        assert re.search(rf"^\[{re.escape(name)}\]: https://", text, re.M), f"no link [{name}]"


def test_minimum_home_assistant_agrees_everywhere() -> None:
    """hacs.json, the README and the oldest test harness name the same minimum release."""
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))["homeassistant"]
    oldest = harness_home_assistant(pinned_harness("requirements_test_min.txt"))
    assert hacs == oldest, f"hacs.json says {hacs}, requirements_test_min.txt runs {oldest}"
    install = readme_section("Install")
    stated = re.search(r"Requires Home Assistant \**(\d{4}\.\d+)(?:\.\d+)?\** or newer", install)
    assert stated, "the README's Install does not say 'Requires Home Assistant X or newer'"
    assert stated.group(1) == major_minor(hacs)
    # The supported versions table names the exact minimum and the newest harness.
    newest = harness_home_assistant(pinned_harness("requirements_test.txt"))
    assert re.search(rf"^\| *{re.escape(hacs)} *\|", install, re.M), "no table row for the minimum"
    assert re.search(rf"^\| *{re.escape(newest)} *\|", install, re.M), "no row for the newest"


def test_known_harnesses_match_what_is_installed() -> None:
    """KNOWN_HARNESSES agrees with every harness installed here (so the fallback stays true)."""
    for version, ha in installed_harnesses():
        if version in KNOWN_HARNESSES:
            assert KNOWN_HARNESSES[version] == ha, version


# What the Marketplace (Home Assistant 2026.11) reads from hacs.json, and the type it wants:
# REPOSITORY_MANIFEST_VALUES in homeassistant/components/marketplace/utils/validate.py. It skips
# any other key and ignores (with a warning) a value of another type.
MARKETPLACE_HACS_KEYS: dict[str, type] = {
    "content_in_root": bool,
    "filename": str,
    "hacs": str,
    "hide_default_branch": bool,
    "homeassistant": str,
    "name": str,
    "persistent_directory": str,
    "zip_release": bool,
}
# HACS (2026.8 to 2026.10) and its action validate hacs.json with extra keys refused and "name"
# required: HACS_MANIFEST_JSON_SCHEMA in hacs/integration custom_components/hacs/utils/validate.py.
HACS_KEYS = frozenset({*MARKETPLACE_HACS_KEYS, "country", "render_readme"})


def marketplace_validate_source() -> str | None:
    """Return the Marketplace's utils/validate.py of .venv-next or of this environment, if any."""
    pattern = "lib/python3*/site-packages/homeassistant/components/marketplace/utils/validate.py"
    for path in (ROOT / ".venv-next").glob(pattern):
        return path.read_text(encoding="utf-8")
    try:
        module = importlib.import_module("homeassistant.components.marketplace.utils.validate")
    except ImportError:
        return None
    return Path(str(module.__file__)).read_text(encoding="utf-8")  # pragma: no cover


def test_hacs_json_is_read_whole_by_the_marketplace_and_by_hacs() -> None:
    """Every key of hacs.json is one both read, with the type they want; HACS's "name" is set."""
    hacs: dict[str, Any] = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    ignored = set(hacs) - set(MARKETPLACE_HACS_KEYS)
    assert not ignored, f"the Marketplace ignores {sorted(ignored)} in hacs.json"
    assert set(hacs) <= HACS_KEYS
    for key, value in hacs.items():
        assert isinstance(value, MARKETPLACE_HACS_KEYS[key]), f"{key}: {value!r}"
    assert hacs["name"] == MANIFEST["name"]  # HACS requires it
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", hacs["homeassistant"])
    # Content in custom_components/<domain>/, from the files of the release (no ZIP asset).
    assert not hacs.get("content_in_root")
    assert not hacs.get("zip_release")


def test_marketplace_hacs_keys_are_what_the_marketplace_reads() -> None:
    """MARKETPLACE_HACS_KEYS is the list of the installed Marketplace (.venv-next has one)."""
    source = marketplace_validate_source()
    if source is None:
        pytest.skip("no Home Assistant with the Marketplace here: run ./scripts/setup --next")
    block = re.search(r"^REPOSITORY_MANIFEST_VALUES = \{\n(.*?)^\}", source, re.M | re.S)
    assert block, "REPOSITORY_MANIFEST_VALUES not found"
    read = dict(re.findall(r'^\s+"(\w+)": probatio\.Schema\((\w+)\)', block.group(1), re.M))
    assert set(read) == set(MARKETPLACE_HACS_KEYS)
    for key, kind in MARKETPLACE_HACS_KEYS.items():
        # A version is a string the validator also parses (valid_version).
        assert read[key] == kind.__name__ or (key == "homeassistant" and kind is str), key


def test_newest_release_environment() -> None:
    """requirements_next.txt pins the release the README names; .ci/run runs the e2e there."""
    pinned = re.search(
        r"^homeassistant==(\S+)$", (ROOT / "requirements_next.txt").read_text("utf-8"), re.M
    )
    assert pinned, "requirements_next.txt pins no homeassistant"
    assert HARNESS not in (ROOT / "requirements_next.txt").read_text("utf-8")
    install = readme_section("Install")
    assert re.search(rf"^\| *{re.escape(pinned.group(1))} *\|.*e2e --next", install, re.M), (
        "no row of the versions table for the release .venv-next runs"
    )
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/e2e --next" in ci
    steps = re.findall(r"^step (.+)$", ci, re.M)
    assert steps[-1] == "./scripts/test", "./scripts/test closes the log"
    for ignored in (".gitignore", "pyproject.toml"):
        assert ".venv-next" in (ROOT / ignored).read_text(encoding="utf-8"), ignored


# --- GitHub: workflows and issue forms ------------------------------------------------------


def test_workflows_pass_actionlint() -> None:
    """scripts/lint-workflows finds nothing in .github/workflows."""
    candidates = (
        os.environ.get("ACTIONLINT"),
        str(Path(sys.executable).parent / "actionlint"),  # this test environment's
        str(ROOT / ".venv" / "bin" / "actionlint"),
        shutil.which("actionlint"),
    )
    actionlint = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    if actionlint is None:
        pytest.skip("actionlint is not installed (scripts/setup installs it)")
    result = subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / "scripts" / "lint-workflows")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "ACTIONLINT": actionlint},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_run_the_readme_commands() -> None:
    """CI runs the test command on both environments, the e2e test, hassfest and HACS."""
    workflows = "\n".join(
        path.read_text(encoding="utf-8") for path in (ROOT / ".github" / "workflows").glob("*.yml")
    )
    assert "./scripts/test" in workflows
    assert "--min" in workflows
    assert "./scripts/e2e" in workflows
    assert '"--next"' in workflows  # the e2e test on the newest release too
    assert "home-assistant/actions/hassfest@" in workflows
    assert "hacs/action@" in workflows
    assert "category: integration" in workflows


def test_bug_form_asks_for_versions_and_diagnostics() -> None:
    """The bug report form requires the HA version, the PBX version and the diagnostics."""
    form = load_yaml_dict(ROOT / ".github" / "ISSUE_TEMPLATE" / "bug_report.yml")
    fields = {item["id"]: item for item in form["body"] if "id" in item}

    def asks(field: dict[str, Any], *words: str) -> bool:
        text = json.dumps(field["attributes"]).lower()
        return all(word in text for word in words)

    required = {key for key, item in fields.items() if item.get("validations", {}).get("required")}
    assert any(asks(fields[key], "home assistant", "version") for key in required)
    assert any(asks(fields[key], "pbx", "version") for key in required)
    diagnostics = [key for key in required if asks(fields[key], "diagnostics")]
    assert diagnostics, "the form does not require the diagnostics file"
    assert asks(fields[diagnostics[0]], "masked", "password")
    assert any(asks(item, "custom_components.switchvox", "debug") for item in fields.values())
    config = load_yaml_dict(ROOT / ".github" / "ISSUE_TEMPLATE" / "config.yml")
    assert config["blank_issues_enabled"] is False


# --- Quality scale ------------------------------------------------------------------------


def quality_scale() -> dict[str, tuple[str, str | None]]:
    """Return each rule's status and comment from quality_scale.yaml."""
    data = load_yaml_dict(PACKAGE / "quality_scale.yaml")
    rules: dict[str, tuple[str, str | None]] = {}
    for name, value in data["rules"].items():
        if isinstance(value, dict):
            rules[name] = (value["status"], value.get("comment"))
        else:
            rules[name] = (value, None)
    return rules


def done(rule: str) -> bool:
    """Return whether quality_scale.yaml claims ``rule`` as done."""
    return quality_scale()[rule][0] == "done"


def test_quality_scale_lists_every_rule_with_a_reason_when_not_done() -> None:
    """Every rule is there once, done/exempt/todo; exempt and todo ones say why."""
    rules = quality_scale()
    assert set(rules) == QUALITY_SCALE_RULES, (
        set(rules) ^ QUALITY_SCALE_RULES,
        "missing or unknown rules",
    )
    for name, (status, comment) in rules.items():
        assert status in {"done", "exempt", "todo"}, (name, status)
        if status != "done":
            assert comment, f"{name} is {status} without a comment saying why"


def test_quality_scale_has_entity_name() -> None:
    """has-entity-name: entities set _attr_has_entity_name = True."""
    if done("has-entity-name"):
        assert "_attr_has_entity_name = True" in package_text()


def test_quality_scale_diagnostics() -> None:
    """Diagnostics: diagnostics.py exists, redacts the password, carries recent PBX messages."""
    if not done("diagnostics"):
        return
    path = PACKAGE / "diagnostics.py"
    assert path.is_file()
    text = path.read_text(encoding="utf-8")
    assert "async_get_config_entry_diagnostics" in text
    # The entry's data through the library's set of secrets; the session's snapshot comes
    # without the password already (session.diagnostics()).
    assert "async_redact_data(entry.data, TO_REDACT)" in text
    assert "password" in TO_REDACT
    assert "session.diagnostics()" in text
    # What the README and the bug form promise: the recent notifications and errors of the PBX.
    assert re.search(r"recent", text, re.I), "diagnostics carry no recent PBX messages"


def test_quality_scale_log_when_unavailable() -> None:
    """log-when-unavailable: the loss of the PBX is logged at info, and so is its return."""
    if not done("log-when-unavailable"):
        return
    calls = re.findall(
        r"\b(?:LOGGER|_LOGGER|logger)\.(debug|info|warning|error|exception|critical)\(\s*"
        r"((?:f?\"[^\"]*\"\s*)+)",
        package_text(),
    )
    lost = [level for level, message in calls if re.search(r"\blost\b", message, re.I)]
    back = [level for level, message in calls if re.search(r"restored|back\b", message, re.I)]
    assert "info" in lost, f"the connection loss is logged at {lost}, not info"
    assert set(lost) <= {"info", "debug"}, f"the connection loss is also logged at {lost}"
    assert "info" in back, f"the return is logged at {back}, not info"


def test_quality_scale_config_flow_rules() -> None:
    """config-flow and the flows the scale claims exist, and the tests walk every step."""
    flow = (PACKAGE / "config_flow.py").read_text(encoding="utf-8")
    steps = set(re.findall(r"async def async_step_(\w+)\(", flow))
    if done("config-flow"):
        assert MANIFEST.get("config_flow") is True
        assert "user" in steps
        strings = json.loads((PACKAGE / "strings.json").read_text(encoding="utf-8"))
        for step in strings["config"]["step"].values():
            if step.get("data"):
                assert set(step["data"]) == set(step.get("data_description", {})), step
    if done("reauthentication-flow"):
        assert {"reauth", "reauth_confirm"} <= steps
        assert "ConfigEntryAuthFailed" in package_text()
    if done("reconfiguration-flow"):
        assert "reconfigure" in steps
    if done("unique-config-entry"):
        assert "_async_abort_entries_match" in flow or "_abort_if_unique_id_configured" in flow
    if done("config-flow-test-coverage"):
        tests = "\n".join(
            p.read_text(encoding="utf-8") for p in ROOT.glob("tests/**/test_*flow*.py")
        )
        assert tests, "no config flow test module"
        # Every step a form is shown for is checked by id ("reauth" only redirects).
        for step in steps - {"reauth"}:
            assert f'"{step}"' in tests, f"no test looks at step '{step}'"


def test_quality_scale_setup_and_runtime_rules() -> None:
    """action-setup, runtime-data, test-before-setup, config-entry-unloading, parallel-updates."""
    sources = package_sources()
    text = package_text()
    init = sources["__init__.py"]
    if done("action-setup"):
        assert "async def async_setup(" in init
        assert "services.async_register" in text
    if done("runtime-data"):
        assert "runtime_data" in init
        assert re.search(r"ConfigEntry\[\w+\]", text)
    if done("test-before-setup"):
        assert re.search(r"raise ConfigEntry(NotReady|AuthFailed|Error)\(", text)
    if done("config-entry-unloading"):
        assert "async def async_unload_entry(" in init
    if done("parallel-updates"):
        platforms = re.findall(r"Platform\.(\w+)", init)
        assert platforms
        for platform in platforms:
            module = sources[f"{platform.lower()}.py"]
            assert re.search(r"^PARALLEL_UPDATES = \d+", module, re.M), platform


def test_quality_scale_entity_rules() -> None:
    """Entity rules the code can show: unique ids, events, translations, icons, categories."""
    text = package_text()
    strings = json.loads((PACKAGE / "strings.json").read_text(encoding="utf-8"))
    if done("entity-unique-id"):
        assert "_attr_unique_id" in text
    if done("entity-event-setup"):
        # Subscribed when added; unsubscribed through async_on_remove or when being removed.
        assert "async_added_to_hass" in text
        assert "async_on_remove" in text or "async_will_remove_from_hass" in text
    if done("entity-translations"):
        assert "translation_key=" in text
        assert strings.get("entity")
    if done("icon-translations"):
        assert json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8")).get("entity")
    if done("entity-category"):
        assert "EntityCategory." in text
    if done("entity-device-class"):
        assert "device_class=" in text
    if done("devices"):
        assert "DeviceInfo(" in text
    if done("stale-devices"):
        assert "async_remove_config_entry_device" in text
    if done("repair-issues"):
        assert "async_create_issue" in text
        assert strings.get("issues")


def test_quality_scale_exception_translations() -> None:
    """exception-translations: every Home Assistant error raised has a known translation key."""
    if not done("exception-translations"):
        return
    strings = json.loads((PACKAGE / "strings.json").read_text(encoding="utf-8"))
    known = set(strings.get("exceptions", {}))
    raised = (
        "HomeAssistantError",
        "ServiceValidationError",
        "UpdateFailed",
        "ConfigEntryNotReady",
        "ConfigEntryAuthFailed",
        "ConfigEntryError",
    )
    found = 0
    for name, source in package_sources().items():
        for match in re.finditer(rf"raise (?:{'|'.join(raised)})\(", source):
            call = source[match.end() : _closing_paren(source, match.end())]
            key = re.search(r"translation_key=[\"'](\w+)[\"']", call)
            key = key or re.search(r"translation_key=", call)
            assert key, f"{name}: {match.group(0)} without a translation_key"
            if key.groups():
                assert key.group(1) in known, f"{name}: no exceptions.{key.group(1)} in strings"
            found += 1
    assert found


def _closing_paren(source: str, start: int) -> int:
    """Return the index of the parenthesis closing the one opened just before ``start``."""
    depth = 1
    for index in range(start, len(source)):
        if source[index] == "(":
            depth += 1
        elif source[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise AssertionError("unbalanced parentheses")


def test_quality_scale_platform_and_typing_rules() -> None:
    """brands, integration-owner, test-coverage, strict-typing, async-dependency."""
    if done("brands"):
        assert (PACKAGE / "brand" / "icon.png").is_file()
        assert (PACKAGE / "brand" / "logo.png").is_file()
        hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))["homeassistant"]
        year, month = (int(part) for part in hacs.split(".")[:2])
        assert (year, month) >= (2026, 3), "brand/ images need Home Assistant 2026.3 or newer"
    if done("integration-owner"):
        assert MANIFEST["codeowners"]
    if done("test-coverage"):
        test_script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
        pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
        threshold = re.search(r"cov-fail-under[= ](\d+)", test_script) or re.search(
            r"fail_under\s*=\s*(\d+)", pyproject
        )
        assert threshold, "no coverage threshold"
        assert int(threshold.group(1)) >= 95
    if done("strict-typing"):
        assert (PACKAGE / "rtapi" / "py.typed").is_file()
        pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
        assert re.search(r"^\[tool\.mypy\][^\[]*^strict = true", pyproject, re.M | re.S)
        assert "mypy" in (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    if done("async-dependency"):
        assert "import aiohttp" in package_text()


def test_quality_scale_docs_rules() -> None:
    """The docs-* rules claimed done have their README section."""
    sections = {
        "docs-installation-instructions": "Install",
        "docs-configuration-parameters": "Configuration",
        "docs-removal-instructions": "Removal",
        "docs-data-update": "How data updates",
        "docs-known-limitations": "Known limitations",
        "docs-troubleshooting": "Troubleshooting",
        "docs-supported-devices": "What the PBX must send",
        "docs-supported-functions": "Entities",
        "docs-examples": "Automations",
    }
    for rule, title in sections.items():
        if done(rule):
            assert readme_section(title).strip(), rule
    if done("docs-actions"):
        assert "switchvox.dial" in README
    if done("docs-troubleshooting"):
        assert "diagnostics" in readme_section("Troubleshooting").lower()
        assert "diagnostics" in readme_section("Reporting a problem").lower()


def test_readme_performance_matches_results() -> None:
    """Every figure of the committed benchmark results appears in the README's Performance table.

    Both come from one run of ./scripts/bench: a README edited by hand, or results re-run
    without the README, fails here.
    """
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    assert results["mode"] == "full"
    section = readme_section("Performance")
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    numbers = set(re.findall(r"\d[\d,]*(?:\.\d+)?", table))
    missing = {
        row["figure"]: sorted(set(re.findall(r"\d[\d,]*(?:\.\d+)?", row["value"])) - numbers)
        for row in results["table"]
    }
    assert {figure: gone for figure, gone in missing.items() if gone} == {}


def test_every_blueprint_is_linked_and_points_at_itself() -> None:
    """Each blueprint's source_url is its own GitHub path; the README links and imports it."""
    folder = ROOT / "blueprints" / "automation" / "switchvox"
    blueprints = sorted(folder.glob("*.yaml"))
    assert len(blueprints) == 4
    section = readme_section("Automations")
    for path in blueprints:
        relative = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        url = f"https://github.com/switchvox-ha/switchvox-homeassistant/blob/main/{relative}"
        assert f"source_url: {url}\n" in text, relative
        assert f"]({relative})" in section, relative
        assert url.replace(":", "%3A").replace("/", "%2F") in section, relative


def test_no_socketio_library_and_no_reaching_in() -> None:
    """The integration speaks socket.io itself: no requirement, no library, no private access."""
    manifest = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["requirements"] == []
    assert manifest["loggers"] == ["custom_components.switchvox.rtapi"]
    for path, text in package_sources().items():
        assert not re.search(r"^\s*(?:import|from)\s+\w*(?:socketio|engineio)", text, re.M), path
        assert "noqa: SLF001" not in text, path


def test_readme_performance_matches_the_comparison() -> None:
    """Every figure of the committed side-by-side comparison appears in the Performance section.

    ``./scripts/bench --against REV`` writes them; the README's table of that run must be its.
    """
    results = json.loads((ROOT / "benchmarks" / "compare.json").read_text(encoding="utf-8"))
    assert results["mode"] == "full"
    assert results["interleaved"]
    section = readme_section("Performance")
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    numbers = set(re.findall(r"\d[\d,]*(?:\.\d+)?", table))
    missing = {
        row["figure"]: sorted(
            {
                number
                for value in list(row.values())[1:]
                for number in re.findall(r"\d[\d,]*(?:\.\d+)?", value)
            }
            - numbers
        )
        for row in results["table"]
    }
    assert {figure: gone for figure, gone in missing.items() if gone} == {}


# Split, so that this file does not hold the line it looks for.
FUTURE_ANNOTATIONS = "from __future__ " + "import annotations"


def test_no_postponed_annotations_import() -> None:
    """Python 3.14 defers annotations itself: no module asks for it with a __future__ import."""
    folders = (
        "custom_components",
        "library",
        "switchvox_simulator",
        "tests",
        "devtools",
        "benchmarks",
    )
    offenders = [
        str(path.relative_to(ROOT))
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if "node_modules" not in path.parts
        and FUTURE_ANNOTATIONS in path.read_text(encoding="utf-8")
    ]
    assert not offenders
