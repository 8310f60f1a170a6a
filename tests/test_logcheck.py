"""The log check of the end-to-end run (devtools.logcheck), on logs written here."""

from devtools.logcheck import log_findings

LOG = """\
2026-12-02 13:10:00.001 WARNING (SyncWorker_0) [homeassistant.loader] We found a custom integration switchvox which has not been tested by Home Assistant.
2026-12-02 13:10:00.002 INFO (MainThread) [custom_components.switchvox.coordinator] Connected to the PBX
2026-12-02 13:10:00.003 ERROR (MainThread) [homeassistant.components.marketplace] Could not reach GitHub
2026-12-02 13:10:00.004 WARNING (MainThread) [custom_components.switchvox_other] not ours
"""  # noqa: E501


def test_a_quiet_log_passes() -> None:
    """Other loggers' warnings and our info lines are allowed."""
    assert log_findings(LOG) == []


def test_our_warnings_and_errors_fail() -> None:
    """A warning or an error of any of the integration's loggers is a finding."""
    warning = (
        "2026-12-02 13:10:01.000 WARNING (MainThread) [custom_components.switchvox] The PBX "
        "dropped the connection"
    )
    error = (
        "2026-12-02 13:10:02.000 ERROR (MainThread) [custom_components.switchvox.rtapi.session] "
        "Unexpected error"
    )
    log = f"{LOG}{warning}\n{error}\nTraceback (most recent call last):\n  ...\n"
    assert log_findings(log) == [warning, error]


def test_deprecation_reports_fail() -> None:
    """A deprecation report fails whoever logs it, at whatever level."""
    frame = (
        "2026-12-02 13:10:03.000 WARNING (MainThread) [homeassistant.helpers.frame] Detected "
        "that custom integration 'switchvox' calls a deprecated function"
    )
    stop = (
        "2026-12-02 13:10:04.000 INFO (MainThread) [homeassistant.core] 'switchvox' uses X, "
        "which will stop working in Home Assistant 2027.6"
    )
    assert log_findings(f"{LOG}{frame}\n{stop}\n") == [frame, stop]
