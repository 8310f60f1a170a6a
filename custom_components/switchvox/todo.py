"""The "Missed calls" to-do list of the PBX device: the callers to call back."""

from typing import Final, override

from homeassistant.components.todo import (
    TodoItem,
    TodoItemStatus,
    TodoListEntity,
    TodoListEntityFeature,
)
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import translation
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .coordinator import SwitchvoxConfigEntry
from .entity import pbx_device_info
from .missed_calls import MissedCall, MissedCalls
from .rtapi import caller_id_name

PARALLEL_UPDATES = 1

MISSED_CALLS_DESCRIPTION = EntityDescription(key="missed_calls", translation_key="missed_calls")

# The texts of the items, in the language of Home Assistant (strings.json "exceptions").
TEXT_KEYS: Final = (
    "missed_call_summary",
    "missed_call_unknown_caller",
    "missed_call_unknown_number",
    "missed_call_description",
    "missed_calls_description",
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwitchvoxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the to-do list of the missed calls the coordinator keeps from lines and dials."""
    strings = await translation.async_get_translations(
        hass, hass.config.language, "exceptions", {DOMAIN}
    )
    texts = {
        key: strings.get(f"component.{DOMAIN}.exceptions.{key}.message", key) for key in TEXT_KEYS
    }
    async_add_entities([SwitchvoxMissedCallsList(entry, entry.runtime_data.missed_calls, texts)])


class SwitchvoxMissedCallsList(TodoListEntity):
    """The callers whose calls nobody answered, until they are called back or checked off.

    It reads stored items, not the PBX: it stays available while the PBX is unreachable.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_supported_features = (
        TodoListEntityFeature.UPDATE_TODO_ITEM | TodoListEntityFeature.DELETE_TODO_ITEM
    )

    def __init__(
        self, entry: SwitchvoxConfigEntry, calls: MissedCalls, texts: dict[str, str]
    ) -> None:
        self.entity_description = MISSED_CALLS_DESCRIPTION
        self._attr_unique_id = f"{entry.entry_id}_{MISSED_CALLS_DESCRIPTION.key}"
        self._attr_device_info = pbx_device_info(entry)
        self._calls = calls
        self._texts = texts
        self._attr_todo_items = self._items()

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the missed calls."""
        await super().async_added_to_hass()
        self.async_on_remove(self._calls.async_add_listener(self._handle_change))

    @callback
    def async_entity_id_changed(self, old_entity_id: str) -> None:
        """Keep the list as it is when the user renames its entity id.

        Home Assistant 2026.11 calls this on a rename, and without it removes and adds the
        entity again; earlier releases always do that. The missed calls listener is not keyed
        on the entity id, so there is nothing to move.
        """

    @callback
    def _handle_change(self, context: Context | None) -> None:
        """Write the new items, under the context of the line change that caused them."""
        if context is not None:
            self.async_set_context(context)
        self._attr_todo_items = self._items()
        self.async_write_ha_state()

    def _items(self) -> list[TodoItem]:
        """Return the to-do items of the missed calls, newest first."""
        return [self._item(call) for call in self._calls.items]

    def _item(self, call: MissedCall) -> TodoItem:
        """Return the to-do item of one missed call."""
        texts = self._texts
        # Items stored before a placeholder was known as one show the number too.
        caller = caller_id_name(call.name) or call.number
        summary = call.summary or (
            texts["missed_call_summary"].format(caller=caller)
            if caller
            else texts["missed_call_unknown_caller"]
        )
        placeholders = {
            "number": call.number or texts["missed_call_unknown_number"],
            "extensions": ", ".join(call.extensions),
            "time": dt_util.as_local(call.last_missed).strftime("%Y-%m-%d %H:%M"),
            "count": str(call.count),
        }
        key = "missed_call_description" if call.count == 1 else "missed_calls_description"
        return TodoItem(
            summary=summary,
            uid=call.uid,
            status=TodoItemStatus.NEEDS_ACTION if call.is_open else TodoItemStatus.COMPLETED,
            description=texts[key].format(**placeholders),
            completed=call.completed,
        )

    @override
    async def async_create_todo_item(self, item: TodoItem) -> None:
        """Refuse: the list holds the PBX's missed calls only (Assist may still ask)."""
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="missed_calls_read_only"
        )

    @override
    async def async_update_todo_item(self, item: TodoItem) -> None:
        """Check an item off or reopen it; a new summary renames it."""
        current = next((call for call in self._calls.items if call.uid == item.uid), None)
        if current is None or item.uid is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="missed_call_not_found",
                translation_placeholders={"uid": str(item.uid)},
            )
        renamed = item.summary if item.summary != self._item(current).summary else None
        done = None if item.status is None else item.status == TodoItemStatus.COMPLETED
        self._calls.async_update(current, done=done, summary=renamed)

    @override
    async def async_delete_todo_items(self, uids: list[str]) -> None:
        """Delete items."""
        self._calls.async_delete(uids)
