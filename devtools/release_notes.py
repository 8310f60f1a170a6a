"""Print the CHANGELOG.md section of a release tag, for the notes of its GitHub release.

    python -m devtools.release_notes v0.2.0 > notes.md   (scripts/release-notes, release.yml)

Fails unless the tag is vX.Y.Z, CHANGELOG.md has a non-empty ``## [X.Y.Z] - YYYY-MM-DD``
section and the integration's manifest.json has the same version: a release publishes
what the changelog and the manifest say, or nothing. Standard library only.
"""

import json
from pathlib import Path
import re
import sys

ROOT = Path(__file__).resolve().parent.parent
TAG = re.compile(r"v(?P<version>\d+\.\d+\.\d+)")


class ReleaseError(ValueError):
    """The tag, the changelog and the manifest do not make a release."""


def version_of_tag(tag: str) -> str:
    """Return "1.2.3" of the tag "v1.2.3"."""
    if not (match := TAG.fullmatch(tag)):
        raise ReleaseError(f"{tag!r} is no release tag: expected vX.Y.Z, such as v0.2.0")
    return match["version"]


def changelog_section(changelog: str, version: str) -> str:
    """Return the body of the changelog's section of ``version``, without its heading."""
    heading = re.compile(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}[ \t]*$", re.M)
    if not (match := heading.search(changelog)):
        raise ReleaseError(f"CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' section")
    rest = changelog[match.end() :]
    # The section ends at the next version heading or at the link definitions.
    end = re.search(r"^(## \[|\[[^\]]+\]: )", rest, re.M)
    body = rest[: end.start() if end else len(rest)].strip()
    if not body:
        raise ReleaseError(f"the CHANGELOG.md section of {version} is empty")
    return body + "\n"


def release_notes(tag: str, root: Path = ROOT) -> str:
    """Return the release notes of ``tag``, checked against the manifest's version."""
    version = version_of_tag(tag)
    manifest_path = root / "custom_components" / "switchvox" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("version") != version:
        raise ReleaseError(
            f"manifest.json has version {manifest.get('version')!r}, the tag says {version}"
        )
    return changelog_section((root / "CHANGELOG.md").read_text(encoding="utf-8"), version)


def main(argv: list[str]) -> int:
    """Print the notes of the tag in ``argv``; say why on stderr and return 1 if there are none."""
    if len(argv) != 1:
        sys.stderr.write("usage: release_notes vX.Y.Z\n")
        return 2
    try:
        sys.stdout.write(release_notes(argv[0]))
    except ReleaseError as err:
        sys.stderr.write(f"release_notes: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
