"""Triggers the automation editor lists: a phone starts ringing, a call is answered, ends, ...

A call is missed or placed, on the watched extensions of a target (areas, floors, labels,
devices, entities). Each fires once per call (``calls.CallGroups``: a ring group ringing five
targeted phones is one call) and hands the automation who called, which extension, which way,
the call's id and the config entry, as ``trigger.*`` variables.
"""

from collections.abc import Callable
from typing import Any, Final, cast, override

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_OPTIONS, CONF_TARGET
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.target import TargetEntityChangeTracker, TargetSelection
from homeassistant.helpers.trigger import (
    Trigger,
    TriggerActionRunner,
    TriggerConfig,
    TriggerNotTriggeredReporter,
)
from homeassistant.helpers.typing import ConfigType
import voluptuous as vol

from .calls import Call
from .const import DIRECTION_OPTIONS, DOMAIN, EVENT_SWITCHVOX
from .missed_calls import normalize_number
from .rtapi import CallEvent, Direction

CONF_CALLER: Final = "caller"
CONF_DIRECTION: Final = "direction"
CONF_EXTERNAL_ONLY: Final = "external_only"

DIRECTION_ANY: Final = "any"
# The trigger's words for the PBX's directions (``direction`` of the switchvox_event).
DIRECTIONS: Final = {
    DIRECTION_OPTIONS[Direction.FROM_PBX]: "incoming",
    DIRECTION_OPTIONS[Direction.TO_PBX]: "outgoing",
}
# A number this long (digits, after removing separators) or with a leading '+' is outside the
# PBX: Switchvox extensions are shorter.
EXTERNAL_MIN_DIGITS: Final = 7
# Calls a trigger remembers having fired for (once per call).
MAX_REMEMBERED: Final = 256

_OPTIONS = {
    vol.Optional(CONF_CALLER): vol.All(cv.string, vol.Length(max=64)),
    vol.Optional(CONF_EXTERNAL_ONLY, default=False): cv.boolean,
}
TRIGGER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_TARGET): cv.TARGET_FIELDS,
        vol.Optional(CONF_OPTIONS, default={}): _OPTIONS,
    }
)
DIRECTIONAL_TRIGGER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_TARGET): cv.TARGET_FIELDS,
        vol.Optional(CONF_OPTIONS, default={}): {
            **_OPTIONS,
            vol.Optional(CONF_DIRECTION, default=DIRECTION_ANY): vol.In(
                [DIRECTION_ANY, *DIRECTIONS.values()]
            ),
        },
    }
)


def is_external(number: str | None) -> bool:
    """Return whether ``number`` is outside the PBX (long, or international with '+')."""
    normalized = normalize_number(number)
    if normalized is None:
        return False
    return normalized.startswith("+") or len(normalized) >= EXTERNAL_MIN_DIGITS


class _TargetedLines(TargetEntityChangeTracker):
    """Keeps the extension devices of a target up to date as registries change."""

    def __init__(
        self,
        hass: HomeAssistant,
        selection: TargetSelection,
        on_change: Callable[[dict[str, str]], None],
    ) -> None:
        self._registry = er.async_get(hass)
        super().__init__(hass, selection, self._switchvox_entities)
        self._on_change = on_change

    def _switchvox_entities(self, entities: set[str]) -> set[str]:
        """Keep this integration's entities of a device."""
        return {
            entity_id
            for entity_id in entities
            if (entry := self._registry.async_get(entity_id)) is not None
            and entry.platform == DOMAIN
            and entry.device_id is not None
        }

    @override
    @callback
    def _handle_entities_update(self, tracked_entities: set[str]) -> None:
        """Hand over the devices of the targeted entities, with one entity of each."""
        lines: dict[str, str] = {}
        for entity_id in sorted(tracked_entities):
            entry = self._registry.async_get(entity_id)
            # The line sensor names the line best; any entity of the device will do.
            if (
                entry is not None
                and entry.device_id is not None
                and (entry.domain == "sensor" or entry.device_id not in lines)
            ):
                lines[entry.device_id] = entity_id
        self._on_change(lines)


class SwitchvoxCallTrigger(Trigger):
    """Fires once per call when a targeted line sees one of ``_events``."""

    _events: frozenset[CallEvent]
    _schema: vol.Schema = TRIGGER_SCHEMA

    @classmethod
    @override
    async def async_validate_config(cls, hass: HomeAssistant, config: ConfigType) -> ConfigType:
        """Validate the target and the options."""
        return cast(ConfigType, cls._schema(config))

    def __init__(self, hass: HomeAssistant, config: TriggerConfig) -> None:
        super().__init__(hass, config)
        options = config.options or {}
        self._selection = TargetSelection(config.target or {})
        # No target at all: every watched phone (a blueprint's "leave empty for all").
        self._everywhere = not self._selection.has_any_target
        caller: str | None = options.get(CONF_CALLER)
        self._caller = caller.casefold() if caller else None
        self._caller_number = normalize_number(caller)
        self._external_only: bool = options.get(CONF_EXTERNAL_ONLY, False)
        self._direction: str = options.get(CONF_DIRECTION, DIRECTION_ANY)
        # Extension devices of the target, with the entity that stands for each line.
        self._lines: dict[str, str] = {}
        self._registry = er.async_get(hass)
        # The calls fired for (as a bounded ordered set).
        self._fired: dict[str, None] = {}

    @override
    async def async_attach_runner(
        self,
        run_action: TriggerActionRunner,
        did_not_trigger: TriggerNotTriggeredReporter | None = None,
    ) -> CALLBACK_TYPE:
        """Follow the target's lines and fire on their switchvox_events."""

        @callback
        def set_lines(lines: dict[str, str]) -> None:
            self._lines = lines

        remove_tracker = await _TargetedLines(self._hass, self._selection, set_lines).async_setup()

        @callback
        def handle(event: Event[dict[str, Any]]) -> None:
            data = event.data
            if (call := self._call(data)) is None or not self._should_fire(data, call):
                return
            if not self._matches(data):
                return
            self._fired[call.call_id] = None
            if len(self._fired) > MAX_REMEMBERED:
                del self._fired[next(iter(self._fired))]
            run_action(self._payload(data), self._description(data), event.context)

        remove_listener = self._hass.bus.async_listen(EVENT_SWITCHVOX, handle)

        @callback
        def remove() -> None:
            remove_listener()
            remove_tracker()

        return remove

    def _call(self, data: dict[str, Any]) -> Call | None:
        """Return the call of an event, unless already fired for (or its entry is gone)."""
        call_id: str | None = data.get("call_id")
        if call_id is None or call_id in self._fired:
            return None
        entry = self._hass.config_entries.async_get_entry(data["config_entry_id"])
        if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
            return None
        call: Call | None = entry.runtime_data.calls.get(call_id)
        return call

    def _targets(self, data: dict[str, Any]) -> bool:
        """Return whether the event happened on a targeted line."""
        return self._everywhere or data["device_id"] in self._lines

    def _should_fire(self, data: dict[str, Any], call: Call) -> bool:
        """Return whether the event is this trigger's, on a targeted line."""
        return self._targets(data) and data["call_event"] in self._events

    def _matches(self, data: dict[str, Any]) -> bool:
        """Return whether the call passes the options (who, which way, external)."""
        name: str | None = data.get("caller_name")
        number: str | None = data.get("caller_number")
        if self._external_only and not is_external(number):
            return False
        if self._direction != DIRECTION_ANY and DIRECTIONS.get(data["direction"]) != (
            self._direction
        ):
            return False
        if self._caller is None:
            return True
        if name and self._caller in name.casefold():
            return True
        normalized = normalize_number(number)
        return bool(normalized and self._caller_number and self._caller_number in normalized)

    def _payload(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return the trigger variables an automation reads."""
        return {
            "entity_id": self._lines.get(data["device_id"])
            or self._registry.async_get_entity_id(
                "sensor", DOMAIN, f"{data['config_entry_id']}_{data['extension']}_line_status"
            ),
            "device_id": data["device_id"],
            "config_entry_id": data["config_entry_id"],
            "extension": data["extension"],
            "caller_name": data.get("caller_name"),
            "caller_number": data.get("caller_number"),
            "direction": DIRECTIONS.get(data["direction"]),
            "call_id": data["call_id"],
            "unique_id": data["unique_id"],
            "call_event": data["call_event"],
            "dial_data": data.get("dial_data"),
        }

    def _description(self, data: dict[str, Any]) -> str:
        """Return the trace's one-line description of the firing."""
        return f"Switchvox call {data['call_event']} on extension {data['extension']}"


class RingingTrigger(SwitchvoxCallTrigger):
    """A targeted phone starts ringing (once per call: a ring group fires once)."""

    _events = frozenset({CallEvent.RINGING})


class AnsweredTrigger(SwitchvoxCallTrigger):
    """A call on a targeted line is answered (incoming picked up, or outgoing connected)."""

    _events = frozenset({CallEvent.ANSWERED})
    _schema = DIRECTIONAL_TRIGGER_SCHEMA


class MissedTrigger(SwitchvoxCallTrigger):
    """A targeted phone stopped ringing unanswered, and no watched phone answered the call."""

    _events = frozenset({CallEvent.MISSED})

    @override
    def _should_fire(self, data: dict[str, Any], call: Call) -> bool:
        """Fire unless another phone of the ring group answered the call."""
        return super()._should_fire(data, call) and not call.answered


class PlacedTrigger(SwitchvoxCallTrigger):
    """A targeted phone places a call (it starts dialing)."""

    _events = frozenset({CallEvent.DIALING})

    @override
    def _should_fire(self, data: dict[str, Any], call: Call) -> bool:
        """Fire on dialing, or (options that need the number) once the number shows.

        The phone goes off-hook (dialing) before the PBX knows whom it calls: the number comes
        with the channel's next status (calling).
        """
        return super()._should_fire(data, call) or (
            self._targets(data) and data["call_event"] is None and data["status"] == "calling"
        )


class EndedTrigger(SwitchvoxCallTrigger):
    """A call that reached a targeted line is over: its last channel hung up or stopped ringing."""

    _events = frozenset({CallEvent.HUNG_UP, CallEvent.MISSED})
    _schema = DIRECTIONAL_TRIGGER_SCHEMA

    def __init__(self, hass: HomeAssistant, config: TriggerConfig) -> None:
        super().__init__(hass, config)
        # Calls seen on a targeted line, with that line's device, until they end.
        self._reached: dict[str, str] = {}

    @override
    def _should_fire(self, data: dict[str, Any], call: Call) -> bool:
        """Fire when the last channel of a call that reached the target ends (on any line)."""
        if self._targets(data):
            self._reached.setdefault(call.call_id, data["device_id"])
            if len(self._reached) > MAX_REMEMBERED:
                del self._reached[next(iter(self._reached))]
        if call.call_id not in self._reached or data["call_event"] not in self._events:
            return False
        if not call.is_over:
            return False
        del self._reached[call.call_id]
        return True


TRIGGERS: dict[str, type[Trigger]] = {
    "ringing": RingingTrigger,
    "answered": AnsweredTrigger,
    "ended": EndedTrigger,
    "missed": MissedTrigger,
    "placed": PlacedTrigger,
}


async def async_get_triggers(hass: HomeAssistant) -> dict[str, type[Trigger]]:
    """Return the Switchvox call triggers."""
    return TRIGGERS
