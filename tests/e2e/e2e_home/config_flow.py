"""The entry of the end-to-end test's devices, made without asking anything."""

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult


class E2EHomeConfigFlow(ConfigFlow, domain="e2e_home"):
    """Create the one entry."""

    VERSION = 1

    async def async_step_import(
        self, import_data: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Create the entry from configuration.yaml."""
        await self.async_set_unique_id("e2e_home")
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title="E2E home", data={})
