"""The development dashboard: a card per watched extension, and a card to place calls."""

from dataclasses import dataclass
from typing import Any

NUMBER_ENTITY = "input_text.switchvox_number"
DIAL_SCRIPT = "script.switchvox_dial_number"
MISSED_CALLS_TITLE = "Missed calls"


@dataclass(frozen=True)
class LineEntities:
    """The entities of one watched extension."""

    extension: str
    line: str
    call: str


def card_title(extension: str, names: dict[str, str]) -> str:
    """Return the title of an extension's card (the e2e test finds cards by it)."""
    name = names.get(extension)
    return f"{extension} · {name}" if name else f"Extension {extension}"


def _while_busy(line: LineEntities, row: dict[str, Any]) -> dict[str, Any]:
    """Show ``row`` only while the line is not idle (an idle line has no caller)."""
    return {
        "type": "conditional",
        "conditions": [{"entity": line.line, "state_not": "idle"}],
        "row": row,
    }


def extension_card(
    line: LineEntities, names: dict[str, str], *, can_call: bool = True
) -> dict[str, Any]:
    """Return the card of one extension: status, caller, last call event, a call button."""
    rows: list[dict[str, Any]] = [
        {"entity": line.line, "name": "Line"},
        _while_busy(
            line,
            {
                "type": "attribute",
                "entity": line.line,
                "attribute": "caller_name",
                "name": "Caller",
                "icon": "mdi:account-voice",
            },
        ),
        _while_busy(
            line,
            {
                "type": "attribute",
                "entity": line.line,
                "attribute": "caller_number",
                "name": "Number",
                "icon": "mdi:card-account-phone",
            },
        ),
        {"entity": line.call, "name": "Last call event", "format": "relative"},
    ]
    if can_call:
        rows.append(
            {
                "type": "button",
                "name": f"Call extension {line.extension}",
                "icon": "mdi:phone-dial",
                "action_name": "Call",
                "tap_action": {
                    "action": "perform-action",
                    "perform_action": "switchvox.dial",
                    "data": {"extension": line.extension},
                },
            }
        )
    return {
        "type": "entities",
        "title": card_title(line.extension, names),
        "state_color": True,
        "show_header_toggle": False,
        "entities": rows,
    }


def dial_card(connection: str | None, login_extension: str) -> dict[str, Any]:
    """Return the card that calls any number from the login extension."""
    rows: list[dict[str, Any]] = []
    if connection:
        rows.append({"entity": connection, "name": "Realtime connection"})
    rows += [
        {"entity": NUMBER_ENTITY, "name": "Number to call"},
        {"entity": DIAL_SCRIPT, "name": "Call the number", "action_name": "Call"},
    ]
    return {
        "type": "entities",
        "title": f"Place a call from {login_extension}",
        "state_color": True,
        "show_header_toggle": False,
        "entities": rows,
    }


def missed_calls_card(missed_calls: str) -> dict[str, Any]:
    """Return the to-do card of the missed calls (the e2e test finds it by its title)."""
    return {"type": "todo-list", "entity": missed_calls, "title": MISSED_CALLS_TITLE}


def build_dashboard(
    lines: list[LineEntities],
    connection: str | None,
    *,
    names: dict[str, str],
    login_extension: str,
    missed_calls: str | None = None,
) -> dict[str, Any]:
    """Return the Lovelace configuration of the development dashboard."""
    cards = [
        extension_card(line, names, can_call=line.extension != login_extension) for line in lines
    ]
    cards.append(dial_card(connection, login_extension))
    if missed_calls:
        cards.append(missed_calls_card(missed_calls))
    return {
        "title": "Switchvox",
        "views": [{"title": "Phones", "path": "phones", "icon": "mdi:phone", "cards": cards}],
    }
