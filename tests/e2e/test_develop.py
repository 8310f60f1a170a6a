"""``scripts/develop`` itself: the first run provisions, the second reuses, both stop cleanly."""

from pathlib import Path
import subprocess
import sys

import pytest

from devtools.instance import ROOT, free_port

pytestmark = pytest.mark.e2e


def develop(config: Path, ha_port: int, sim_port: int) -> str:
    """Run the develop command until it is provisioned, then let it stop; return its output."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "devtools.develop",
            "--config",
            str(config),
            "--port",
            str(ha_port),
            "--sim-port",
            str(sim_port),
            "--watch",
            "101-103",
            "--no-demo",
            "--exit-after-provision",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_first_run_provisions_and_second_run_reuses(tmp_path: Path) -> None:
    """The first run creates everything through the APIs; the second one creates nothing."""
    config = tmp_path / "config"
    ha_port, sim_port = free_port(), free_port()
    first = develop(config, ha_port, sim_port)
    assert "onboarding: creating the owner 'dev'" in first
    assert "config flow: switchvox" in first
    assert "options flow: watching 101, 102, 103" in first
    assert "dashboard: installing" in first
    assert f"http://127.0.0.1:{ha_port}/switchvox-phones/phones" in first
    assert "user 'dev', password 'switchvox-dev'" in first
    assert (config / "custom_components" / "switchvox").resolve() == (
        ROOT / "custom_components" / "switchvox"
    )

    second = develop(config, ha_port, sim_port)
    assert "reusing the instance" in second
    for step in ("onboarding:", "config flow:", "options flow:", "dashboard:"):
        assert step not in second
    assert "watching    101, 102, 103" in second
    for output in (first, second):
        assert "killing it" not in output  # both children stopped on their own
