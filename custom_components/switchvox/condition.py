"""Conditions the automation editor lists: a phone line is idle, ringing, on the phone, ...

A line, or any / all lines of a target (areas, floors, labels, devices): idle, ringing, on the
phone, on hold, or busy (anything but idle).
"""

from collections.abc import Mapping
from typing import override

from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.automation import DomainSpec
from homeassistant.helpers.condition import Condition, EntityStateConditionBase

from .const import DOMAIN, LINE_STATUS_OPTIONS
from .rtapi import LineStatus

LINE_STATUS_KEY = "line_status"


class LineStatusCondition(EntityStateConditionBase):
    """The line status sensors of a target are in one of ``_states`` (any or all of them)."""

    _domain_specs: Mapping[str, DomainSpec] = {SENSOR_DOMAIN: DomainSpec()}

    @override
    def entity_filter(self, entities: set[str]) -> set[str]:
        """Keep the line status sensors: an area holds other sensors too."""
        registry = er.async_get(self._hass)
        return {
            entity_id
            for entity_id in entities
            if (entry := registry.async_get(entity_id)) is not None
            and entry.platform == DOMAIN
            and entry.translation_key == LINE_STATUS_KEY
        }


def _line_condition(*statuses: LineStatus) -> type[LineStatusCondition]:
    """Return the condition that a line is in one of ``statuses``."""

    class StatusCondition(LineStatusCondition):
        _states: set[str | bool] = {LINE_STATUS_OPTIONS[status] for status in statuses}  # noqa: RUF012

    return StatusCondition


CONDITIONS: dict[str, type[Condition]] = {
    "is_idle": _line_condition(LineStatus.IDLE),
    "is_ringing": _line_condition(LineStatus.RINGING),
    "is_on_the_phone": _line_condition(LineStatus.ON_THE_PHONE),
    "is_on_hold": _line_condition(LineStatus.ON_HOLD),
    "is_busy": _line_condition(
        *(status for status in LINE_STATUS_OPTIONS if status is not LineStatus.IDLE)
    ),
}


async def async_get_conditions(hass: HomeAssistant) -> dict[str, type[Condition]]:
    """Return the Switchvox line conditions."""
    return CONDITIONS
