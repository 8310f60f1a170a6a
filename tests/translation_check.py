"""Every text a user sees is translated and filled in, checked as Home Assistant's own tests do.

The same checks as core's ``tests/components/conftest.py`` ``check_translations`` fixture (the
custom-component harness does not ship it): each form, error and abort of a config or options
flow, each repair issue and each translated action error must have an English text, and every
``{placeholder}`` in it a value. An unfilled placeholder is what a user would see verbatim.
"""

import asyncio
from collections.abc import AsyncGenerator, Coroutine, Mapping
import string
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntriesFlowManager, OptionsFlowManager
from homeassistant.core import Context, HomeAssistant, ServiceRegistry, ServiceResponse
from homeassistant.data_entry_flow import FlowHandler, FlowManager, FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
import pytest

from custom_components.switchvox.const import DOMAIN


class TranslationErrors:
    """What the checks found, reported when the test ends."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    async def check(
        self,
        hass: HomeAssistant,
        category: str,
        key: str,
        placeholders: Mapping[str, str] | None,
        *,
        required: bool = True,
    ) -> None:
        """Note a missing English text, or a placeholder in it without a value."""
        full_key = f"component.{DOMAIN}.{category}.{key}"
        translations = await async_get_translations(hass, "en", category, [DOMAIN])
        if (text := translations.get(full_key)) is None:
            if required:
                self.found[full_key] = f"No English text for {category}.{key}"
            return
        for _, name, _, _ in string.Formatter().parse(text):
            if name is not None and (placeholders is None or name not in placeholders):
                self.found[full_key] = f"No value for the placeholder {{{name}}} in {full_key}"


async def _check_flow_result(
    manager: FlowManager[Any, Any, Any],
    flow: FlowHandler[Any, Any, Any],
    result: Mapping[str, Any],
    errors: TranslationErrors,
) -> None:
    """Check the texts of a config or options flow's form or abort."""
    hass = flow.hass
    if isinstance(manager, ConfigEntriesFlowManager):
        category, domain = "config", flow.handler
    elif isinstance(manager, OptionsFlowManager):
        entry = hass.config_entries.async_get_entry(flow.handler)
        category, domain = "options", entry.domain if entry else None
    else:
        return
    if domain != DOMAIN:
        return
    placeholders = result.get("description_placeholders")
    if result["type"] is FlowResultType.FORM:
        for header in ("title", "description"):
            await errors.check(
                hass, category, f"step.{result['step_id']}.{header}", placeholders, required=False
            )
        for error in (result.get("errors") or {}).values():
            await errors.check(hass, category, f"error.{error}", placeholders)
    elif result["type"] is FlowResultType.ABORT:
        await errors.check(hass, category, f"abort.{result['reason']}", placeholders)


@pytest.fixture(autouse=True)
async def check_translations() -> AsyncGenerator[None]:
    """Fail a test that showed a user an untranslated or unfilled text of this integration."""
    errors = TranslationErrors()
    pending: set[Coroutine[Any, Any, None]] = set()
    handle_step = FlowManager._async_handle_step
    get_or_create = ir.IssueRegistry.async_get_or_create
    call_service = ServiceRegistry.async_call

    async def checked_handle_step(
        self: FlowManager[Any, Any, Any], flow: FlowHandler[Any, Any, Any], *args: Any
    ) -> Any:
        result = await handle_step(self, flow, *args)
        await _check_flow_result(self, flow, result, errors)
        return result

    def checked_get_or_create(
        self: ir.IssueRegistry, domain: str, issue_id: str, *args: Any, **kwargs: Any
    ) -> ir.IssueEntry:
        issue = get_or_create(self, domain, issue_id, *args, **kwargs)
        if domain == DOMAIN and issue.translation_key is not None:
            for part in ("title", "description"):
                pending.add(
                    errors.check(
                        self.hass,
                        "issues",
                        f"{issue.translation_key}.{part}",
                        issue.translation_placeholders,
                    )
                )
        return issue

    async def checked_call(
        self: ServiceRegistry,
        domain: str,
        service: str,
        service_data: dict[str, Any] | None = None,
        blocking: bool = False,
        context: Context | None = None,
        target: dict[str, Any] | None = None,
        return_response: bool = False,
    ) -> ServiceResponse:
        try:
            return await call_service(
                self, domain, service, service_data, blocking, context, target, return_response
            )
        except HomeAssistantError as err:
            if err.translation_domain == DOMAIN and err.translation_key is not None:
                pending.add(
                    errors.check(
                        self._hass,
                        "exceptions",
                        f"{err.translation_key}.message",
                        err.translation_placeholders,
                    )
                )
            raise

    with (
        patch.object(FlowManager, "_async_handle_step", checked_handle_step),
        patch.object(ir.IssueRegistry, "async_get_or_create", checked_get_or_create),
        patch.object(ServiceRegistry, "async_call", checked_call),
    ):
        yield
    await asyncio.gather(*pending)
    if errors.found:
        pytest.fail("\n".join(errors.found.values()))
