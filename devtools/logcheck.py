"""What a Home Assistant log may not contain after the end-to-end run."""

import re

# Home Assistant's own reports of deprecated use by a custom integration.
DEPRECATION_MARKERS = ("will stop working", "Detected that custom integration")
OUR_LOGGER = "custom_components.switchvox"
# "2026-12-02 13:10:01.123 WARNING (MainThread) [custom_components.switchvox.coordinator] ..."
_RECORD = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) \([^)]*\) \[(?P<logger>[^\]]+)\] ")
_LOUD = frozenset({"WARNING", "ERROR", "CRITICAL"})


def log_findings(text: str) -> list[str]:
    """Return the log lines that fail the run.

    Any deprecation report (whoever logs it), and any warning or error of the integration's
    own loggers; a traceback's lines belong to the record above them and are not repeated.
    """
    found = []
    for line in text.splitlines():
        if any(marker in line for marker in DEPRECATION_MARKERS):
            found.append(line)
        elif (record := _RECORD.match(line)) and record["level"] in _LOUD:
            logger = record["logger"]
            if logger == OUR_LOGGER or logger.startswith(f"{OUR_LOGGER}."):
                found.append(line)
    return found
