"""What the client tests compare parses by."""

from aioswitchvox import LineState


def parsed_content(state: LineState) -> str:
    """Return all a parsed state holds, as text (the repr leaves out no field)."""
    return repr(state)
