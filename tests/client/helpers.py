"""What the client tests compare parses by."""

from __future__ import annotations

from custom_components.switchvox.rtapi import LineState


def parsed_content(state: LineState) -> str:
    """Return all a parsed state holds, the raw payloads of its models included, as text."""
    models = (state.account, state.endpoint, *state.remotes, state.queue)
    return repr((state, [None if model is None else dict(model.raw) for model in models]))
