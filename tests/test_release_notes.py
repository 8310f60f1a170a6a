"""The release notes the release workflow publishes: the changelog section of the tag."""

import json
from pathlib import Path
import subprocess

import pytest

from devtools.release_notes import ROOT, ReleaseError, main, release_notes

CHANGELOG = """\
# Changelog

Intro.

## [Unreleased]

### Added

- Something not released yet.

## [0.2.0] - 2026-12-09

### Added

- The Marketplace install.

### Fixed

- A pasted URL in the host field.

## [0.1.0] - 2026-11-26

The first version.

[Unreleased]: https://github.com/o/r/compare/v0.2.0...HEAD
[0.2.0]: https://github.com/o/r/releases/tag/v0.2.0
[0.1.0]: https://github.com/o/r/releases/tag/v0.1.0
"""


def repository(tmp_path: Path, version: str, changelog: str = CHANGELOG) -> Path:
    """Write a changelog and a manifest of ``version`` into a folder laid out as this one."""
    (tmp_path / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
    package = tmp_path / "custom_components" / "switchvox"
    package.mkdir(parents=True)
    (package / "manifest.json").write_text(json.dumps({"version": version}), encoding="utf-8")
    return tmp_path


def test_notes_are_the_section_of_the_tag(tmp_path: Path) -> None:
    """The notes are the section's body: not its heading, the next section or the links."""
    root = repository(tmp_path, "0.2.0")
    assert release_notes("v0.2.0", root) == (
        "### Added\n\n- The Marketplace install.\n\n"
        "### Fixed\n\n- A pasted URL in the host field.\n"
    )


def test_the_last_section_ends_at_the_links(tmp_path: Path) -> None:
    """The oldest section stops before the link definitions."""
    assert release_notes("v0.1.0", repository(tmp_path, "0.1.0")) == "The first version.\n"


@pytest.mark.parametrize(
    ("tag", "manifest", "changelog", "message"),
    [
        ("0.2.0", "0.2.0", CHANGELOG, "no release tag"),
        ("v0.2", "0.2.0", CHANGELOG, "no release tag"),
        ("v0.2.0-beta", "0.2.0", CHANGELOG, "no release tag"),
        ("v0.2.0", "0.1.0", CHANGELOG, "manifest.json has version '0.1.0'"),
        ("v0.3.0", "0.3.0", CHANGELOG, "no '## [0.3.0] - YYYY-MM-DD' section"),
        ("v0.2.0", "0.2.0", CHANGELOG.replace("] - 2026-12-09", "]"), "no '## [0.2.0]"),
        (
            "v0.2.0",
            "0.2.0",
            CHANGELOG.replace(
                "### Added\n\n- The Marketplace install.\n\n### Fixed\n\n", ""
            ).replace("- A pasted URL in the host field.\n", ""),
            "is empty",
        ),
    ],
)
def test_no_notes_without_a_release(
    tmp_path: Path, tag: str, manifest: str, changelog: str, message: str
) -> None:
    """A tag the changelog or the manifest does not agree with publishes nothing."""
    root = repository(tmp_path, manifest, changelog)
    with pytest.raises(ReleaseError, match=message.replace("[", r"\[").replace("(", r"\(")):
        release_notes(tag, root)


def test_this_repository_has_notes_for_its_version(capsys: pytest.CaptureFixture[str]) -> None:
    """The manifest's version has a section here, so tagging it would publish its notes."""
    manifest = json.loads(
        (ROOT / "custom_components" / "switchvox" / "manifest.json").read_text(encoding="utf-8")
    )
    assert main([f"v{manifest['version']}"]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["v999.0.0"]) == 1
    assert "manifest.json has version" in capsys.readouterr().err
    assert main([]) == 2


def test_the_script_the_workflow_calls() -> None:
    """scripts/release-notes prints the notes, and release.yml calls it with the tag."""
    version = json.loads(
        (ROOT / "custom_components" / "switchvox" / "manifest.json").read_text(encoding="utf-8")
    )["version"]
    result = subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / "scripts" / "release-notes"), f"v{version}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == release_notes(f"v{version}")
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert "./scripts/release-notes" in workflow
    assert "--notes-file" in workflow
